"""Find and read text: a cheap text-likeness gate, then PP-OCR detection and recognition.

The PP-OCRv4 detector and recogniser are the ONNX models that ``rapidocr-onnxruntime`` 1.x
ships inside its wheel; the engine is created once per process with one thread per session.
Detection runs on a copy whose long side is ``DET_LONG_SIDE`` (512 px: text under ~5 px tall
there is too small to matter in a video's first frame); recognition reads crops of the
canonical 1024-px copy, at most ``MAX_READ`` regions, the most prominent first. Each line is
read twice, from its detected quad and from the quad grown by ``PAD`` of its height on every
side: a recogniser's reading of stylised or small text flips with a pixel of crop (a cap logo
read 'NY' or 'WANY'; a rendered "COFFEE" read 'COFFEET' or 'COFFEEL' after a 1-px shift), and
the text check averages its scores over the readings (``TextRegion.readings``).

The gate: text is made of dense, high-contrast strokes, so at least one 32x32 block of the
512-px luma must have a share of strong gradients (``GATE_EDGE_SHARE``); smooth or softly
textured images skip OCR altogether.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from keyframe import views
from keyframe.image import LoadedImage
from keyframe.registry import CheckSkipped

DET_LONG_SIDE = 512
READ_LONG_SIDE = 1024
MAX_READ = 6
#: the readings' crops: the quad grown by these shares of the line height on every side
PADS = (0.0, 0.15)
#: a gradient stronger than this (Sobel magnitude of 0-255 luma) counts as a stroke edge
GATE_GRADIENT = 80.0
#: share of strong-gradient pixels a 32x32 block needs for text to be possible in it
GATE_EDGE_SHARE = 0.08
INSTALL_HINT = "pip install 'rapidocr-onnxruntime>=1.3,<2'"


@dataclass(frozen=True)
class TextRegion:
    """One detected line of text: bounding box (x, y, w, h) in source px, quad in source px,
    the recognised string and the recogniser's confidence (0 when it was not read), and every
    reading made of it as ``(text, confidence)`` (``text``/``confidence`` are the first)."""

    box: tuple[int, int, int, int]
    quad: np.ndarray
    text: str
    confidence: float
    read: bool
    readings: tuple[tuple[str, float], ...] = ()


def grown(quad: np.ndarray, pad: float) -> np.ndarray:
    """``quad`` (top-left, top-right, bottom-right, bottom-left) grown by ``pad`` x its height
    along both of its own axes."""
    q = np.asarray(quad, np.float32)
    along = q[1] - q[0]
    across = q[3] - q[0]
    height = float(np.linalg.norm(across))
    u = along / max(float(np.linalg.norm(along)), 1e-6) * pad * height
    v = across / max(height, 1e-6) * pad * height
    return np.stack([q[0] - u - v, q[1] + u - v, q[2] + u + v, q[3] - u + v])


def _with_arena(make):
    """RapidOCR's session options (``make``) with ONNX Runtime's CPU memory arena on.

    RapidOCR turns the arena off, so every run allocates and frees each activation buffer:
    with it on, the detector's run on a 512-px picture takes ~0.85x the CPU and the text
    check as a whole 0.73-0.83x (pictures of ../shared/data and the speed benchmark's, every
    measurement equal: the arena changes where buffers live, not what is computed; peak RSS
    ~30 MB more, docs/speed.md)."""
    def options(config):
        opts = make(config)
        opts.enable_cpu_mem_arena = True
        return opts
    return staticmethod(options)


@lru_cache(maxsize=1)
def engine():
    """The RapidOCR engine (det + rec sessions), created once per process, one thread each,
    with ONNX Runtime's memory arena (:func:`_with_arena`)."""
    try:
        from rapidocr_onnxruntime import RapidOCR
        from rapidocr_onnxruntime.utils.infer_engine import OrtInferSession
    except ImportError:
        raise CheckSkipped(f"rapidocr-onnxruntime is not installed: {INSTALL_HINT}") from None
    def build():
        return RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, use_cls=False,
                        text_score=0.0, det_limit_type="min", det_limit_side_len=32)

    hook = OrtInferSession.__dict__.get("_init_sess_opts")
    if not isinstance(hook, staticmethod):
        # another rapidocr-onnxruntime layout (the hook is private): its own options, the
        # same readings without the arena's speed
        return build()
    OrtInferSession._init_sess_opts = _with_arena(hook.__func__)
    try:
        return build()
    finally:
        OrtInferSession._init_sess_opts = hook


@lru_cache(maxsize=4)
def _norm_table(scale: float, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """RapidOCR's detector normalisation of every 8-bit value (256 x 1 x 3, float32), computed
    by its own ``DetPreProcess.normalize`` (float64 arithmetic, then cast to float32)."""
    from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

    pre = DetPreProcess(mean=list(mean), std=list(std))
    pre.scale = scale
    values = np.repeat(np.arange(256, dtype=np.uint8), 3).reshape(256, 1, 3)
    return pre.normalize(values).astype(np.float32)


def detect_lines(det, bgr: np.ndarray):
    """RapidOCR's ``TextDetector.__call__`` (resize, normalise, detector, DB post-process,
    filter) with the normalisation looked up per 8-bit value (:func:`_norm_table`).

    RapidOCR normalises the resized picture in float64 (``(x / 255 - mean) / std``), ~4 ms of
    a 512-px picture's text check; each output element depends on its input byte alone, so a
    256-entry table gives the detector the same tensor bit for bit and the same boxes
    (tests/test_text.py compares both on pictures of ../shared/data). Returns the boxes
    (n x 4 x 2, detector px) or None. A RapidOCR whose detector lacks these steps (the
    layout is not public API) runs its own ``__call__``: the same boxes, without the saving."""
    if not all(hasattr(det, k) for k in ("get_preprocess", "infer", "postprocess_op",
                                         "filter_tag_det_res")):
        return det(bgr)[0]
    pre = det.get_preprocess(max(bgr.shape[:2]))
    small = pre.resize(bgr)
    if small is None:
        return None
    table = _norm_table(float(pre.scale), tuple(map(float, pre.mean)),
                        tuple(map(float, pre.std)))
    x = np.ascontiguousarray(cv2.LUT(small, table).transpose(2, 0, 1))[None]
    shape = bgr.shape[0], bgr.shape[1]
    boxes, _ = det.postprocess_op(det.infer(x)[0], shape)
    return det.filter_tag_det_res(boxes, shape)


def text_possible(image: LoadedImage) -> float:
    """Highest share of strong-gradient pixels over 32x32 blocks of the 512-px luma."""
    g = views.gray_at(image, DET_LONG_SIDE).astype(np.float32)
    mag = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    strong = (mag > GATE_GRADIENT).astype(np.float32)
    share = cv2.blur(strong, (32, 32))
    return float(share.max()) if share.size else 0.0


def find_text(image: LoadedImage) -> list[TextRegion]:
    """Detect text lines and read the most prominent ``MAX_READ`` of them."""
    if text_possible(image) < GATE_EDGE_SHARE:
        return []
    eng = engine()
    det_rgb, f_det = views.rgb_at(image, DET_LONG_SIDE), views.scale_to(image, DET_LONG_SIDE)
    if f_det >= 1.0:   # small inputs are enlarged so that detection sees the same scale
        f_det = DET_LONG_SIDE / max(image.width, image.height)
        det_rgb = cv2.resize(image.rgb, (round(image.width * f_det), round(image.height * f_det)),
                             interpolation=cv2.INTER_CUBIC)
    boxes = detect_lines(eng.text_det, cv2.cvtColor(det_rgb, cv2.COLOR_RGB2BGR))
    if boxes is None or len(boxes) == 0:
        return []
    quads = [np.asarray(b, np.float32) / f_det for b in boxes]   # source px
    order = sorted(range(len(quads)), key=lambda i: -cv2.contourArea(quads[i]))
    read_ids = set(order[:MAX_READ])
    f_read = views.scale_to(image, READ_LONG_SIDE)
    read_rgb = views.rgb_at(image, READ_LONG_SIDE)
    chosen = [i for i in order if i in read_ids]
    rh, rw = read_rgb.shape[:2]
    limit = np.array([rw - 1, rh - 1], np.float32)
    base = [quads[i] * f_read for i in chosen]
    views_ = [np.ascontiguousarray(np.clip(grown(q, pad), 0, limit) if pad else q)
              for pad in PADS for q in base]
    # the crops are cut from the RGB picture and turned to BGR one by one (the same pixels
    # as cutting them from a BGR copy of the whole picture: warping treats each channel
    # alike), so no 1024-px BGR copy is made
    crops = [cv2.cvtColor(c, cv2.COLOR_RGB2BGR)
             for c in eng.get_crop_img_list(np.ascontiguousarray(read_rgb), views_)]
    rec, _ = eng.text_rec(crops)
    n = len(chosen)
    results = {i: tuple((str(rec[k + j * n][0]), float(rec[k + j * n][1]))
                        for j in range(len(PADS)))
               for k, i in enumerate(chosen)}
    out = []
    for i, q in enumerate(quads):
        x, y, w, h = cv2.boundingRect(q)
        x, y = max(0, x), max(0, y)
        w, h = min(w, image.width - x), min(h, image.height - y)
        readings = results.get(i, ())
        text, conf = readings[0] if readings else ("", 0.0)
        out.append(TextRegion(box=(x, y, max(1, w), max(1, h)), quad=q, text=text,
                              confidence=conf, read=i in results, readings=readings))
    return out
