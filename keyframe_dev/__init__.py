"""Development helpers shared by tests/ and scripts/: loaders of the real pictures in
../shared/data, synthetic pictures (textures, cut-outs and composites, triage outputs) and
the review-server harness. Not installed with keyframe (pyproject's package list leaves it
out); importable from the repository root (`python -m pytest`, `python -m scripts.…`)."""
