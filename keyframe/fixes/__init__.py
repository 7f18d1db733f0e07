"""Fixes: one module per pure ``rgb -> rgb`` pixel step, registered in :mod:`keyframe.registry`.

Each module holds one :class:`keyframe.registry.Fix` subclass with typed ``Params`` (a frozen
dataclass whose field metadata bounds are enforced by ``Fix.validate``):

========================  ==================  =====================================
module                    mends               what it does
========================  ==================  =====================================
``sharpen.Sharpen``       blur                unsharp mask on luma, halo-guarded
``denoise.Denoise``       noise               non-local means (or bilateral)
``deblock.Deblock``       jpeg_blocking       tapers small steps at block boundaries
``deband.Deband``         banding             guided smoothing + dither in flat areas
``crop_border.CropBorder``  border            crops px from each side (geometry)
``upscale.Upscale``       too_small, blur     Lanczos / cubic / FSRCNN / ESPCN resize (geometry)
``degrid.Degrid``         grid_artifact       spectral notches at the grid harmonics
========================  ==================  =====================================

A fix never judges pixels and never modifies its input; the same input and params give the
same output bytes.
"""
