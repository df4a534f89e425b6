"""Demand series from the store: units per item per period, plus category and total aggregates.

Input frames (as returned by the :class:`~shopmind.store.base.Store` bulk reads):

* ``sales_frame()``: ``item_id, date, units, price, promo`` — one row per item and day (or week);
* ``orders_frame()``: one row per order line, ``item_id, quantity, unit_price, status, created_at``;
* ``events_frame(types=["purchase"])``: ``item_id, quantity, timestamp`` — used only when there are
  neither sales rows nor orders (a shop that sends purchase events only);
* ``items_frame()``: ``id, category`` (path list, root first), ``created_at`` (listing date), ``stock``.

Output is a *long* frame ``unique_id, ds, y, price, promo`` (the statsforecast layout), one row per
item and period on a regular calendar:

* a period with no sale, between the item's listing date and the end of the history, is **zero
  demand** (an unrecorded day in a shop's sales table means nothing was sold); before the listing
  date the item did not exist, so no row is written there. When an item has no ``created_at`` its
  first recorded sale is taken as its listing date.
* ``price`` is forward/back-filled inside each item (the price did not change because nobody
  bought), ``promo`` is ``False`` on filled periods. Both are kept as covariates for analysis; the
  statsforecast models used here are univariate and do not consume them.
* weekly series (``freq="W"``) sum units over weeks ending Sunday; price is the mean, promo "any".

Bad input is refused with :class:`~shopmind.errors.DataError` naming item, date and value: negative
units, duplicate ``(item_id, date)`` rows in the sales table, unparseable dates.
Order lines with status ``cancelled`` or ``returned`` are not demand and are dropped (documented).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from shopmind.errors import DataError, Location

log = logging.getLogger(__name__)

Freq = Literal["D", "W"]
TOTAL_ID = "__total__"
CATEGORY_PREFIX = "category:"
UNCATEGORISED = "(none)"
NOT_DEMAND_STATUSES = frozenset({"cancelled", "returned"})
PANDAS_FREQ: dict[str, str] = {"D": "D", "W": "W-SUN"}


DemandSource = Literal["sales", "orders", "purchase_events"]


@dataclass(frozen=True)
class DemandSeries:
    """Regular per-item demand series plus the item → category map used for aggregation.

    ``items`` is the long frame ``unique_id, ds, y, price, promo`` (``unique_id`` = item id);
    ``category_of`` maps each item id to its category key (a path prefix joined with ``" > "``);
    ``source`` names the table the units came from (sales, else orders, else purchase events).
    """

    items: pd.DataFrame
    category_of: dict[str, str]
    freq: Freq
    source: DemandSource = "sales"

    @property
    def item_ids(self) -> list[str]:
        return list(pd.unique(self.items["unique_id"]))

    def hierarchy(self) -> pd.DataFrame:
        """Items, category sums and the total in one long frame ``unique_id, ds, y`` (bottom-up sums)."""
        return pd.concat(
            [self.items[["unique_id", "ds", "y"]], *aggregate_levels(self.items, self.category_of)],
            ignore_index=True,
        )


def category_key(path: Any, level: int = 1) -> str:
    """Category key of an item: its category path cut to ``level`` parts, joined with ``" > "``."""
    if path is None or (isinstance(path, float) and np.isnan(path)):
        return UNCATEGORISED
    if isinstance(path, str):
        parts = [p.strip() for p in path.replace("/", ">").split(">") if p.strip()]
    else:
        parts = [str(p) for p in path]
    if not parts:
        return UNCATEGORISED
    return " > ".join(parts[:level])


def _as_dates(values: pd.Series, where: str) -> pd.Series:
    try:
        ts = pd.to_datetime(values, utc=True, format="mixed")
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"unparseable date in {where}", value=str(exc), expected="ISO dates (YYYY-MM-DD)"
        ) from exc
    bad = ts.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"missing date in {where}", value=values.iloc[i], expected="a date", location=Location(line=i + 1)
        )
    return ts.dt.tz_localize(None).dt.normalize()


def sales_from_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Daily ``item_id, date, units, price, promo`` from order lines (sums quantity per item and day).

    Cancelled and returned lines are not demand and are dropped; price is the quantity-weighted
    mean unit price of the day.
    """
    if orders is None or orders.empty:
        return pd.DataFrame(columns=SALES_COLUMNS)
    o = orders
    if "status" in o.columns:
        o = o[~o["status"].astype(str).isin(NOT_DEMAND_STATUSES)]
    q = pd.to_numeric(o["quantity"], errors="coerce")
    _check_quantities(q, o["quantity"], "bad order-line quantity")
    price = pd.to_numeric(o.get("unit_price", np.nan), errors="coerce").to_numpy(dtype=float)
    return _daily_units(o["item_id"], _as_dates(o["created_at"], "orders.created_at"), q, price)


def sales_from_purchases(events: pd.DataFrame) -> pd.DataFrame:
    """Daily ``item_id, date, units, price, promo`` from purchase events (sums ``quantity`` per item
    and day; a missing quantity counts 1). Events carry no price, so ``price`` is NaN."""
    if events is None or events.empty:
        return pd.DataFrame(columns=SALES_COLUMNS)
    e = events
    if "type" in e.columns:
        e = e[e["type"].astype(str) == "purchase"]
    e = e[e["item_id"].notna()]
    q = (
        pd.to_numeric(e["quantity"], errors="coerce").fillna(1.0)
        if "quantity" in e.columns
        else pd.Series(1.0, index=e.index)
    )
    _check_quantities(q, e.get("quantity", q), "bad purchase-event quantity")
    return _daily_units(e["item_id"], _as_dates(e["timestamp"], "events.timestamp"), q, None)


SALES_COLUMNS = ["item_id", "date", "units", "price", "promo"]


def _check_quantities(q: pd.Series, raw: pd.Series, message: str) -> None:
    """``DataError`` naming the first line whose quantity is missing (NaN) or negative."""
    bad = (q.isna() | (q < 0)).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            message,
            value=raw.iloc[i],
            expected="a number >= 0",
            location=Location(field="quantity", line=i + 1),
        )


def _daily_units(
    item_ids: pd.Series, dates: pd.Series, units: pd.Series, unit_price: np.ndarray | None
) -> pd.DataFrame:
    """Units summed per item and day; ``price`` = the quantity-weighted mean ``unit_price`` (NaN without)."""
    q = units.to_numpy(dtype=float)
    frame = pd.DataFrame({"item_id": item_ids.astype(str).to_numpy(), "date": dates.to_numpy(), "units": q})
    if unit_price is None:
        g = frame.groupby(["item_id", "date"], as_index=False).agg(units=("units", "sum"))
        g["price"] = np.nan
    else:
        frame["revenue"] = q * unit_price
        g = frame.groupby(["item_id", "date"], as_index=False).agg(
            units=("units", "sum"), revenue=("revenue", "sum")
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            g["price"] = np.where(g["units"] > 0, g["revenue"] / g["units"], np.nan)
        g = g.drop(columns="revenue")
    g["promo"] = False
    return g


def _flags(values: pd.Series) -> np.ndarray:
    """Booleans from bools, numbers or text ("true"/"false", "yes"/"no", "1"/"0"); missing = False."""
    if values.dtype == bool:
        return values.to_numpy()
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "1.0", "yes", "y", "t"]).fillna(False).to_numpy(dtype=bool)


def validate_sales(sales: pd.DataFrame) -> pd.DataFrame:
    """Check and normalise a sales frame; raises :class:`DataError` on the first bad row.

    Returns ``item_id (str), date (datetime64, midnight), units (float), price (float|NaN), promo (bool)``.
    """
    missing = {"item_id", "date", "units"} - set(sales.columns)
    if missing:
        raise DataError(
            "sales frame lacks columns",
            value=sorted(missing),
            expected="item_id, date, units[, price, promo]",
        )
    out = pd.DataFrame(
        {
            "item_id": sales["item_id"].astype(str).to_numpy(),
            "date": _as_dates(sales["date"], "sales.date").to_numpy(),
            "units": pd.to_numeric(sales["units"], errors="coerce").to_numpy(dtype=float),
            "price": pd.to_numeric(sales["price"], errors="coerce").to_numpy(dtype=float)
            if "price" in sales.columns
            else np.nan,
            "promo": _flags(sales["promo"]) if "promo" in sales.columns else False,
        }
    )
    units = out["units"].to_numpy()
    bad = ~np.isfinite(units) | (units < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"item {out['item_id'].iloc[i]!r} on {out['date'].iloc[i].date()}: invalid units",
            value=sales["units"].iloc[i],
            expected="a finite number >= 0 (returns are not negative sales; record them as orders)",
            location=Location(field="units", line=i + 1),
        )
    dup = out.duplicated(["item_id", "date"], keep=False).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        n = int(dup.sum())
        raise DataError(
            f"item {out['item_id'].iloc[i]!r} has {n} rows sharing a date, first on {out['date'].iloc[i].date()}",
            value=out["item_id"].iloc[i],
            expected="one sales row per (item_id, date) — aggregate before loading",
            location=Location(field="date", line=i + 1),
        )
    return out


def build_series(
    sales: pd.DataFrame | None,
    items: pd.DataFrame | None = None,
    *,
    orders: pd.DataFrame | None = None,
    purchases: pd.DataFrame | None = None,
    freq: Freq = "D",
    end: pd.Timestamp | str | None = None,
    category_level: int = 1,
    item_ids: Sequence[str] | None = None,
) -> DemandSeries:
    """Regular per-item demand series from the store's sales (or, when there are none, its orders;
    with neither, its purchase events).

    ``sales`` wins when it has rows: a shop that keeps a sales table has it complete, and adding
    order lines on top would count units twice. Likewise orders win over purchase events (a checkout
    usually emits both). ``end`` (default: last date seen) closes every
    series, so a product that stopped selling shows trailing zeros rather than stopping early.
    """
    if freq not in PANDAS_FREQ:
        raise DataError("unknown series frequency", value=freq, expected="'D' or 'W'")
    source: DemandSource
    if sales is not None and len(sales):
        s = validate_sales(sales)
        source = "sales"
    else:
        s = sales_from_orders(orders) if orders is not None else sales_from_orders(pd.DataFrame())
        source = "orders"
        if s.empty and purchases is not None and len(purchases):
            s = sales_from_purchases(purchases)
            source = "purchase_events"
    if item_ids is not None:
        s = s[s["item_id"].isin(set(map(str, item_ids)))]
    listed: dict[str, pd.Timestamp] = {}
    category_of: dict[str, str] = {}
    if items is not None and len(items):
        ids = items["id"].astype(str).to_numpy()
        cats = items["category"] if "category" in items.columns else pd.Series([None] * len(items))
        category_of = {i: category_key(c, category_level) for i, c in zip(ids, cats, strict=True)}
        if "created_at" in items.columns:
            created = pd.to_datetime(items["created_at"], utc=True, errors="coerce").dt.tz_localize(None)
            listed = {i: t.normalize() for i, t in zip(ids, created, strict=True) if not pd.isna(t)}
    if s.empty:
        log.warning("no %s rows to build demand series from", source)
        empty = pd.DataFrame(
            {
                "unique_id": pd.Series(dtype=str),
                "ds": pd.Series(dtype="datetime64[ns]"),
                "y": pd.Series(dtype=float),
                "price": pd.Series(dtype=float),
                "promo": pd.Series(dtype=bool),
            }
        )
        return DemandSeries(empty, category_of, freq, source)

    end_ts = pd.Timestamp(end).normalize() if end is not None else s["date"].max()
    s = s[s["date"] <= end_ts]
    if freq == "W":
        # Weeks end on Sunday; a date is assigned to the week that contains it.
        s = s.assign(date=s["date"] + pd.to_timedelta((6 - s["date"].dt.dayofweek) % 7, unit="D"))
        s = s.groupby(["item_id", "date"], as_index=False).agg(
            units=("units", "sum"), price=("price", "mean"), promo=("promo", "any")
        )
        end_ts = end_ts + pd.Timedelta(days=(6 - end_ts.dayofweek) % 7)

    first_sale = s.groupby("item_id")["date"].min()
    step = pd.Timedelta(days=1 if freq == "D" else 7)
    starts = []
    for item, first in first_sale.items():
        start = listed.get(str(item), first)
        start = min(start, first)
        if freq == "W":
            start = start + pd.Timedelta(days=(6 - start.dayofweek) % 7)
        starts.append((str(item), start))
    # Vectorised calendar: one block of periods per item from its start to the common end.
    ids_arr = np.array([i for i, _ in starts], dtype=object)
    start_arr = np.array([t for _, t in starts], dtype="datetime64[ns]")
    span = np.asarray(np.datetime64(end_ts, "ns") - start_arr)
    n_per = (span // np.timedelta64(step)).astype(np.int64) + 1
    n_per = np.maximum(n_per, 1)
    offsets = np.arange(n_per.sum()) - np.repeat(np.cumsum(n_per) - n_per, n_per)
    grid = pd.DataFrame(
        {
            "unique_id": np.repeat(ids_arr, n_per),
            "ds": np.repeat(start_arr, n_per) + offsets * np.timedelta64(step),
        }
    )
    merged = grid.merge(
        s.rename(columns={"item_id": "unique_id", "date": "ds", "units": "y"}),
        on=["unique_id", "ds"],
        how="left",
    )
    merged["y"] = merged["y"].fillna(0.0).astype(float)
    merged["promo"] = merged["promo"].astype("boolean").fillna(False).astype(bool)
    merged["price"] = merged.groupby("unique_id")["price"].transform(lambda p: p.ffill().bfill())
    merged = merged.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    for item in merged["unique_id"].unique():
        category_of.setdefault(str(item), UNCATEGORISED)
    log.info(
        "built %d %s demand series (%d rows) from %s up to %s",
        len(starts),
        "daily" if freq == "D" else "weekly",
        len(merged),
        source,
        end_ts.date(),
    )
    return DemandSeries(merged[["unique_id", "ds", "y", "price", "promo"]], category_of, freq, source)


def aggregate_levels(items: pd.DataFrame, category_of: dict[str, str]) -> list[pd.DataFrame]:
    """Category sums and the grand total of a long item frame (``unique_id, ds, y``), bottom-up.

    Category ids are ``"category:<key>"``, the total is ``"__total__"``. Items missing at a date
    (not listed yet) contribute nothing there.
    """
    cat = items["unique_id"].map(category_of).fillna(UNCATEGORISED)
    by_cat = (
        items.assign(unique_id=CATEGORY_PREFIX + cat).groupby(["unique_id", "ds"], as_index=False)["y"].sum()
    )
    total = items.groupby("ds", as_index=False)["y"].sum().assign(unique_id=TOTAL_ID)
    return [by_cat, total[["unique_id", "ds", "y"]]]


def series_from_store(
    store: Any, *, freq: Freq = "D", category_level: int = 1, set_aside: Any = None, **kwargs: Any
) -> DemandSeries:
    """:func:`build_series` on a store's ``sales_frame()``, ``orders_frame()`` and ``items_frame()``,
    and its purchase events when it has neither sales nor orders.

    ``set_aside``: a :class:`shopmind.data.setaside.SetAside` that counts the stored records the
    store's readers left out.
    """
    sales = store.sales_frame()
    items = store.items_frame()
    orders = store.orders_frame() if sales is None or sales.empty else None
    purchases = None
    if (sales is None or sales.empty) and (orders is None or orders.empty):
        purchases = store.events_frame(types=["purchase"])
    if set_aside is not None:
        set_aside.gather(sales, items, orders, purchases)
    return build_series(
        sales,
        items,
        orders=orders,
        purchases=purchases,
        freq=freq,
        category_level=category_level,
        **kwargs,
    )
