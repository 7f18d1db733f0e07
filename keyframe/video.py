"""The ffmpeg bridge: frames out of clips, previews out of keyframes, drift of a clip.

Everything runs the ffmpeg binary bundled by imageio-ffmpeg (``get_ffmpeg_exe()``), through
ffmpeg-python, so it works after ``pip install`` alone. ffprobe is not bundled: stream facts
come from parsing ``ffmpeg -i`` (:func:`probe`) and frames are decoded to raw RGB and counted,
so "the last frame" is the true last decoded frame, never the nearest key frame.

* :func:`extract` — one exact frame: ``first``, ``last``, an index ``N`` or ``t=SECONDS``.
* :func:`encode_preview` — a short H.264 yuv420p clip with a gentle push-in (bytes).
* :func:`drift` — first-frame fidelity (SSIM / PSNR against the keyframe), frame-to-frame
  flicker, and a verdict on whether the clip kept what was certified.

A file that is not a video, is truncated or has no frames raises :class:`VideoError` with
one line. Writing the bytes to disk is :func:`keyframe.package.write_atomic`'s job.
"""
from __future__ import annotations

import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import cv2
import ffmpeg
import imageio_ffmpeg
import numpy as np
from skimage.metrics import structural_similarity

from keyframe.fileio import ReadError, open_regular

#: first-frame SSIM (luma, clip size) under which a clip no longer starts from the keyframe
DRIFT_MIN_SSIM = 0.5
#: 95th percentile of frame-to-frame mean-luma change (grey levels) above which a clip flickers
FLICKER_MAX = 6.0


_DAMAGED = re.compile(r"prematurely|truncat|partial file|moov atom not found|"
                      r"Invalid NAL|error while decoding", re.I)


class VideoError(Exception):
    """A clip that cannot be read or written; the message is one line."""


@dataclass(frozen=True)
class VideoInfo:
    """What ``ffmpeg -i`` says about a clip's first video stream."""

    width: int
    height: int
    fps: float
    duration: float
    codec: str
    pix_fmt: str


def ffmpeg_exe() -> str:
    """Path of imageio-ffmpeg's bundled ffmpeg binary."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def _one_line(stderr: bytes, path: str) -> str:
    lines = [l.strip() for l in stderr.decode("utf-8", "replace").splitlines() if l.strip()]
    interesting = [l for l in lines if re.search(r"error|invalid|moov|ended|truncat|partial",
                                                 l, re.I)]
    return f"{path}: {(interesting or lines or ['ffmpeg failed'])[-1]}"


def probe(path: str | os.PathLike) -> VideoInfo:
    """Stream facts of ``path`` from ``ffmpeg -i`` (no ffprobe needed).

    Raises
    ------
    VideoError
        Missing file, not a media file, or no video stream.
    """
    name = os.fspath(path)
    try:
        os.close(open_regular(name))    # a FIFO or device named like a clip: refused, no hang
    except ReadError as exc:
        raise VideoError(str(exc)) from None
    try:
        _, err = (ffmpeg.input(name).output("-", format="null", t=0).global_args("-hide_banner")
                  .run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True))
    except ffmpeg.Error as exc:
        err = exc.stderr or b""
    text = err.decode("utf-8", "replace")
    stream = re.search(r"Stream #\S+.*?: Video: (\w+).*?, (\w+)(?:\(.*?\))?, (\d+)x(\d+)", text)
    if not stream:
        if "Invalid data" in text or "Error opening input" in text:
            raise VideoError(f"{name}: not a video file (ffmpeg cannot read it)")
        raise VideoError(f"{name}: no video stream")
    fps = re.search(r"([\d.]+) fps", text)
    dur = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text)
    duration = (int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3))
                if dur else 0.0)
    return VideoInfo(width=int(stream.group(3)), height=int(stream.group(4)),
                     fps=float(fps.group(1)) if fps else 0.0, duration=duration,
                     codec=stream.group(1), pix_fmt=stream.group(2))


def frames(path: str | os.PathLike, *, start: float | None = None,
           from_end: float | None = None, strict: bool = True) -> Iterator[np.ndarray]:
    """Decode every frame of ``path`` (or from ``start`` s / ``from_end`` s before the end)
    as H x W x 3 uint8 RGB, streaming, in presentation order.

    ``strict`` turns decoder errors (a truncated file) into :class:`VideoError` after the
    frames that decoded.
    """
    name = os.fspath(path)
    info = probe(name)
    w, h = info.width, info.height
    opts: dict[str, Any] = {}
    if start is not None:
        opts["ss"] = start
    if from_end is not None:
        opts["sseof"] = -abs(from_end)
    proc = (ffmpeg.input(name, **opts)
            .output("pipe:", format="rawvideo", pix_fmt="rgb24", fps_mode="passthrough")
            .global_args("-v", "error", "-xerror")
            .run_async(cmd=ffmpeg_exe(), pipe_stdout=True, pipe_stderr=True))
    size = w * h * 3
    try:
        while True:
            buf = proc.stdout.read(size)
            if len(buf) < size:
                break
            yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
    finally:
        proc.stdout.close()
        err = proc.stderr.read()
        proc.stderr.close()
        rc = proc.wait()
    if strict and (rc != 0 or _DAMAGED.search(err.decode("utf-8", "replace"))):
        raise VideoError(_one_line(err, name) + " (the clip is damaged or truncated)")


def extract(path: str | os.PathLike, frame: str = "first") -> np.ndarray:
    """One exact frame of a clip as H x W x 3 uint8 RGB.

    Parameters
    ----------
    path : path-like
        The clip.
    frame : str
        ``"first"``, ``"last"`` (the true last decoded frame), a 0-based index ``"N"``
        (negative counts from the end) or ``"t=SECONDS"`` (the frame shown at that time).

    Raises
    ------
    VideoError
        Unreadable clip, no frames, or a frame past the end.
    """
    name = os.fspath(path)
    spec = str(frame).strip().lower()
    if spec == "first":
        spec = "0"
    if spec == "last":
        spec = "-1"
    m_t = re.fullmatch(r"t=([\d.]+)", spec)
    if not m_t and not re.fullmatch(r"-?\d+", spec):
        raise VideoError(f"--frame {frame!r}: use first, last, N or t=SECONDS")
    if m_t:
        info = probe(name)
        t = float(m_t.group(1))
        if info.duration and t > info.duration:
            raise VideoError(f"{name}: t={t} is past the end ({info.duration:.3f} s)")
        index = int(np.floor(t * info.fps + 1e-6)) if info.fps else 0
    else:
        index = int(spec)
    kept: list[np.ndarray] = []
    count = 0
    for rgb in frames(name):
        if index >= 0 and count == index:
            return rgb.copy()
        if index < 0:
            kept.append(rgb)
            kept = kept[index:]
        count += 1
    if count == 0:
        raise VideoError(f"{name}: the clip has no frames")
    if index < 0 and -index <= count:
        return kept[0].copy()
    raise VideoError(f"{name}: frame {frame} is past the end ({count} frames)")


def even_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) rounded down to even numbers (H.264 yuv420p needs them), at least 2."""
    return max(2, width // 2 * 2), max(2, height // 2 * 2)


def push_in_frames(rgb: np.ndarray, *, width: int, height: int, count: int,
                   zoom: float = 1.06) -> Iterator[np.ndarray]:
    """``count`` frames of a centred push-in from 1x to ``zoom``x at ``width`` x ``height``."""
    h, w = rgb.shape[:2]
    for i in range(count):
        z = 1.0 + (zoom - 1.0) * (i / max(1, count - 1))
        sx, sy = width * z / w, height * z / h
        m = np.array([[sx, 0, width / 2 - sx * w / 2], [0, sy, height / 2 - sy * h / 2]])
        yield cv2.warpAffine(rgb, m, (width, height), flags=cv2.INTER_AREA if z * width < w
                             else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def encode_frames(frame_iter: Iterator[np.ndarray], *, width: int, height: int, fps: float,
                  codec: str = "libx264", crf: int = 18, pix_fmt: str = "yuv420p",
                  container: str = "mp4") -> bytes:
    """Encode RGB frames (all ``width`` x ``height``) with ffmpeg; return the file's bytes."""
    fd, tmp = tempfile.mkstemp(suffix=f".{container}")
    os.close(fd)
    out_opts: dict[str, Any] = {"vcodec": codec, "pix_fmt": pix_fmt, "r": fps}
    if codec.startswith("libx264"):
        out_opts.update(crf=crf, preset="medium")
    if container == "mp4":
        out_opts["movflags"] = "+faststart"
    try:
        proc = (ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24",
                             s=f"{width}x{height}", r=fps)
                .output(tmp, **out_opts).global_args("-v", "error").overwrite_output()
                .run_async(cmd=ffmpeg_exe(), pipe_stdin=True, pipe_stderr=True))
        for f in frame_iter:
            proc.stdin.write(np.ascontiguousarray(f, dtype=np.uint8).tobytes())
        proc.stdin.close()
        err = proc.stderr.read()
        if proc.wait() != 0:
            raise VideoError(_one_line(err, "encode"))
        return Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)


def encode_preview(rgb: np.ndarray, *, width: int | None = None, height: int | None = None,
                   seconds: float = 2.0, fps: float = 24.0, zoom: float = 1.06) -> bytes:
    """An H.264 yuv420p MP4 of ``rgb``: a gentle centred push-in (1 → ``zoom``) lasting
    ``seconds``, at ``width`` x ``height`` (default the image's size) rounded to even sides.

    Why: a keyframe that survives 4:2:0 chroma and H.264 at the target size is one a video
    model can start from; banding or moiré that the encoder brings out shows here first.
    """
    h, w = rgb.shape[:2]
    W, H = even_size(width or w, height or h)
    count = max(1, int(round(seconds * fps)))
    return encode_frames(push_in_frames(rgb, width=W, height=H, count=count, zoom=zoom),
                         width=W, height=H, fps=fps)


@dataclass
class DriftResult:
    """What :func:`drift` measured, and its verdict (``kept``, ``drifted`` or ``flicker``)."""

    verdict: str
    reason: str
    frames: int
    first_ssim: float
    first_psnr: float
    flicker_p95: float
    flicker_max: float
    faces: dict[str, Any] | None = None
    skipped: list[str] = field(default_factory=list)
    #: what the first frame was compared with: "keyframe.png" or an export's file
    reference: str = "keyframe.png"

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reason": self.reason, "frames": self.frames,
                "reference": self.reference,
                "first_ssim": round(self.first_ssim, 4),
                "first_psnr": round(self.first_psnr, 2),
                "flicker_p95": round(self.flicker_p95, 3),
                "flicker_max": round(self.flicker_max, 3), "faces": self.faces,
                "skipped": list(self.skipped)}


def fit_to(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """``rgb`` centre-cropped to ``width:height`` and resized (area) to that size."""
    h, w = rgb.shape[:2]
    a = width / height
    if w / h > a:
        cw = max(1, round(h * a))
        rgb = rgb[:, (w - cw) // 2:(w - cw) // 2 + cw]
    else:
        ch = max(1, round(w / a))
        rgb = rgb[(h - ch) // 2:(h - ch) // 2 + ch]
    return cv2.resize(np.ascontiguousarray(rgb), (width, height), interpolation=cv2.INTER_AREA)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 arrays (inf when identical, capped at 99)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else min(99.0, 10 * np.log10(255.0 ** 2 / mse))


def nearest_reference(references: Sequence[tuple[str, np.ndarray]], width: int, height: int
                      ) -> tuple[str, np.ndarray]:
    """Of ``(name, pixels)`` references (a package's keyframe and its exports), the one a
    ``width`` x ``height`` clip was most likely made from: the nearest aspect, then the
    nearest size (a 16:9 clip is compared with the 16:9 export, reframed or extended as the
    video model received it, not with a 1:1 master cropped blindly)."""
    def key(ref: tuple[str, np.ndarray]) -> tuple[float, float]:
        h, w = ref[1].shape[:2]
        return (round(abs(math.log((w / h) / (width / height))), 3),
                abs(math.log((w * h) / (width * height))))
    return min(references, key=key)


def drift(path: str | os.PathLike, keyframe: np.ndarray, *,
          exports: Sequence[tuple[str, np.ndarray]] = ()) -> DriftResult:
    """Did the clip at ``path`` start from ``keyframe`` (or one of its ``exports``) and stay
    steady?

    * first-frame fidelity: SSIM (luma) and PSNR between the clip's first frame and the
      reference nearest the clip in aspect and size (:func:`nearest_reference` over the
      keyframe and the ``(name, pixels)`` exports), centre-cropped to the clip's aspect and
      resized to its size;
    * flicker: the frame-to-frame change of mean luma (grey levels), 95th percentile and max:
      a video model's exposure pumping shows there while camera motion barely moves it;
    * faces appearing or vanishing need a face model; with none installed that part is
      listed in ``skipped``.

    Verdict: ``drifted`` when the first frame's SSIM is under :data:`DRIFT_MIN_SSIM`,
    ``flicker`` when the 95th percentile is over :data:`FLICKER_MAX`, else ``kept``.
    """
    first: np.ndarray | None = None
    means: list[float] = []
    count = 0
    for rgb in frames(path):
        if first is None:
            first = rgb.copy()
        means.append(float(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).mean()))
        count += 1
    if first is None:
        raise VideoError(f"{os.fspath(path)}: the clip has no frames")
    h, w = first.shape[:2]
    against, chosen = nearest_reference([("keyframe.png", keyframe), *exports], w, h)
    ref = fit_to(chosen, w, h)
    g1 = cv2.cvtColor(first, cv2.COLOR_RGB2GRAY)
    g0 = cv2.cvtColor(ref, cv2.COLOR_RGB2GRAY)
    win = min(7, (min(h, w) // 2) * 2 - 1) if min(h, w) < 7 else 7
    ssim = float(structural_similarity(g0, g1, data_range=255, win_size=win))
    p = psnr(ref, first)
    steps = np.abs(np.diff(means)) if len(means) > 1 else np.zeros(1)
    p95, mx = float(np.percentile(steps, 95)), float(steps.max())
    skipped = ["faces: no face model is available in this build; appearing/vanishing faces "
               "were not checked"]
    if ssim < DRIFT_MIN_SSIM:
        verdict, reason = "drifted", (f"first frame does not match the keyframe "
                                      f"(SSIM {ssim:.2f} < {DRIFT_MIN_SSIM}, PSNR {p:.1f} dB)")
    elif p95 > FLICKER_MAX:
        verdict, reason = "flicker", (f"mean brightness jumps {p95:.1f} grey levels between "
                                      f"frames (95th percentile > {FLICKER_MAX})")
    else:
        verdict, reason = "kept", (f"first frame matches the keyframe (SSIM {ssim:.2f}, "
                                   f"PSNR {p:.1f} dB); flicker {p95:.1f} grey levels")
    return DriftResult(verdict=verdict, reason=f"{reason} (against {against})", frames=count,
                       first_ssim=ssim, first_psnr=p, flicker_p95=p95, flicker_max=mx,
                       skipped=skipped, reference=against)
