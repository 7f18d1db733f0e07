"""Artifact family: pixel-level flaws that any image can have, measured without models.

Codes: ``blur``, ``oversized``, ``noise``, ``jpeg_blocking``, ``banding``, ``clipped_highlights``,
``clipped_shadows``, ``border``, ``grid_artifact``, ``oversharpened``.

Each measurement lives in its own module (sharpness, noise, compression, grid, tonal) with its
docstring saying what it measures, at which scale, why it maps to the defect, and on which
data its anchors were calibrated. This class only runs them in order, so that the derived
views they share (luma, canonical copy) are computed once.
"""
from __future__ import annotations

from checks.artifact import banding, blur, compression, grid, noise, sharpness, tonal
from keyframe.image import LoadedImage
from keyframe.registry import NO_CONTEXT, Check, Context
from keyframe.report import Measurement


class ArtifactCheck(Check):
    name = "artifact"
    codes = ("blur", "oversized", "noise", "jpeg_blocking", "banding", "clipped_highlights",
             "clipped_shadows", "border", "grid_artifact", "oversharpened")

    def measure(self, image: LoadedImage, ctx: Context = NO_CONTEXT) -> list[Measurement]:
        found = [
            *blur.measure_blur(image, target=ctx.target),   # at the target's size
            noise.measure_noise(image),
            compression.measure_jpeg_blocking(image),
            banding.measure_banding(image),
            *tonal.measure_clipping(image),
            tonal.measure_border(image),
            grid.measure_grid_artifact(image),
            sharpness.measure_oversharpened(image),
        ]
        for m in found:
            m.check = self.name
        return found
