"""Despeck: clear stray islands of alpha away from a cut-out's subject (mends
``alpha_specks``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from keyframe.fixes._common import AlphaFix
from keyframe.matte import SPECK_MAX_SHARE, SPECK_REACH, find_specks


class Despeck(AlphaFix):
    """Set alpha to 0 on the stray specks :func:`keyframe.matte.find_specks` finds: the
    components of alpha >= 0.05 smaller than ``max_share`` of the largest and farther than
    ``reach`` x the diagonal from every larger one. The subject, its soft edge and the
    strands close to it are untouched; colour is unchanged (hidden under alpha 0).

    Why: a background remover's leftover islands float and flicker once the frame moves.
    Unlike ``refine_alpha``'s ``min_area``, which clears every small component, this keeps
    detached hair and grass strands next to the subject.
    """

    name = "despeck"
    mends = ("alpha_specks",)
    changes_geometry = False
    stage = 20

    @dataclass(frozen=True)
    class Params:
        max_share: float = field(default=SPECK_MAX_SHARE, metadata={"min": 0.0, "max": 0.5})
        reach: float = field(default=SPECK_REACH, metadata={"min": 0.0, "max": 0.5})

    def apply_alpha(self, rgb: np.ndarray, alpha: np.ndarray, params: Any
                    ) -> tuple[np.ndarray, np.ndarray | None]:
        labels, speck, _ = find_specks(alpha.astype(np.float32) / 255.0,
                                       max_share=params.max_share, reach=params.reach)
        out = alpha.copy()
        if speck.any():
            out[speck[labels]] = 0
        return rgb.copy(), out
