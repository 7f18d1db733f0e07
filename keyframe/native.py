"""What native (C/C++) libraries do to the process beyond their return values."""
from __future__ import annotations

import contextlib
import os
from typing import Iterator


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence what C libraries print on file descriptor 2 for the block (LiteRT's delegate
    lines, libpng's "libpng error: …" on a damaged stream, whose failure the caller reports
    in its own one line), restoring it afterwards even when the block raises; Python-level
    errors still propagate."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
