"""keyframe.allocator: a worker keeps freed full-frame planes for the next image (glibc)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: allocate and free six 12-MB planes (a 1024-px picture's float32 RGB copy each) per
#: "picture"; print the page faults of five pictures after two warm ones
_CODE = """
import resource, sys
import numpy as np
from keyframe.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory() and keep_freed_memory()
def picture():
    planes = [np.ones(3_000_000, np.float32) for _ in range(6)]
    del planes
picture(); picture()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    picture()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _CODE, mode], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt only")
def test_freed_planes_are_not_faulted_in_again():
    """Without it glibc returns the freed planes to the system past its ~24 MB trim
    threshold and every picture faults them in again; with it they stay for the next."""
    default, kept = _faults("default"), _faults("keep")
    assert default > 5 * 1_000           # ~2,700 pages of 4 KiB per picture here
    assert kept < default / 20           # 0 here
