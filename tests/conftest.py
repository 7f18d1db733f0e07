"""Shared test fixtures: paths to ../shared data and models, skipping with a reason when absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KEYFRAME_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data"
MODELS = SHARED / "models"
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real images nobody here made); tests using it skip when it is absent."""
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA} (set KEYFRAME_SHARED)")
    return DATA


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture()
def shared_models(monkeypatch) -> Path:
    """../shared/models as the model cache (KEYFRAME_MODELS) for one test; skips when absent."""
    if not MODELS.is_dir():
        pytest.skip(f"shared models not found at {MODELS} (set KEYFRAME_SHARED)")
    monkeypatch.setenv("KEYFRAME_MODELS", str(MODELS))
    return MODELS
