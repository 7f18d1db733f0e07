"""Print the edge-halo measurements the anchors in checks/edge_halo were set from.

Cut-outs (RGBA) and flattened composites built from ../shared/data matting sets (see
keyframe_dev/edge_halo_data.py): clean, photo colour (halo), premultiplied, dilated alpha, binary
alpha; flattened composites with their subject matte (the ground-truth alpha, and the alpha
they were composited with); and the original photos along their true matte (natural edges).
Also prints ROC-AUC per code (haloed vs clean) and SAD/MSE of refine_alpha.

    python -m scripts.calibrate.edge_halo [--data ../shared/data]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

from checks.edge_halo import EdgeHaloCheck  # noqa: E402
from keyframe_dev.edge_halo_data import composite, matting_sets, rgba_image, variants  # noqa: E402
from keyframe.image import LoadedImage  # noqa: E402


def auc(pos: list[float], neg: list[float]) -> float:
    """Probability that a positive scores above a negative (ties count half)."""
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    check = EdgeHaloCheck()
    rows: dict[tuple[str, str], dict[str, float]] = {}
    print("RGBA cut-outs: alpha_fringe energy / edge_halo rim / hard_edge (transition, complexity)")
    for s in matting_sets(args.data):
        for kind, (colour, alpha) in variants(args.data, s).items():
            ms = {m.code: m for m in check.measure(rgba_image(colour, alpha))}
            rows[("rgba", kind, s.name)] = {c: m.severity for c, m in ms.items()}
            print(f"  {s.name:16s} {kind:14s} fringe {ms['alpha_fringe'].measurements['energy']:6.2f}"
                  f" ({ms['alpha_fringe'].severity:.2f})  halo {ms['edge_halo'].measurements['rim_excess']:6.2f}"
                  f" ({ms['edge_halo'].severity:.2f})  hard {ms['hard_edge'].measurements['transition_px']:.2f}"
                  f"/{ms['hard_edge'].measurements['complexity']:.2f} ({ms['hard_edge'].severity:.2f})"
                  f" premult {ms['alpha_fringe'].measurements['premultiplied']:.2f}")
    print("Flattened composites with their subject matte (ground-truth alpha / the alpha "
          "composited with): edge_halo rim excess / hard_edge step share, complexity")
    for s in matting_sets(args.data):
        for kind, (colour, alpha) in variants(args.data, s).items():
            if kind == "premultiplied":
                continue
            comp = composite(colour, alpha, s.background)
            for which, m in (("gt", s.alpha), ("own", alpha)):
                m8 = np.clip(m * 255 + 0.5, 0, 255).astype(np.uint8)
                ms = {x.code: x for x in check.measure(LoadedImage(rgb=comp, matte=m8))}
                rows[(f"matte-{which}", kind, s.name)] = {c: x.severity for c, x in ms.items()}
                if which == "gt":
                    h, e = ms["edge_halo"].measurements, ms["hard_edge"].measurements
                    print(f"  {s.name:16s} {kind:14s} halo {h['rim_excess']:6.2f} "
                          f"(control {h['control']:5.1f}, {ms['edge_halo'].severity:.2f})  "
                          f"hard {e['step_share']:.2f} x{e['complexity']:.2f} "
                          f"({ms['hard_edge'].severity:.2f})")
    print("Original photos along their true matte (natural edges, no composite)")
    for s in matting_sets(args.data):
        m8 = np.clip(s.alpha * 255 + 0.5, 0, 255).astype(np.uint8)
        ms = {x.code: x for x in check.measure(LoadedImage(rgb=s.image, matte=m8))}
        rows[("photo", "original", s.name)] = {c: x.severity for c, x in ms.items()}
        print(f"  {s.name:16s} halo {ms['edge_halo'].measurements['rim_excess']:6.2f} "
              f"({ms['edge_halo'].severity:.2f})  hard {ms['hard_edge'].severity:.2f}")

    def sev(domain, kinds, code):
        return [v[code] for (d, k, _), v in rows.items() if d == domain and k in kinds]
    print("ROC-AUC (positive vs negative)")
    for code, dom, pos, neg in (
            ("alpha_fringe", "rgba", ("photo", "premultiplied"), ("clean",)),
            ("edge_halo", "rgba", ("dilated",), ("clean",)),
            ("hard_edge", "rgba", ("binary",), ("clean", "photo")),
            ("edge_halo", "matte-gt", ("photo",), ("clean",)),
            ("edge_halo", "matte-gt", ("dilated",), ("clean",)),
            ("edge_halo", "matte-gt", ("photo", "dilated"), ("clean",)),
            ("hard_edge", "matte-gt", ("binary",), ("clean", "photo")),
            ("edge_halo", "matte-own", ("dilated",), ("clean",)),
            ("edge_halo", "matte-own", ("photo", "dilated"), ("clean",)),
            ("hard_edge", "matte-own", ("binary",), ("clean", "photo"))):
        p, n = sev(dom, pos, code), sev(dom, neg, code)
        print(f"  {code:13s} {dom:9s} {'+'.join(pos):22s} vs {'+'.join(neg):12s} "
              f"AUC {auc(p, n):.3f}  (n={len(p)}/{len(n)})")
    for code in ("edge_halo", "hard_edge"):
        print(f"  {code} max on the original photos: {max(sev('photo', ('original',), code)):.2f}")

if __name__ == "__main__":
    main()
