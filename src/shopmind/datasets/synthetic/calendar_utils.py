"""Timestamp formatting shared by the writers (ISO 8601, UTC, ``Z`` suffix)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_array(ts: np.ndarray) -> np.ndarray:
    """Vectorised :func:`iso` for unix seconds."""
    return np.datetime_as_string(np.asarray(ts, dtype="datetime64[s]"), unit="s", timezone="UTC")
