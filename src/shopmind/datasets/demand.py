"""Seeded synthetic daily demand for tests and benchmarks (no download, no files).

A shop-like mix: ``smooth`` items (Poisson demand with a weekly profile, a yearly cycle and a slow
trend), ``intermittent`` items (Bernoulli occurrence × small sizes) and ``lumpy`` items (rare
occurrences × geometric sizes). Shares default to 40 / 35 / 25 %. Everything is drawn from one
``numpy.random.default_rng(seed)``, so the same arguments give the same frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_demand(
    n_series: int = 200,
    n_periods: int = 730,
    *,
    seed: int = 42,
    start: str = "2023-01-02",
    shares: tuple[float, float, float] = (0.4, 0.35, 0.25),
) -> pd.DataFrame:
    """Long ``unique_id, ds, y`` frame of ``n_series`` daily series of ``n_periods`` days."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_periods)
    kinds = rng.choice(3, size=n_series, p=np.asarray(shares) / np.sum(shares))
    y = np.empty((n_series, n_periods))
    for i, kind in enumerate(kinds):
        if kind == 0:
            level = rng.uniform(3, 60)
            week = 1 + rng.uniform(0.1, 0.5) * np.sin(2 * np.pi * (t + rng.integers(7)) / 7)
            year = 1 + rng.uniform(0, 0.3) * np.sin(2 * np.pi * (t + rng.integers(365)) / 365.25)
            trend = 1 + rng.uniform(-0.3, 0.5) * t / n_periods
            y[i] = rng.poisson(level * week * year * trend)
        elif kind == 1:
            p = rng.uniform(0.05, 0.4)
            y[i] = (rng.random(n_periods) < p) * rng.integers(1, 4, size=n_periods)
        else:
            p = rng.uniform(0.02, 0.15)
            y[i] = (rng.random(n_periods) < p) * rng.geometric(rng.uniform(0.1, 0.4), size=n_periods)
    width = len(str(n_series - 1))
    ids = np.array([f"sku{i:0{width}d}" for i in range(n_series)])
    return pd.DataFrame(
        {
            "unique_id": np.repeat(ids, n_periods),
            "ds": np.tile(pd.date_range(start, periods=n_periods, freq="D").to_numpy(), n_series),
            "y": y.ravel().astype(float),
        }
    )
