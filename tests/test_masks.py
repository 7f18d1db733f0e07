"""``keyframe check --masks DIR``: the masks of an image's findings as files."""
from __future__ import annotations

import json

import cv2
import numpy as np
from click.testing import CliRunner

from keyframe.cli import main
from keyframe.masks import masking_checks
from test_matte import disc_composite


def test_masking_checks_ask_for_masks_where_they_can():
    checks = {c.name: c for c in masking_checks(("artifact", "edge_halo"))}
    assert checks["edge_halo"].with_mask is True
    assert set(checks) == {"artifact", "edge_halo"}


def test_check_writes_the_mask_of_a_finding(tmp_path):
    src, mattes, out = tmp_path / "in", tmp_path / "mattes", tmp_path / "masks"
    src.mkdir()
    mattes.mkdir()
    for name, rim in (("haloed", 1.0), ("clean", 0.0)):
        rgb, matte = disc_composite(rim=rim)
        rgb[:, 256:] = disc_composite(rim=0.0)[0][:, 256:]      # the rim on the left only
        cv2.imwrite(str(src / f"{name}.png"), rgb[:, :, ::-1])
        cv2.imwrite(str(mattes / f"{name}.png"), matte)
    res = CliRunner().invoke(main, ["check", str(src), "--json", "--mattes", str(mattes),
                                    "--masks", str(out)])
    reports = {r["path"].rsplit("/", 1)[-1]: r for r in map(json.loads, res.output.splitlines())}
    files = sorted(p.name for p in out.iterdir())
    sha = reports["haloed.png"]["sha256"][:8]
    assert files == [f"haloed.{sha}.edge_halo.png"], files      # nothing for the clean one
    assert any(n.startswith("mask of edge_halo: ") for n in reports["haloed.png"]["notes"])
    mask = cv2.imread(str(out / files[0]), cv2.IMREAD_UNCHANGED)
    assert mask.shape == (512, 512) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255} and mask[:, :200].any()
    assert not mask[:, 300:].any()                                # only the haloed half
