"""Fixtures for the recommender tests (helpers live in ``recfixtures``)."""

from __future__ import annotations

import pytest
from recfixtures import block_frames

from shopmind.data.dataset import Dataset


@pytest.fixture(scope="session")
def block_dataset() -> Dataset:
    events, items = block_frames()
    return Dataset.from_frame(events, items=items)
