"""The pictures the review page shows, made once and cached in ``OUT/.keyframe/review/``.

* the **preview**: the picture fitted to a screen (long side :data:`PREVIEW_LONG_SIDE`,
  JPEG), of the source (``before``) or, for a gate result, of the gate's pixels (``after``:
  the package's ``keyframe.png``, or the recipe replayed on the source when nothing was
  packaged);
* the **crop** of a region at 100 % (lossless PNG; the page shows it at 100 % and 200 %
  with nearest-neighbour scaling, so a person sees the real pixels of a hand or an edge);
* the **changed-pixel mask** of a gate result: red wherever a channel of the gate's pixels
  differs from the source's by more than :data:`CHANGED_LEVELS` grey levels, transparent
  elsewhere, at the preview's size ("verify that the mask is clean").

Files are named by the source's sha256 (and the region), so a picture is prepared once
across runs of ``keyframe review``; each is written atomically. Decoded images are kept in
a small LRU, so the preview, the crops and the mask of one picture decode it once.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from keyframe.image import ImageError, LoadedImage, encode_jpeg, encode_png, load
from keyframe.package import write_atomic
from keyframe.review.queue import Queue
from keyframe.views import fit

PREVIEW_LONG_SIDE = 1600
PREVIEW_QUALITY = 85
#: a crop shows the region plus this share of its size around it, at most CROP_MAX px a side
CROP_MARGIN = 0.25
CROP_MAX = 768
CHANGED_LEVELS = 2
CACHE_DIR = (".keyframe", "review")


def crop_box(region: list[int], width: int, height: int) -> tuple[int, int, int, int]:
    """The (x0, y0, x1, y1) window a region's crop shows, inside the image."""
    x, y, w, h = (int(v) for v in region)
    cx, cy = x + w / 2, y + h / 2
    half_w = min(w * (1 + 2 * CROP_MARGIN), CROP_MAX) / 2
    half_h = min(h * (1 + 2 * CROP_MARGIN), CROP_MAX) / 2
    x0 = min(max(0, int(cx - half_w)), width - 1)
    y0 = min(max(0, int(cy - half_h)), height - 1)
    x1, y1 = min(width, int(np.ceil(cx + half_w))), min(height, int(np.ceil(cy + half_h)))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def changed_mask(before: np.ndarray, after: np.ndarray, long_side: int) -> np.ndarray | None:
    """RGBA overlay of the pixels the gate changed, at ``long_side``; None when the gate
    changed the geometry (no pixel-to-pixel comparison exists then)."""
    if before.shape != after.shape:
        return None
    diff = np.abs(before.astype(np.int16) - after.astype(np.int16)).max(axis=2)
    changed = (diff > CHANGED_LEVELS).astype(np.uint8) * 255
    small = fit(changed[..., None].repeat(3, axis=2), long_side)[..., 0] > 0
    out = np.zeros(small.shape + (4,), np.uint8)
    out[small] = (255, 40, 40, 120)
    return out


def _encode_rgba_png(rgba: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    if not ok:
        raise ValueError("cannot encode the mask as PNG")
    return buf.tobytes()


class Pixels:
    """Makes and caches the page's pictures for one :class:`Queue`."""

    def __init__(self, queue: Queue, *, max_pixels: int | None, decoded: int = 4):
        self.queue = queue
        self.max_pixels = max_pixels
        self.dir = queue.out.joinpath(*CACHE_DIR)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._decoded: OrderedDict[str, LoadedImage] = OrderedDict()
        self._size = decoded
        self._lock = threading.Lock()
        self._busy: dict[Path, threading.Lock] = {}
        self.failed = 0

    def _image(self, key: str, make: Callable[[], LoadedImage]) -> LoadedImage:
        with self._lock:
            if key in self._decoded:
                self._decoded.move_to_end(key)
                return self._decoded[key]
        image = make()
        with self._lock:
            self._decoded[key] = image
            while len(self._decoded) > self._size:
                self._decoded.popitem(last=False)
        return image

    def source(self, index: int) -> LoadedImage:
        """The decoded original of picture ``index`` (ImageError when it cannot be read)."""
        path = self.queue.source_path(self.queue.by_index(index).path)
        return self._image(f"src:{path}", lambda: load(path, max_pixels=self.max_pixels))

    def after(self, index: int) -> LoadedImage | None:
        """The gate's pixels of picture ``index``; None for a triage output or a gate
        result with no kept step (its pixels are the source's)."""
        from keyframe.review.approve import replay_line

        if self.queue.kind != "gate":
            return None
        line = self.queue.line(index)
        if not (line.get("recipe") or {}).get("steps"):
            return None
        pkg = self.queue.package_path(line)
        if pkg is not None and (pkg / "keyframe.png").is_file():
            return self._image(f"pkg:{pkg}", lambda: load(pkg / "keyframe.png",
                                                          max_pixels=None))
        return self._image(f"replay:{index}", lambda: replay_line(self.source(index), line))

    def _cached(self, name: str, make: Callable[[], bytes | None]) -> Path | None:
        """``dir/name``, made by ``make`` the first time (one maker per file at a time)."""
        path = self.dir / name
        if path.is_file():
            return path
        with self._lock:
            busy = self._busy.setdefault(path, threading.Lock())
        with busy:
            if not path.is_file():
                data = make()
                if data is None:
                    return None
                write_atomic(path, data)
        return path

    def _stem(self, index: int) -> str:
        entry = self.queue.by_index(index)
        return entry.sha256 or entry.report_sha256

    def preview(self, index: int, which: str = "main") -> Path | None:
        """The fitted JPEG: ``before`` (the source), ``after`` (the gate's pixels) or
        ``main`` (after when there is one, else the source)."""
        stem = self._stem(index)
        if which in ("main", "after"):
            after = self.after(index)
            if after is not None:
                return self._cached(f"{stem}.after.jpg", lambda: encode_jpeg(
                    fit(after.rgb, PREVIEW_LONG_SIDE), quality=PREVIEW_QUALITY))
            if which == "after":
                return None
        return self._cached(f"{stem}.jpg", lambda: encode_jpeg(
            fit(self.source(index).rgb, PREVIEW_LONG_SIDE), quality=PREVIEW_QUALITY))

    def crop(self, index: int, region: list[int]) -> Path:
        """The 100 % PNG crop around ``region`` of the picture the page shows (the gate's
        pixels when there are any: the regions are those of the gate's last report)."""
        after = self.after(index)
        image = after if after is not None else self.source(index)
        x0, y0, x1, y1 = crop_box(region, image.width, image.height)
        tag = "a" if after is not None else "s"
        return self._cached(f"{self._stem(index)}.{tag}{x0}_{y0}_{x1}_{y1}.png",
                            lambda: encode_png(np.ascontiguousarray(image.rgb[y0:y1, x0:x1])))

    def mask(self, index: int) -> Path | None:
        """The changed-pixel overlay PNG of a gate result; None when there is none."""
        after = self.after(index)
        if after is None:
            return None

        def make() -> bytes | None:
            rgba = changed_mask(self.source(index).rgb, after.rgb, PREVIEW_LONG_SIDE)
            return None if rgba is None else _encode_rgba_png(rgba)
        return self._cached(f"{self._stem(index)}.mask.png", make)

    def warm(self, order: list[int], stop: threading.Event) -> None:
        """Prepare the previews of ``order`` in turn until done or ``stop`` is set (run in a
        background thread, so the pictures ahead of the reviewer are ready)."""
        for index in order:
            if stop.is_set():
                return
            try:
                self.preview(index)
            except (ImageError, OSError, ValueError):
                self.failed += 1            # an unreadable source: its page says why
