"""Shared fixtures: thread limits, offline model loading, the shared datasets folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Deterministic, CI-sized runs: one BLAS/torch thread per xdist worker, no hub access.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED_DATASETS = Path(
    os.environ.get("SHOPMIND_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets")
)


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """``../shared/datasets``; tests using it are marked ``realdata`` and skip when it is absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"realdata: {SHARED_DATASETS} is absent (set SHOPMIND_DATASETS to run these tests)")
    return SHARED_DATASETS


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "datasets_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)
