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
``erase.Erase``           watermark, …        fills regions / a mask from the surroundings
``reframe.Reframe``       aspect_mismatch, …  subject-aware crop or canvas extension (geometry)
``face_detail.FaceDetail``  face_soft         feathered unsharp mask of the face
``defringe.Defringe``     alpha_fringe        decontaminates a cut-out's soft band (alpha)
``refine_alpha.RefineAlpha``  hard_edge       rebuilds the matte's edge from the picture (alpha)
``despeck.Despeck``       alpha_specks        clears stray islands of alpha (alpha)
``dehalo.Dehalo``         edge_halo           rim onto the two sides' colours; cut-outs: choke
``flatten.Flatten``       has_alpha           composites a cut-out onto a colour or a plate
``external.External``     (user steps)        runs a command on the image (never a shell)
========================  ==================  =====================================

A fix never judges pixels and never modifies its input; the same input and params give the
same output bytes.
"""
