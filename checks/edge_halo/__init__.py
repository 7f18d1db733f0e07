"""Edge-halo family: halos, colour fringes and cut-out edges of composites and cut-outs.

Codes: ``edge_halo`` (a rim of the old background's colour along the subject's boundary),
``alpha_fringe`` (that colour left in the semi-transparent band of an alpha plane, including
the dark fringe of premultiplied colour read as straight), ``hard_edge`` (a binary, un-
feathered edge on a hair-like contour: the cut-out look), ``alpha_specks`` (stray islands of
alpha away from the subject, :mod:`checks.edge_halo.specks`).

With an alpha plane (:mod:`checks.edge_halo.rgba`) the edge is read from the matte and the
straight colour; an opaque composite with its subject matte (``LoadedImage.matte``,
:mod:`checks.edge_halo.matte`) is read along that boundary only. Any other opaque picture is
**skipped** with the reason: measured over every edge of a picture (the first version of
this family did that), rims and steps did not separate haloed composites from clean ones at
all (ROC-AUC 0.50 on the calibration composites; hair, fur and print make rims of their own)
and cost a third of a triage's time, so a severity of 0 there would claim a check that was
not made. Each module's docstring says what is measured, at which scale and on which data
the anchors were calibrated. Fixes: ``defringe`` (alpha), ``dehalo`` (opaque; matte mode),
``refine_alpha``, ``despeck``; ``hard_edge`` routes to review by default.
"""
from __future__ import annotations

from checks.edge_halo.matte import measure_matte
from checks.edge_halo.rgba import measure_rgba
from checks.edge_halo.specks import measure_specks
from keyframe.image import LoadedImage
from keyframe.registry import NO_CONTEXT, Check, CheckSkipped, Context
from keyframe.report import Measurement


#: why an opaque picture without a subject matte is not measured, and how to measure it
OPAQUE_SKIP = ("opaque picture without a subject matte: halos and cut-out edges are measured "
               "on an RGBA cut-out, or along the matte a composite was made with (--mattes DIR)")


class EdgeHaloCheck(Check):
    """Measure ``edge_halo``, ``hard_edge``, ``alpha_fringe`` and ``alpha_specks``.

    Parameters
    ----------
    with_mask : bool, keyword-only
        Attach a boolean source-size mask of the affected band to each measurement
        (``Measurement.mask``; kept in memory, never serialised).
    """

    reads_alpha = True
    name = "edge_halo"
    supports_masks = True        # with_mask=True: the band and speck masks (check --masks)
    codes = ("edge_halo", "hard_edge", "alpha_fringe", "alpha_specks")

    def __init__(self, *, with_mask: bool = False):
        self.with_mask = with_mask

    def measure(self, image: LoadedImage, ctx: Context = NO_CONTEXT) -> list[Measurement]:
        if image.alpha is not None:
            found = [*measure_rgba(image, with_mask=self.with_mask),
                     measure_specks(image, with_mask=self.with_mask)]
        elif image.matte is not None:
            found = [*measure_matte(image, with_mask=self.with_mask),
                     Measurement("alpha_specks", 0.0, "no alpha plane",
                                 measurements={"specks": 0, "count": 0.0})]
        else:
            raise CheckSkipped(OPAQUE_SKIP)
        for m in found:
            m.check = self.name
        return found
