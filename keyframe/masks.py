"""Masks of what a check found, written as files when asked (``keyframe check --masks DIR``).

A check may attach a boolean source-size mask to a measurement (``Measurement.mask``, kept
in memory and never serialised): the edge-halo check's affected band, the text check's text
boxes. :func:`write_masks` saves the masks of an image's *findings* (codes at minor or above
under the profile) as 8-bit grey PNGs, 255 on the affected pixels, so an editor or a
compositing tool can open them over the picture.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from keyframe.registry import Check, check_classes
from keyframe.report import Report


def masking_checks(names: tuple[str, ...] | None = None) -> tuple[Check, ...]:
    """One instance of each named check (all registered when None), created with
    ``with_mask=True`` where its class declares ``supports_masks``."""
    classes = check_classes()
    out = []
    for name in (sorted(classes) if names is None else names):
        cls = classes[name]
        out.append(cls(with_mask=True) if cls.supports_masks else cls())
    return tuple(out)


def mask_path(folder: str | os.PathLike[str], report: Report, code: str) -> Path:
    """``folder/<image stem>.<sha256[:8]>.<code>.png`` (the hash keeps same-named images
    from different folders apart)."""
    stem = Path(report.path).stem
    return Path(folder) / f"{stem}.{(report.sha256 or 'nohash')[:8]}.{code}.png"


def write_masks(report: Report, folder: str | os.PathLike[str]) -> list[Path]:
    """Write the mask of every finding of ``report`` that has one (atomically); add a note
    per file to ``report.notes``; returns the paths written."""
    from keyframe.package import write_atomic

    written = []
    codes = {f.code for f in report.findings}
    for code in sorted(codes):
        m = report.measurements.get(code)
        if m is None or m.mask is None or not np.any(m.mask):
            continue
        buf = io.BytesIO()
        Image.fromarray(np.where(m.mask, 255, 0).astype(np.uint8), "L").save(buf, "PNG")
        path = mask_path(folder, report, code)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, buf.getvalue())
        report.notes.append(f"mask of {code}: {path}")
        written.append(path)
    return written
