"""Committed calibration results still hold (``pytest -m calibration``): the cheap part of a
calibration script is run again on ../shared/data and compared with the result file it wrote
(docs/calibration/), so a change to a check that moves its figures fails here until the
script is re-run with ``--write`` and the docs that quote it are updated.

Only scripts whose part run here takes well under a minute: CI runs every test."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.calibration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
#: severities and AUCs are compared to 0.01: libraries' rounding moves the fourth decimal, a
#: changed measure moves far more
TOLERANCE = 0.01


def test_edge_halo_cutouts_measure_as_committed(shared_data):
    """scripts/calibrate/edge_halo.py, the RGBA cut-outs (55 pictures, ~10 s): every code's
    severity on every cut-out and the three cut-out AUCs (alpha_fringe, edge_halo,
    hard_edge), against docs/calibration/edge_halo.json."""
    from checks.edge_halo import EdgeHaloCheck
    from scripts.calibrate.edge_halo import RESULTS, aucs, rgba_measurements, severities

    committed = json.loads(RESULTS.read_text())
    rows = severities(rgba_measurements(shared_data, EdgeHaloCheck()))
    now = {"/".join(key): sev for key, sev in rows.items()}
    then = {key: sev for key, sev in committed["severities"].items() if key.startswith("rgba/")}
    assert sorted(now) == sorted(then)
    moved = {f"{key} {code}": (then[key][code], round(s, 4)) for key, sevs in now.items()
             for code, s in sevs.items() if abs(s - then[key][code]) > TOLERANCE}
    assert not moved, f"re-run python -m scripts.calibrate.edge_halo --write: {moved}"
    for name, value in aucs(rows).items():
        assert value == pytest.approx(committed["auc"][name], abs=TOLERANCE), name
