"""The only place bytes become pixels and pixels become bytes.

(Being written: see docs/architecture.md for the API this module provides.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class ImageError(Exception):
    """An input that cannot become pixels. ``kind`` is a stable short id, str() one line."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(eq=False)
class LoadedImage:
    """A decoded image: sRGB 8-bit RGB pixels, an optional alpha plane, and where it came from."""

    rgb: np.ndarray                      # H x W x 3, uint8, sRGB, C-contiguous, read-only
    alpha: np.ndarray | None = None      # H x W, uint8, or None when fully opaque / absent
    path: str = "<memory>"
    sha256: str = ""
    file_size: int = 0
    format: str = ""                     # "PNG", "JPEG", ...
    notes: list[str] = field(default_factory=list)        # conversions applied, one line each
    provenance: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # derived views (views.py)

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def has_alpha(self) -> bool:
        return self.alpha is not None
