"""keyframe review in a real browser: headless Debian Chromium driven by Playwright.

A generated 2,000-picture triage output is served by `keyframe review` in a subprocess; the
test presses the keys a reviewer would and checks the journal after each, the next-picture
latency, the regions drawn where the reports put them (from a screenshot), the zoom, undo,
help, a phone-sized window, the refusals without the token and of ``../`` paths, a kill -9
of the server, and a `certify --approved` package whose manifest carries the review.
"""
from __future__ import annotations

import io
import json
import shutil
import statistics
import time

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keyframe.cli import main
from keyframe.decisions import read_decisions
from keyframe.verify import verify
from keyframe_dev.review import Server, synthetic_output

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.sync_api",
                                     reason="playwright not installed (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium not installed (apt-get install -y chromium)")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
MAJOR_RGB = (0xFB, 0x8C, 0x00)          # --major in keyframe/html/review.css
#: the issue's promise: the next picture on screen this soon after a key
LATENCY_MS = 150
N_PICTURES = 2000


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def shown(page) -> int:
    return int(page.evaluate("document.body.dataset.shown"))


def press_and_wait(page, key: str) -> None:
    """Press ``key`` and wait until the page shows another picture."""
    before = page.evaluate("document.body.dataset.shown")
    page.keyboard.press(key)
    page.wait_for_function(f"document.body.dataset.shown !== '{before}'", timeout=10000)


def region_in_screenshot(page) -> tuple[list[float], tuple[int, int]]:
    """The box drawn in --major colour, as fractions of the displayed picture."""
    frame = page.locator("#frame")
    px = np.asarray(Image.open(io.BytesIO(frame.screenshot())).convert("RGB")).astype(int)
    box = np.all(np.abs(px - MAJOR_RGB) <= 40, axis=2)
    ys, xs = np.nonzero(box)
    h, w = box.shape
    assert box.sum() > 100, box.sum()
    return [xs.min() / w, ys.min() / h, (xs.max() - xs.min() + 1) / w,
            (ys.max() - ys.min() + 1) / h], (w, h)


@pytest.mark.slow
def test_review_page_in_chromium(tmp_path, browser):
    t = time.perf_counter()
    out = synthetic_output(tmp_path, N_PICTURES)
    made = time.perf_counter() - t
    reports = [json.loads(l) for l in (out / "report.jsonl").read_text().splitlines()]
    server = Server(out)
    try:
        # the test's own waits evaluate JavaScript, which the page's CSP forbids
        page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        first = shown(page)
        assert reports[first]["verdict"] == "review"                    # review first
        assert page.inner_text("#verdict") == "review"
        assert "500" in page.inner_text("#tabs")                        # 2,000 / 4 verdicts
        page.wait_for_timeout(300)

        # the finding's region is drawn where the report says, over the fitted picture
        got, (fw, fh) = region_in_screenshot(page)
        w, h = reports[first]["width"], reports[first]["height"]
        x, y, rw, rh = reports[first]["findings"][0]["region"]
        assert abs(fw / fh - w / h) < 0.02
        assert np.allclose(got, [x / w, y / h, rw / w, rh / h], atol=0.02), got

        # z: the region at 100 % and 200 %
        page.keyboard.press("z")
        page.wait_for_function("document.getElementById('z1').naturalWidth > 0")
        z1 = page.evaluate("document.getElementById('z1').naturalWidth")
        assert z1 >= rw and page.evaluate("document.getElementById('z2').width") == 2 * z1
        assert page.is_visible("#zoom") and page.locator("rect.focus").count() == 1

        # keys: each decision is in the journal the moment the page says stored
        decided: list[tuple[int, str]] = []
        keys = ["k", "t", "ArrowRight", "k", "ArrowLeft", "ArrowRight", "t"] * 4
        for key in keys:
            current = shown(page)
            press_and_wait(page, key)
            if key in "kt":
                decided.append((current, {"k": "keep", "t": "trash"}[key]))
                journal = read_decisions(out)
                last = journal.entries[-1]
                assert (last["path"], last["decision"]) == (reports[current]["path"],
                                                            decided[-1][1])
                assert last["reviewer"] == "tester" and last["report_sha256"]
            page.wait_for_timeout(250)        # a person looks before the next key
        latencies = page.evaluate("window.kfStats.latencies")
        assert len(latencies) == len(keys)
        median = statistics.median(latencies)
        p90 = sorted(latencies)[int(0.9 * len(latencies)) - 1]
        print(f"\n{N_PICTURES} pictures made in {made:.1f} s; next picture after a key: "
              f"median {median:.0f} ms, p90 {p90:.0f} ms, max {max(latencies):.0f} ms")
        assert median <= LATENCY_MS / 2 and p90 <= LATENCY_MS, latencies

        # f: send back with a note
        current = shown(page)
        page.keyboard.press("f")
        page.wait_for_selector("#notetext", state="visible")
        page.keyboard.type("crop the left edge")
        page.keyboard.press("Enter")
        page.wait_for_function(f"document.body.dataset.shown !== '{current}'")
        last = read_decisions(out).entries[-1]
        assert last["decision"] == "fix" and last["note"] == "crop the left edge"

        # u: undo takes the fix back and shows that picture again
        page.keyboard.press("u")
        page.wait_for_function(f"document.body.dataset.shown === '{current}'")
        journal = read_decisions(out)
        assert journal.entries[-1]["decision"] == "undo"
        assert journal.effective(reports[current]["sha256"], reports[current]["path"]) is None

        page.keyboard.press("?")
        assert page.is_visible("#help")
        page.keyboard.press("Escape")
        assert not page.is_visible("#help")

        # reopening shows every decision
        live = {e["path"]: e["decision"] for e in journal.current()}
        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        assert f"{N_PICTURES - len(live)} of {N_PICTURES} undecided" in page.inner_text(
            "#progress")
        page.keyboard.press("ArrowLeft")
        page.wait_for_timeout(300)
        path = reports[shown(page)]["path"]
        assert page.inner_text("#decision") == f"{live[path]} · tester"

        # a phone-sized window: nothing wider than the screen, the picture fits
        page.set_viewport_size({"width": 375, "height": 667})
        page.wait_for_timeout(300)
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
        box = page.locator("#main").bounding_box()
        assert 0 < box["width"] <= 375 and box["height"] > 100
        page.screenshot(path=str(tmp_path / "phone.png"))
        n = len(read_decisions(out).entries)               # no keyboard: the buttons
        current = shown(page)
        page.click("footer button[data-key='k']")
        page.wait_for_function(f"document.body.dataset.shown !== '{current}'")
        last = read_decisions(out).entries
        assert len(last) == n + 1 and last[-1]["decision"] == "keep"
        assert last[-1]["path"] == reports[current]["path"]
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 375

        # under its Content-Security-Policy the page runs without an error
        other = browser.new_page()
        console: list[str] = []
        other.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        other.on("pageerror", lambda e: console.append(str(e)))
        other.goto(server.url)
        other.wait_for_selector("body[data-ready='1']", timeout=30000)
        assert console == [], console

        # refusals: no token, a wrong one, paths out of OUT
        assert other.goto(server.base + "/").status == 403
        assert other.goto(server.base + "/?t=" + "x" * len(server.token)).status == 403
        (out.parent / "secret.txt").write_text("not yours")
        for bad in ("/out/..%2Fsecret.txt", "/out/%2e%2e/secret.txt", "/out/../secret.txt"):
            r = other.request.get(f"{server.base}{bad}?t={server.token}")
            assert r.status in (403, 404) and "not yours" not in r.text(), bad
        assert errors == [], errors
    finally:
        server.kill9()

    # kill -9: every decision the page stored is in the journal
    journal = read_decisions(out)
    assert journal.torn == 0
    stored = [e for e in journal.entries if e["decision"] != "undo"]
    assert [(e["path"], e["decision"]) for e in stored[:len(decided)]] == \
        [(reports[i]["path"], d) for i, d in decided]

    # the kept pictures become packages whose manifest carries the review
    kept = [e for e in journal.current() if e["decision"] == "keep"]
    r = CliRunner().invoke(main, ["certify", "--approved", str(out), "-o",
                                  str(tmp_path / "pk")])
    assert r.exit_code == 0, r.output
    packages = sorted(p for p in (tmp_path / "pk").iterdir()
                      if not p.name.startswith("."))     # not .keyframe/ (the lock)
    assert len(packages) == len(kept) > 0
    for pkg in packages:
        manifest = json.loads((pkg / "manifest.json").read_text())
        assert manifest["review"]["decision"] == "keep"
        assert manifest["review"]["reviewer"] == "tester"
        assert verify(pkg).ok, verify(pkg).problems


def test_gate_result_shows_before_after_and_the_changed_pixels(tmp_path, browser):
    """A gate result: the slider reveals the source over the gate's pixels, and the mask
    of changed pixels is drawn over the picture where the fix changed them."""
    import cv2

    from conftest import SAMPLES

    out = tmp_path / "gate"
    src = tmp_path / "in"
    src.mkdir()
    rgb = cv2.cvtColor(cv2.imread(str(SAMPLES / "checkerboard.png")), cv2.COLOR_BGR2RGB)
    Image.fromarray(rgb).save(src / "grid.png")
    r = CliRunner().invoke(main, ["gate", str(src), "-o", str(out)])
    line = json.loads((out / "gate.jsonl").read_text())
    assert line["recipe"]["steps"], r.output          # the gate kept a degrid step
    server = Server(out)
    try:
        page = browser.new_page(viewport={"width": 1000, "height": 800}, bypass_csp=True)
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        assert page.is_visible("#slider") and page.is_visible("#before")
        page.wait_for_function("document.getElementById('mask').naturalWidth > 0")
        page.wait_for_function("document.getElementById('before').naturalWidth > 0")
        frame = page.locator("#frame")

        def red_share() -> float:
            px = np.asarray(Image.open(io.BytesIO(frame.screenshot())).convert("RGB"))
            px = px.astype(int)
            return float(np.mean((px[..., 0] > 200) & (px[..., 1] < 140) & (px[..., 2] < 140)))
        with_mask = red_share()
        page.keyboard.press("m")                       # mask off
        assert not page.is_visible("#mask")
        without = red_share()
        assert with_mask > without + 0.2, (with_mask, without)   # degrid changed most pixels
        shots = {}
        for value in ("0", "100"):                     # all after, then all before
            page.evaluate("v => { const e = document.getElementById('split'); e.value = v;"
                          " e.dispatchEvent(new Event('input')); }", value)
            shots[value] = np.asarray(Image.open(io.BytesIO(frame.screenshot())).convert(
                "L")).astype(int)
        assert page.evaluate("document.getElementById('before').style.clipPath") \
            == "inset(0px 0% 0px 0px)"
        assert np.abs(shots["0"] - shots["100"]).mean() > 2     # the slider shows both
    finally:
        server.stop()
