"""``alpha_specks``: stray islands of alpha away from a cut-out's subject.

What is measured
----------------
A background remover leaves small semi-transparent or opaque islands in what should be empty
background (a bright window, a patterned floor read as foreground). Flattened, they are
dirt; animated, they float. At the canonical 1024-px scale (alpha area-averaged, so a speck
weighs the same at any size) the components of alpha >= 0.05 smaller than 1 % of the largest
and farther than 2 % of the diagonal from every larger one are specks
(:func:`keyframe.matte.find_specks`). Each counts ``min(1, mass / SPECK_FULL)``, its mass being
its summed alpha in px: a speck of 16 px of full opacity (a 4 x 4 opaque blob) counts 1,
fainter or smaller ones less. The severity is a log ramp of that count: monotone in the
number, size and opacity of specks.

Calibration: the ground-truth mattes of dim_foamliu, the lemur and p3m_demo (clean) count
0 in 10 of 11 and 0.2 in the grass set (dim4), whose detached blades lie close to the
subject; synthetic Gaussian specks (peak alpha 0.5, sigma 2 px) added to those mattes count
0.7 each: 1 / 3 / 8 of them read 0.11-0.20 / 0.46-0.47 / 0.75-0.78 on every set
(tests/test_specks.py).
"""
from __future__ import annotations

import numpy as np

from checks.edge_halo._common import upmask
from checks.edge_halo.rgba import canonical
from keyframe import views
from keyframe.image import LoadedImage
from keyframe.matte import find_specks
from keyframe.report import Measurement
from keyframe.severity import log_ramp

#: mass (px of full opacity, canonical scale) at which one speck counts fully
SPECK_FULL = 16.0
#: count of full specks: one reads 0.22 (just under minor), three 0.56 (major), eight 0.87
SPECKS_ZERO, SPECKS_ONE = 0.5, 12.0


def measure_specks(image: LoadedImage, *, with_mask: bool = False) -> Measurement:
    """``alpha_specks`` of an RGBA image."""
    f, _, a = canonical(image)          # alpha area-averaged to the 1024-px scale (cached)
    labels, speck, mass = find_specks(a)
    count = float(np.minimum(1.0, mass[speck] / SPECK_FULL).sum())
    n = int(speck.sum())
    sev = log_ramp(count, SPECKS_ZERO, SPECKS_ONE) if count > 0 else 0.0
    region = None
    if n:
        ys, xs = np.nonzero(speck[labels])
        region = views.to_source((int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
                                  int(ys.max() - ys.min() + 1)), f, image)
    msg = (f"{n} stray speck{'s' if n != 1 else ''} of alpha away from the subject "
           f"(worth {count:.1f} full 4 x 4 px blobs at the 1024-px scale)" if n
           else "no stray specks of alpha away from the subject")
    return Measurement("alpha_specks", sev, msg, region=region,
                       measurements={"specks": n, "count": count},
                       mask=upmask(speck[labels], image) if with_mask else None)
