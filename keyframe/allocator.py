"""The C allocator of a worker that assesses images one after another (glibc only).

An assessment allocates and frees a few dozen full-frame planes (a 1024-px picture's float32
RGB copy is 12 MB, each float plane 4 MB). glibc's malloc returns the top of its heap to the
system once more than ``M_TRIM_THRESHOLD`` is free there (by default twice the largest block
freed so far, ~24 MB here), and the next picture's planes then fault those pages in again,
zeroed by the kernel: ~2,500-3,500 page faults and 8-14 ms of system CPU per 1024-px picture
of ``scripts/bench/speed.py``'s model-free row (~8 % of it). :func:`keep_freed_memory` sets
the thresholds once per process so that the heap keeps up to :data:`TRIM_THRESHOLD` of freed
memory for the next picture: ~500 faults and 1.5-5 ms per picture. The peak resident size
does not grow (the memory kept is what the previous picture needed; 151-168 MB both ways on
that row); what stays resident between pictures is at most that peak.

Setting ``M_TRIM_THRESHOLD`` alone would be worse than nothing: it turns off glibc's
adaptive ``M_MMAP_THRESHOLD``, and every plane above the 128 KiB default is then a fresh
``mmap`` (~40,000 faults per picture): both are set, the mmap threshold at glibc's own
adaptive maximum (32 MB on 64-bit systems). No pixel, reading or report changes.
"""
from __future__ import annotations

import ctypes
import sys
from functools import lru_cache

#: blocks above this are mmapped (and unmapped when freed): glibc's adaptive maximum
MMAP_THRESHOLD = 32 << 20
#: free memory at the heap's top kept for the next picture rather than returned
TRIM_THRESHOLD = 128 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3       # glibc's <malloc.h> parameter numbers


@lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (see the module docstring) once per process.

    Returns True when both were set; False where there is no glibc ``mallopt`` (macOS,
    Windows, musl), which leaves the platform's allocator as it is.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):   # no mallopt in this process's C library (musl)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
