"""Fusion formulas with hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.search.fusion import minmax, rrf, weighted


def test_rrf_known_values():
    rows, scores = rrf([np.array([1, 2, 3]), np.array([3, 1])], k=60)
    expected = {1: 1 / 61 + 1 / 62, 2: 1 / 62, 3: 1 / 63 + 1 / 61}
    assert rows.tolist() == [1, 3, 2]
    assert scores.tolist() == pytest.approx([expected[1], expected[3], expected[2]])


def test_weighted_known_values():
    rows, scores = weighted(
        np.array([5, 6]), np.array([10.0, 0.0]), np.array([6, 7]), np.array([0.9, 0.5]), alpha=0.5
    )
    assert dict(zip(rows.tolist(), scores.tolist(), strict=True)) == pytest.approx({5: 0.5, 6: 0.5, 7: 0.0})


def test_minmax_edge_cases():
    assert minmax(np.array([2.0, 2.0])).tolist() == [1.0, 1.0]
    assert minmax(np.array([])).tolist() == []
    assert rrf([])[0].tolist() == []
