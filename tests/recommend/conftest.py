"""Fixtures for the recommender tests (helpers live in ``recfixtures``)."""

from __future__ import annotations

import pytest
from recfixtures import block_frames

from shopmind.data.dataset import Dataset


@pytest.fixture(scope="session")
def block_dataset() -> Dataset:
    events, items = block_frames()
    return Dataset.from_frame(events, items=items)


@pytest.fixture(autouse=True)
def _choices_in_tmp(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Remembered tuning choices go to the test's folder, not ``var/cache`` of the working directory
    (trainings here use the default ``artifacts_dir``)."""
    import shopmind.recommend.service as service

    monkeypatch.setattr(service, "choice_folder", lambda artifacts_dir: tmp_path / "choices")
