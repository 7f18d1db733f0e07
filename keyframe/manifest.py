"""The manifest's pure parts: its canonical JSON, its self-hash, its text, and the versions
it records. No I/O: :mod:`keyframe.package` writes and verifies the files.

``manifest_sha256`` is the sha256 of the canonical JSON (sorted keys, no spaces, UTF-8) of
the manifest without that key; the file itself is exactly :func:`manifest_text`, so a changed
byte breaks either the hash (content) or the layout.
"""
from __future__ import annotations

import hashlib
import json
import platform
from functools import lru_cache
from importlib import metadata
from typing import Any

SCHEMA = "keyframe.manifest/1"
KEYFRAME_FILE = "keyframe.png"
MANIFEST_FILE = "manifest.json"


def canonical_json(obj: Any) -> bytes:
    """The canonical UTF-8 JSON of ``obj``: sorted keys, no whitespace."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def manifest_text(manifest: dict[str, Any]) -> str:
    """The exact text of ``manifest.json`` for ``manifest``."""
    return json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def manifest_hash(manifest: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``manifest`` without its ``manifest_sha256`` key."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


@lru_cache(maxsize=None)
def _dist_version(name: str) -> str | None:
    """The installed version of distribution ``name``, looked up once per process (the
    metadata scan is ~0.6 ms a name, paid by every package before)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def library_versions() -> dict[str, str | None]:
    """Versions of what produced the pixels and the measurements (None = not installed)."""
    import cv2
    import numpy
    import PIL

    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "opencv": cv2.__version__, "pillow": PIL.__version__,
            "onnxruntime": _dist_version("onnxruntime"),
            "scikit-image": _dist_version("scikit-image"), "platform": platform.platform()}
