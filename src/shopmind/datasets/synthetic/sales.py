"""Daily sales per item: online purchases from the simulated customers plus store-wide demand.

For the chosen items (70 % the most popular, 30 % a random draw from the less popular half, so slow movers with
intermittent demand are included) the daily units are

    units[i, d] = online[i, d] + Poisson(λ_i · level(d) · weekly(dow) · season_leaf(d) · lift[i, d])

with ``λ_i = 60 · (pop_i / max pop)^0.9`` (slow movers get λ ≪ 1, hence many zero days),
``level`` the calendar's trend × yearly × festival profile, a retail weekly cycle peaking at the
weekend and a promotion lift ``(1 − discount)^−2.5`` on promotion days (item-specific 3–7 day windows
about five times a year, plus shopping festivals for half of the items). ``price`` is the list price,
discounted on promotion days.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from shopmind.datasets.synthetic.catalog import Calendar, Catalog
from shopmind.datasets.synthetic.config import ShopConfig
from shopmind.datasets.synthetic.vocab import LEAVES

SALES_WEEKLY = np.array([0.8, 0.75, 0.78, 0.88, 1.05, 1.45, 1.3])


def sales_items(config: ShopConfig, catalog: Catalog) -> np.ndarray:
    """Indices of the items with a sales history (sorted)."""
    rng = np.random.default_rng([config.seed, 4])
    k = config.n_sales_items
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    top_k = round(0.7 * k)
    by_pop = np.argsort(-catalog.popularity, kind="stable")
    top = by_pop[:top_k]
    # slow movers: drawn from the less popular half of the catalogue (intermittent demand)
    tail = by_pop[max(top_k, len(by_pop) // 2) :]
    if len(tail) < k - top_k:
        tail = by_pop[top_k:]
    rest = rng.choice(tail, size=k - top_k, replace=False) if k > top_k else np.zeros(0, np.int64)
    return np.sort(np.concatenate([top, rest]))


def iter_sales(
    config: ShopConfig,
    calendar: Calendar,
    catalog: Catalog,
    items: np.ndarray,
    online: np.ndarray,
    block: int = 200,
) -> Iterator[pd.DataFrame]:
    """Frames ``item_id, date, units, price, promo`` for blocks of ``block`` items (all days each)."""
    rng = np.random.default_rng([config.seed, 5])
    days = calendar.days
    level = calendar.weight / calendar.weight.mean()
    # the calendar weight already holds the online weekly cycle; swap in the retail one
    online_weekly = np.array([1.02, 0.97, 0.95, 0.97, 0.93, 1.08, 1.22])[calendar.dow]
    level = level / online_weekly * SALES_WEEKLY[calendar.dow]
    seasons = {kind: calendar.season(kind) for kind in ("none", "winter", "summer", "gift")}
    pop_max = catalog.popularity[items].max() if len(items) else 1.0
    dates = pd.date_range(calendar.start, periods=days, freq="D").date
    item_ids = np.asarray(catalog.ids, dtype=object)
    for b0 in range(0, len(items), block):
        idx = items[b0 : b0 + block]
        n = len(idx)
        lam = 60.0 * (catalog.popularity[idx] / pop_max) ** 0.9
        discount = np.zeros((n, days))
        n_windows = rng.poisson(days / 365.0 * 5.0, n)
        for r in range(n):
            for _ in range(n_windows[r]):
                s = int(rng.integers(0, days))
                discount[r, s : s + int(rng.integers(3, 8))] = rng.uniform(0.1, 0.3)
        joins = rng.random(n) < 0.5
        discount[np.ix_(joins, calendar.festival)] = np.maximum(
            discount[np.ix_(joins, calendar.festival)], 0.2
        )
        lift = (1.0 - discount) ** -2.5
        season = np.stack([seasons[LEAVES[leaf].season] for leaf in catalog.leaf[idx]])
        rate = lam[:, None] * level[None, :] * season * lift
        units = rng.poisson(rate) + online[b0 : b0 + n]
        price = np.round(catalog.price[idx][:, None] * (1.0 - discount), 2)
        yield pd.DataFrame(
            {
                "item_id": np.repeat(item_ids[idx], days),
                "date": np.tile(dates, n),
                "units": units.ravel().astype(np.int64),
                "price": price.ravel(),
                "promo": (discount > 0).ravel(),
            }
        )
