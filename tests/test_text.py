"""Text family: garbled text scores above legible text, watermarks in corners, OCR gate."""
from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

pytest.importorskip("rapidocr_onnxruntime", reason="rapidocr-onnxruntime is not installed")

from checks.text import TextCheck, ocr  # noqa: E402
from checks.text.plausibility import plausibility  # noqa: E402
from keyframe.image import load  # noqa: E402
from keyframe.profiles import load_profile  # noqa: E402
from keyframe.registry import CheckSkipped, fix_classes  # noqa: E402
from keyframe.report import Report  # noqa: E402
from keyframe.router import route  # noqa: E402

from helpers import clean_generations, img, photo  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

CHECK = TextCheck()


def draw(rgb, text, xy, size, fill=(250, 250, 250)):
    im = Image.fromarray(rgb)
    ImageDraw.Draw(im).text(xy, text, font=ImageFont.load_default(size), fill=fill,
                            stroke_width=max(1, size // 12), stroke_fill=(10, 10, 10))
    return np.asarray(im)


def scores(rgb):
    return {m.code: m for m in CHECK.measure(img(rgb))}


def test_plausibility_orders_words_above_pseudo_words():
    assert plausibility("Opening hours daily") == 1.0
    assert plausibility("FIRE") == 1.0
    assert plausibility("FIIRE") < 0.3 and plausibility("XQZRT VLKMNA") < 0.1
    assert plausibility("") == 0.0


def test_legible_word_is_not_a_defect_but_pseudo_text_is():
    base = photo("coffee")
    legible = scores(draw(base, "GARDEN", (150, 200), 64))
    garbled = scores(draw(base, "XQZRTV", (150, 200), 64))
    assert legible["garbled_text"].severity < 0.25
    assert garbled["garbled_text"].severity >= 0.5
    x, y, w, h = garbled["garbled_text"].region
    assert 100 < x < 250 and 150 < y < 280 and w > 100
    assert garbled["garbled_text"].mask is not None and garbled["garbled_text"].mask.any()


def test_garbled_severity_grows_with_size():
    base = photo("astronaut")
    s = [scores(draw(base, "ZQXJVK", (100, 220), size))["garbled_text"].severity
         for size in (40, 80)]
    assert s[0] < s[1]


def test_small_corner_pseudo_text_routes_to_erase_and_erase_removes_it():
    base = photo("chelsea")
    rgb = draw(base, "QZXVKJ", (8, 270), 22)
    m = scores(rgb)
    assert m["stray_text"].severity >= 0.5
    assert m["stray_text"].severity > m["garbled_text"].severity
    report = Report(path="x", measurements=m)
    decision = route(report, load_profile("default"))
    step = next(s for s in decision.plan if s.fix == "erase")
    erase = fix_classes()["erase"]
    out = erase().apply(rgb, erase.validate(step.params))
    assert scores(out)["stray_text"].severity < 0.25


def test_corner_watermark_is_found_and_clean_photo_is_not():
    base = photo("rocket")
    marked = scores(draw(base, "SHUTTERSTOCK", (400, 400), 20, fill=(235, 235, 235)))
    assert marked["watermark"].severity >= 0.5
    assert marked["watermark"].region[0] > 350
    assert scores(base)["watermark"].severity < 0.25


def test_smooth_image_skips_ocr(monkeypatch):
    def boom():
        raise AssertionError("OCR must not run on an image with no text-like structure")
    monkeypatch.setattr(ocr, "engine", boom)
    yy, xx = np.mgrid[0:600, 0:800]
    smooth = np.dstack([xx * 0.3, yy * 0.3, 100 + 0 * xx]).astype(np.uint8)
    assert all(m.severity == 0 for m in CHECK.measure(img(smooth)))


def test_missing_rapidocr_skips_with_install_hint(monkeypatch):
    import builtins
    real = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("rapidocr_onnxruntime"):
            raise ImportError(name)
        return real(name, *a, **k)
    ocr.engine.cache_clear()
    monkeypatch.setattr(builtins, "__import__", fake)
    try:
        with pytest.raises(CheckSkipped, match="pip install"):
            ocr.engine()
    finally:
        monkeypatch.setattr(builtins, "__import__", real)
        ocr.engine.cache_clear()


def test_ocr_sessions_keep_their_memory_arena_and_rapidocr_is_restored():
    """The engine's detector and recogniser run with ONNX Runtime's memory arena (RapidOCR
    turns it off: ~0.85x the detector's CPU with it on), one thread each, and RapidOCR's
    own option maker is left as it was for anyone else creating sessions."""
    from rapidocr_onnxruntime.utils.infer_engine import OrtInferSession
    eng = ocr.engine()
    for session in (eng.text_det.infer.session, eng.text_rec.session.session):
        opts = session.get_session_options()
        assert opts.enable_cpu_mem_arena
        assert opts.intra_op_num_threads == 1
    assert not OrtInferSession._init_sess_opts({}).enable_cpu_mem_arena


def test_detect_lines_equals_rapidocr_detector(shared_data):
    """:func:`ocr.detect_lines` (RapidOCR's detector with its normalisation looked up per
    8-bit value) gives the detector the same tensor bit for bit and the same boxes as
    ``TextDetector.__call__``, on pictures with text, without it and of odd sizes."""
    from keyframe import views

    det = ocr.engine().text_det
    paths = [shared_data / "compvis_sd_assets" / "fire.png",
             *sorted((shared_data / "comfyui_examples").glob("*/*.png"))[:3],
             *sorted((shared_data / "mmpose_testdata").rglob("*.jpg"))[:3]]
    paths = [p for p in paths if p.exists()]
    if not paths:
        pytest.skip("no pictures in shared data")
    found = 0
    for p in paths:
        image = load(p)
        for side in (512, 301):
            bgr = cv2.cvtColor(views.rgb_at(image, side), cv2.COLOR_RGB2BGR)
            pre = det.get_preprocess(max(bgr.shape[:2]))
            table = ocr._norm_table(float(pre.scale), tuple(map(float, pre.mean)),
                                    tuple(map(float, pre.std)))
            x = np.ascontiguousarray(cv2.LUT(pre.resize(bgr), table).transpose(2, 0, 1))[None]
            assert np.array_equal(x.view(np.uint32), pre(bgr).view(np.uint32))
            want, _ = det(bgr)
            got = ocr.detect_lines(det, bgr)
            assert (want is None) == (got is None)
            if want is not None:
                assert np.array_equal(np.asarray(want), np.asarray(got))
                found += len(want)
    assert found > 0                          # some picture had text lines to compare


def test_line_crops_cut_from_rgb_equal_rapidocrs_from_bgr(shared_data):
    """find_text cuts the recogniser's crops from the RGB picture and turns each to BGR: the
    same pixels as RapidOCR's crops of a BGR copy of the whole picture (upright and tall
    quads, inside and across the border)."""
    fire = shared_data / "compvis_sd_assets" / "fire.png"
    if not fire.exists():
        pytest.skip("compvis_sd_assets not in shared data")
    rgb = np.ascontiguousarray(load(fire).rgb)
    quads = [np.array(q, np.float32) for q in (
        [[10, 20], [200, 25], [198, 60], [8, 55]],          # a slanted line
        [[300, 40], [330, 40], [330, 200], [300, 200]],     # tall: RapidOCR rotates it
        [[-5, -5], [120, -5], [120, 30], [-5, 30]])]        # across the border
    eng = ocr.engine()
    want = eng.get_crop_img_list(np.ascontiguousarray(rgb[:, :, ::-1]), quads)
    got = [cv2.cvtColor(c, cv2.COLOR_RGB2BGR) for c in eng.get_crop_img_list(rgb, quads)]
    assert [w.shape for w in want] == [g.shape for g in got]
    assert all(np.array_equal(w, g) for w, g in zip(want, got))


def test_detect_lines_falls_back_to_rapidocrs_own_call():
    """A detector without the steps :func:`ocr.detect_lines` re-composes (another RapidOCR
    layout) is called as a whole: its boxes, unchanged."""
    boxes = np.zeros((1, 4, 2), np.float32)

    class Other:
        def __call__(self, bgr):
            return boxes, 0.01

    assert ocr.detect_lines(Other(), np.zeros((64, 64, 3), np.uint8)) is boxes


def test_fire_grid_tiles_score_above_clean_generations(shared_data):
    root = shared_data / "compvis_sd_assets"
    if not (root / "tile_labels.csv").exists():
        pytest.skip("compvis_sd_assets not in shared data")
    grid = load(root / "fire.png").rgb
    tiles = []
    for row in csv.DictReader((root / "tile_labels.csv").open()):
        x0, y0, x1, y1 = (int(row[k]) for k in ("x0", "y0", "x1", "y1"))
        tiles.append(scores(grid[y0:y1, x0:x1])["garbled_text"].severity)
    clean = [max(m.severity for m in scores(load(p).rgb).values())
             for p in clean_generations(shared_data)]
    assert clean and max(clean) < 0.25            # legible/clean generations not flagged
    assert sum(t >= 0.5 for t in tiles) >= 3      # most garbled tiles are major or worse
    assert np.mean(tiles) > np.mean(clean) + 0.3


def test_legible_caption_near_the_border_is_not_a_watermark():
    """A caption or sign word in a corner reads: not a watermark (issue 14); a stock
    agency's name there still is (test_corner_watermark_is_found_and_clean_photo_is_not)."""
    base = photo("rocket")
    rgb = draw(base, "GARDEN", (380, 400), 24, fill=(235, 235, 235))
    assert any(r.text == "GARDEN" for r in ocr.find_text(img(rgb)))     # it is read
    caption = scores(rgb)
    for code in ("watermark", "garbled_text", "stray_text"):
        assert caption[code].severity < 0.25, caption[code].message


def test_other_scripts_are_not_judged_by_the_english_lexicon():
    from checks.text.plausibility import other_script

    for text in ("Москва", "公园", "Αθήνα", "مرحبا", "STO Ayme HaaA", "CIPHIKH-"):
        assert other_script(text), text
    for text in ("Welcome to the future!", "GARDEN", "FIIRE", "ZQXJVK", "XQZRTV", "HOTAM"):
        assert not other_script(text), text


# ------------------------------------------------- issue 14: layouts, names, stability

def _font(size):
    return ImageFont.load_default(size)


def bubble(base, lines, xy, size):
    """A comic speech bubble: a white ellipse with an outline, black lines inside."""
    im = Image.fromarray(base)
    d = ImageDraw.Draw(im)
    w = max(d.textlength(t, font=_font(size)) for t in lines)
    h = len(lines) * size * 1.25
    x, y = xy
    d.ellipse((x - 0.35 * w, y - 0.5 * h, x + 1.35 * w, y + 1.5 * h), fill=(255, 255, 255),
              outline=(0, 0, 0), width=3)
    for i, t in enumerate(lines):
        d.text((x, y + i * size * 1.25), t, font=_font(size), fill=(0, 0, 0))
    return np.asarray(im)


def sign(base, lines, xy, size, bg=(20, 110, 50)):
    """A street sign: a coloured plate with a light rim and light letters."""
    im = Image.fromarray(base)
    d = ImageDraw.Draw(im)
    w = max(d.textlength(t, font=_font(size)) for t in lines)
    x, y = xy
    d.rectangle((x - size * 0.4, y - size * 0.3, x + w + size * 0.4, y + len(lines) * size * 1.3),
                fill=bg, outline=(240, 240, 240), width=2)
    for i, t in enumerate(lines):
        d.text((x, y + i * size * 1.3), t, font=_font(size), fill=(245, 245, 245))
    return np.asarray(im)


def banner(base, text, size, where):
    """A caption along the bottom or a title across the top, light letters, dark outline."""
    im = Image.fromarray(base)
    d = ImageDraw.Draw(im)
    w = d.textlength(text, font=_font(size))
    y = base.shape[0] - size * 1.6 if where == "bottom" else size * 0.5
    d.text(((base.shape[1] - w) / 2, y), text, font=_font(size), fill=(250, 250, 250),
           stroke_width=max(1, size // 12), stroke_fill=(10, 10, 10))
    return np.asarray(im)


LAYOUTS = {
    "bubble near a corner": lambda: bubble(photo("astronaut"), ["Welcome to", "the future!"],
                                           (40, 40), 26),
    "bubble at the top edge": lambda: bubble(photo("chelsea"), ["Where is", "my dinner?"],
                                             (300, 20), 20),
    "sign in a corner": lambda: sign(photo("coffee"), ["TWO WAY"], (470, 20), 22),
    "two-line sign at the edge": lambda: sign(photo("rocket"), ["MAIN STREET", "EXIT 12"],
                                              (20, 300), 20, bg=(30, 60, 150)),
    "caption": lambda: banner(photo("chelsea"), "The morning after the storm", 22, "bottom"),
    "title": lambda: banner(photo("coffee"), "OPEN MARKET", 56, "top"),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_legible_words_in_any_layout_are_not_defects(layout):
    """Bubbles, signs, captions and titles in legible words: none of the text codes reaches
    minor (the recogniser drops spaces: 'TWOWAY', 'MAINSTREET', 'OPENMARKET', 'Whereis')."""
    rgb = LAYOUTS[layout]()
    assert any(r.read for r in ocr.find_text(img(rgb)))
    for code, m in scores(rgb).items():
        assert m.severity < 0.25, (code, m.message)


def test_comfyui_title_certifies_under_strict():
    """"ComfyUI" as a title (read 'Comfyul': an I read as l) is a name, not pseudo-text: no
    text finding at strict's major (0.35)."""
    rgb = banner(photo("astronaut"), "ComfyUI", 64, "top")
    m = scores(rgb)
    decision = route(Report(path="x", measurements=m), load_profile("strict"))
    assert not [f for f in decision.findings if f.code in m and f.level in ("major", "critical")]
    assert max(v.severity for v in m.values()) < 0.25


def test_plausibility_of_run_together_words_codes_and_names():
    for text in ("TWOWAY", "MAINSTREET", "ComfyUI", "Comfyul", "EL2817G", "A380"):
        assert plausibility(text) >= 0.9, text
    for text in ("FIIRE", "XQZRTV", "QZXVKJ", "Loitrtttlatm", "ZQXJVK"):
        assert plausibility(text) < 0.3, text


def test_each_line_is_read_twice_and_scored_by_the_mean():
    """The stability rule: a line is read from its quad and from the quad grown by 15 % of
    its height, and its scores are the mean over the readings, so one flipped reading moves
    a line's unreadable share half as far (scripts/calibrate/text_stability.py: the widest swing of a
    text code under 1-px crops, JPEG q92 and +-2 noise fell from 0.23 to 0.17, mean of 15
    pictures). The generator's "FIIRE", which the recogniser's language prior reads "FIRE"
    from one crop, stays half unreadable rather than reading (keeping the better reading
    lowered garbled-vs-legible ROC-AUC from 0.925 to 0.888)."""
    from checks.text import line_scores

    rgb = draw(photo("coffee"), "GARDEN", (150, 200), 64)
    regions = [r for r in ocr.find_text(img(rgb)) if r.read]
    assert regions and all(len(r.readings) == 2 for r in regions)
    quad = np.array([[0, 0], [100, 0], [100, 30], [0, 30]], np.float32)
    one = ocr.TextRegion((0, 0, 100, 30), quad, "FIIRE", 0.75, True, (("FIIRE", 0.75),))
    two = ocr.TextRegion((0, 0, 100, 30), quad, "FIIRE", 0.75, True,
                         (("FIIRE", 0.75), ("FIRE", 0.94)))
    u1, u2 = line_scores(one)[2], line_scores(two)[2]
    assert u1 > 0.5 and u2 == pytest.approx(u1 / 2, abs=0.05)
    grown = ocr.grown(quad, 0.15)
    assert np.allclose(grown[0], [-4.5, -4.5]) and np.allclose(grown[2], [104.5, 34.5])


# ------------------------------------------------- issue 13 item 6: no level flip on a wobble

def _line(text, conf, box, second=None):
    x, y, w, h = box
    quad = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)
    readings = ((text, conf),) + (((second, conf),) if second else ())
    return ocr.TextRegion(box, quad, text, conf, True, readings)


def _garbled(monkeypatch, regions, size=1000):
    monkeypatch.setattr(ocr, "find_text", lambda image: regions)
    m = scores(np.zeros((size, size, 3), np.uint8))["garbled_text"]
    return m.severity


def test_garbled_text_is_continuous_in_the_recognisers_confidence(monkeypatch):
    """A line's garbled_text moves without a step as its confidence moves (the recogniser's
    confidence moves with ±1 grey of noise). The step at unreadable > 0.1 it replaces moved a
    line 15 % of the frame tall by 0.163 and one half the frame tall by 0.358 within 0.005 of
    confidence; the ramp and the glyph bar bring that to 0.105 and 0.186 (the log ramp from
    a prominence of 0.02 stays steep where a large line starts to count)."""
    from checks.text import UNREADABLE_RAMP

    assert UNREADABLE_RAMP[1] > UNREADABLE_RAMP[0]
    for box, bound in (((100, 400, 800, 150), 0.12), ((100, 250, 800, 500), 0.2),
                       ((300, 300, 200, 60), 0.03)):
        sev = [_garbled(monkeypatch, [_line("XQZRTV", c, box)])
               for c in np.arange(0.2, 0.9, 0.005)]
        assert max(np.abs(np.diff(sev))) < bound, box
        assert sev[0] == 0.0 and sev[-1] >= 0.45                   # still found when sure
        assert all(b >= a - 1e-9 for a, b in zip(sev, sev[1:]))  # monotone in confidence


def test_a_frame_tall_line_needs_a_confident_reading(monkeypatch):
    """Scene structure the detector takes for a line half the frame tall (players on sand)
    reads as a few letters at middling confidence: it is not counted as glyphs; the same
    reading on a caption-sized line is, and a confident reading of a frame-tall line is too
    (the generators' big pseudo-titles read at 0.7-0.98)."""
    from checks.text import glyph_evidence

    tall, small = (50, 250, 900, 500), (300, 450, 400, 80)
    assert glyph_evidence(_line("KHA", 0.38, tall), 1000, 1000) == 0.0
    assert glyph_evidence(_line("KHA", 0.38, small), 1000, 1000) == 1.0
    assert glyph_evidence(_line("FIIRE", 0.75, tall), 1000, 1000) == 1.0
    ladder = [glyph_evidence(_line("KHA", c, tall), 1000, 1000) for c in (0.4, 0.45, 0.5, 0.6)]
    assert ladder == sorted(ladder) and ladder[0] < ladder[-1]
    assert _garbled(monkeypatch, [_line("KHA", 0.38, tall)]) == 0.0
    assert _garbled(monkeypatch, [_line("FIIRE", 0.8, tall)]) >= 0.5
