"""Developer scripts, run from the repository root as modules: ``python -m scripts.calibrate.grid``,
``python -m scripts.bench.suite``, ``python -m scripts.dev.make_samples``. Not installed with
keyframe; shared loaders live in :mod:`keyframe_dev`."""
