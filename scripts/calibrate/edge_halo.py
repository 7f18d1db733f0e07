"""Print the edge-halo measurements the anchors in checks/edge_halo were set from.

Cut-outs (RGBA) and flattened composites built from ../shared/data matting sets (see
keyframe_dev/edge_halo_data.py): clean, photo colour (halo), premultiplied, dilated alpha, binary
alpha; flattened composites with their subject matte (the ground-truth alpha, and the alpha
they were composited with); and the original photos along their true matte (natural edges).
Also prints ROC-AUC per code (haloed vs clean) and SAD/MSE of refine_alpha.

    python -m scripts.calibrate.edge_halo [--data ../shared/data] [--write]

``--write`` also writes every severity and AUC to docs/calibration/edge_halo.json (the
committed results; ``pytest -m calibration`` recomputes the cut-outs' part and compares).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

from checks.edge_halo import EdgeHaloCheck  # noqa: E402
from keyframe_dev.edge_halo_data import composite, matting_sets, rgba_image, variants  # noqa: E402
from keyframe.image import LoadedImage  # noqa: E402

RESULTS = ROOT / "docs" / "calibration" / "edge_halo.json"
#: (code, domain, positive kinds, negative kinds) of each ROC-AUC the script reports
AUCS = (("alpha_fringe", "rgba", ("photo", "premultiplied"), ("clean",)),
        ("edge_halo", "rgba", ("dilated",), ("clean",)),
        ("hard_edge", "rgba", ("binary",), ("clean", "photo")),
        ("edge_halo", "matte-gt", ("photo",), ("clean",)),
        ("edge_halo", "matte-gt", ("dilated",), ("clean",)),
        ("edge_halo", "matte-gt", ("photo", "dilated"), ("clean",)),
        ("hard_edge", "matte-gt", ("binary",), ("clean", "photo")),
        ("edge_halo", "matte-own", ("dilated",), ("clean",)),
        ("edge_halo", "matte-own", ("photo", "dilated"), ("clean",)),
        ("hard_edge", "matte-own", ("binary",), ("clean", "photo")))


def auc(pos: list[float], neg: list[float]) -> float:
    """Probability that a positive scores above a negative (ties count half)."""
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def rgba_measurements(data: Path, check: EdgeHaloCheck) -> dict[tuple[str, str, str], dict]:
    """The RGBA cut-outs (every variant of every matting set): ``("rgba", kind, set) ->
    {code: Measurement}``. The cheap part (about 10 s): ``pytest -m calibration`` runs it."""
    return {("rgba", kind, s.name): {m.code: m for m in check.measure(rgba_image(colour, alpha))}
            for s in matting_sets(data) for kind, (colour, alpha) in variants(data, s).items()}


def severities(rows: dict[tuple[str, str, str], dict]) -> dict[tuple[str, str, str], dict]:
    return {key: {code: m.severity for code, m in ms.items()} for key, ms in rows.items()}


def sev(rows: dict, domain: str, kinds: tuple[str, ...], code: str) -> list[float]:
    """Severities of ``code`` over the ``rows`` of ``domain`` whose kind is one of ``kinds``."""
    return [v[code] for (d, k, _), v in rows.items() if d == domain and k in kinds]


def aucs(rows: dict[tuple[str, str, str], dict[str, float]]) -> dict[str, float]:
    """ROC-AUC of each of :data:`AUCS` whose domain ``rows`` (severities) hold."""
    return {auc_name(code, dom, pos, neg): auc(sev(rows, dom, pos, code),
                                               sev(rows, dom, neg, code))
            for code, dom, pos, neg in AUCS if any(d == dom for d, _, _ in rows)}


def auc_name(code: str, domain: str, pos: tuple, neg: tuple) -> str:
    return f"{code} {domain} {'+'.join(pos)} vs {'+'.join(neg)}"


def results_json(rows: dict[tuple[str, str, str], dict[str, float]]) -> dict:
    """What ``--write`` commits: severities by ``domain/kind/set`` and the AUCs, rounded."""
    return {"script": "python -m scripts.calibrate.edge_halo --write",
            "data": "../shared/data: dim_foamliu, pymatting lemur, p3m_demo (keyframe_dev/"
                    "edge_halo_data.py)",
            "severities": {"/".join(k): {c: round(v, 4) for c, v in sorted(sv.items())}
                           for k, sv in sorted(rows.items())},
            "auc": {k: round(v, 4) for k, v in aucs(rows).items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--write", action="store_true",
                    help=f"also write the results to {RESULTS.relative_to(ROOT)}")
    args = ap.parse_args()
    check = EdgeHaloCheck()
    print("RGBA cut-outs: alpha_fringe energy / edge_halo rim / hard_edge (transition, complexity)")
    measured = rgba_measurements(args.data, check)
    for (_, kind, name), ms in measured.items():
        print(f"  {name:16s} {kind:14s} fringe {ms['alpha_fringe'].measurements['energy']:6.2f}"
              f" ({ms['alpha_fringe'].severity:.2f})  halo {ms['edge_halo'].measurements['rim_excess']:6.2f}"
              f" ({ms['edge_halo'].severity:.2f})  hard {ms['hard_edge'].measurements['transition_px']:.2f}"
              f"/{ms['hard_edge'].measurements['complexity']:.2f} ({ms['hard_edge'].severity:.2f})"
              f" premult {ms['alpha_fringe'].measurements['premultiplied']:.2f}")
    rows = severities(measured)
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

    print("ROC-AUC (positive vs negative)")
    for code, dom, pos, neg in AUCS:
        p, n = sev(rows, dom, pos, code), sev(rows, dom, neg, code)
        print(f"  {code:13s} {dom:9s} {'+'.join(pos):22s} vs {'+'.join(neg):12s} "
              f"AUC {auc(p, n):.3f}  (n={len(p)}/{len(n)})")
    for code in ("edge_halo", "hard_edge"):
        print(f"  {code} max on the original photos: {max(sev(rows, 'photo', ('original',), code)):.2f}")
    if args.write:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results_json(rows), indent=1) + "\n")
        print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
