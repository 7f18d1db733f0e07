"""Time `keyframe review` on a generated 2,000-picture triage output.

    python -m scripts.bench.review [--pictures 2000] [--size 1280x720] [--keys 60]

Builds the output in a temp folder (synthetic JPEGs and their report lines, no checks run),
starts `keyframe review` in a subprocess and prints, as medians:

* opening the queue (the index of every report line) and its size in memory;
* the API: a page of the queue, one picture's details, a decision (written and fsynced);
* a preview made cold (decode, fit, encode) and served warm;
* with Chromium + Playwright present: the time from a key to the next picture on screen,
  with a person's 250 ms look between keys and with keys as fast as pictures appear,
  against the issue's 150 ms budget.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

from keyframe.review.queue import Queue  # noqa: E402
from keyframe_dev.review import Server, synthetic_output  # noqa: E402
from keyframe_dev.timing import median_ms  # noqa: E402

BUDGET_MS = 150


def fetch(server: Server, path: str) -> bytes:
    sep = "&" if "?" in path else "?"
    with urllib.request.urlopen(f"{server.base}{path}{sep}t={server.token}") as r:
        return r.read()


def browser_latency(server: Server, keys: int, look_ms: int) -> list[float] | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = b.new_page(viewport={"width": 1440, "height": 900}, bypass_csp=True)
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']", timeout=60000)
        for n in range(keys):
            before = page.evaluate("document.body.dataset.shown")
            page.keyboard.press("k" if n % 3 == 0 else "t" if n % 3 == 1 else "ArrowRight")
            page.wait_for_function(f"document.body.dataset.shown !== '{before}'",
                                   timeout=10000)
            if look_ms:
                page.wait_for_timeout(look_ms)
        lat = page.evaluate("window.kfStats.latencies")
        b.close()
    return lat


def summary(lat: list[float]) -> str:
    lat = sorted(lat)
    p90 = lat[int(0.9 * len(lat)) - 1]
    return (f"median {statistics.median(lat):.0f} ms, p90 {p90:.0f} ms, max {lat[-1]:.0f} ms "
            f"(max / budget {lat[-1] / BUDGET_MS:.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pictures", type=int, default=2000)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--keys", type=int, default=60)
    args = ap.parse_args()
    w, h = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        out = synthetic_output(Path(tmp), args.pictures, size=(w, h))
        print(f"{args.pictures} pictures of {w}x{h} generated in "
              f"{time.perf_counter() - t:.1f} s")
        tracemalloc.start()
        t = time.perf_counter()
        queue = Queue(out)
        opened = (time.perf_counter() - t) * 1000
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"queue opened in {opened:.0f} ms, {peak / 1e6:.1f} MB at peak "
              f"({peak / len(queue):.0f} bytes a picture); "
              f"report.jsonl is {(out / 'report.jsonl').stat().st_size / 1e6:.1f} MB")
        server = Server(out)
        try:
            ids = [n for n in queue.order]
            print(f"GET a page of 100:  {median_ms(lambda: fetch(server, '/api/queue?limit=100'), 20):.1f} ms")
            print(f"GET one picture:    {median_ms(lambda: fetch(server, '/api/item/1'), 20):.1f} ms")
            cold = iter(ids[-200:])                     # the warmer starts at the front
            print(f"preview, cold:      {median_ms(lambda: fetch(server, f'/img/preview/{next(cold)}'), 20):.1f} ms")
            print(f"preview, warm:      {median_ms(lambda: fetch(server, '/img/preview/1'), 20):.1f} ms")
            pick = iter(ids[len(ids) // 2:])
            print(f"POST a decision:    {median_ms(lambda: server.post('/api/decide', {'id': next(pick), 'decision': 'keep'}), 20):.1f} ms"
                  " (journal line written and fsynced)")
            for look in (250, 0):
                lat = browser_latency(server, args.keys, look)
                if lat is None:
                    print("key -> next picture: skipped (no chromium or playwright)")
                    break
                print(f"key -> next picture, {look} ms look between keys: {summary(lat)}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
