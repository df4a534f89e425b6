"""Stored records that cannot be read are set aside, never fatal: screening and the per-training tally.

Everything the API and file ingest write is validated, but a store can still hold records that no
longer read back: rows written by an older version with looser limits, rows changed by hand with SQL
(SQLite keeps any value in any column), a JSON column that does not parse. One such record must not
take a capability down, so the store's bulk readers (``SqlStore.items_frame``, ``load_dataset``,
``events_frame``, ``orders_frame``, ``sales_frame``) screen what they read with the functions below,
leave the bad records out and name them in the returned frame's ``attrs["set_aside"]`` (a list of
``{"kind", "id", "reason"}``; a :class:`~shopmind.data.dataset.Dataset` has ``set_aside``). Each
training component gathers them in a :class:`SetAside`, logs them, and writes the summary next to its
artifacts (:func:`write_summary`); the serving service shows it in ``/admin/status`` and the dashboard.

The screens are vectorised over columns (pandas/numpy), except the JSON shape checks of item
categories and order lines, which look at each decoded value once.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

ATTRS_KEY = "set_aside"
MAX_LISTED = 20
"""Examples kept per training (the count covers all)."""
FILE_NAME = "set_aside.json"

Record = dict[str, Any]


def record(kind: str, record_id: Any, reason: str) -> Record:
    return {"kind": kind, "id": None if record_id is None else str(record_id)[:128], "reason": reason[:300]}


def attach(frame: pd.DataFrame, records: Sequence[Record]) -> pd.DataFrame:
    """``frame`` with ``records`` appended to ``frame.attrs["set_aside"]``."""
    if records:
        frame.attrs[ATTRS_KEY] = [*frame.attrs.get(ATTRS_KEY, []), *records]
    return frame


def of(obj: Any) -> list[Record]:
    """The records set aside while reading ``obj`` (a frame from the store, or a Dataset)."""
    if isinstance(obj, pd.DataFrame):
        return list(obj.attrs.get(ATTRS_KEY, []))
    return list(getattr(obj, ATTRS_KEY, None) or [])


class SetAside:
    """Tally of the stored records one training left out: a count per kind and the first examples."""

    def __init__(self, component: str) -> None:
        self.component = component
        self.counts: Counter[str] = Counter()
        self.listed: list[Record] = []
        self._seen: set[tuple[str, str | None, str]] = set()

    def add(self, records: Iterable[Record]) -> None:
        for r in records:
            key = (r["kind"], r["id"], r["reason"])
            if key in self._seen:  # the same row read twice (e.g. items for the dataset and the catalogue)
                continue
            self._seen.add(key)
            self.counts[r["kind"]] += 1
            if len(self.listed) < MAX_LISTED:
                self.listed.append(r)
                log.warning(
                    "%s: stored %s %r set aside (left out of training until it is fixed): %s",
                    self.component,
                    r["kind"],
                    r["id"],
                    r["reason"],
                )

    def gather(self, *sources: Any) -> SetAside:
        """Add what each frame / Dataset in ``sources`` set aside; returns self."""
        for src in sources:
            if src is not None:
                self.add(of(src))
        return self

    @property
    def total(self) -> int:
        return int(sum(self.counts.values()))

    def summary(self) -> dict[str, Any]:
        """``{"count", "by_kind", "items": [{"kind", "id", "reason"}]}`` (the shape of search's summary)."""
        if self.total:
            log.warning("%s: %d stored records set aside: %s", self.component, self.total, dict(self.counts))
        return {"count": self.total, "by_kind": dict(self.counts), "items": list(self.listed)}


def write_summary(out_dir: Path, summary: Mapping[str, Any]) -> None:
    """Save a non-empty summary as ``set_aside.json`` in a component's artifact folder."""
    if summary.get("count"):
        (Path(out_dir) / FILE_NAME).write_text(
            json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
        )


def read_summary(path: Path) -> dict[str, Any]:
    """The summary saved by :func:`write_summary` in an artifact folder; an empty one when none."""
    file = Path(path) / FILE_NAME
    if not file.is_file():
        return {"count": 0, "by_kind": {}, "items": []}
    return dict(json.loads(file.read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------- screens
def _reasons(frame: pd.DataFrame, checks: Sequence[tuple[np.ndarray, str]]) -> pd.Series:
    """The first failing check's reason per row (None where every check passes)."""
    if not checks:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    conds = [np.asarray(c, dtype=bool) for c, _ in checks]
    out = np.select(conds, [why for _, why in checks], default="").astype(object)
    out[out == ""] = None
    return pd.Series(out, index=frame.index, dtype=object)


def _numeric(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(values as float64, mask of values given but not a finite number)."""
    num = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()
    given = col.notna().to_numpy()
    return num, given & ~np.isfinite(num)


def screen_events(frame: pd.DataFrame, event_types: Iterable[str]) -> pd.Series:
    """Why each event row cannot be used (None when it can): unknown type, value, timestamp.

    ``timestamp`` is the raw stored column (integer epoch microseconds); ``value`` may be null.
    """
    checks: list[tuple[np.ndarray, str]] = []
    if "type" in frame:
        checks.append((~frame["type"].isin(list(event_types)).to_numpy(), "unknown event type"))
    if "value" in frame:
        checks.append((_numeric(frame["value"])[1], "value is not a finite number"))
    if "quantity" in frame:
        q = pd.to_numeric(frame["quantity"], errors="coerce").to_numpy(dtype="float64")
        checks.append(
            (~np.isfinite(q) | (q != np.floor(q)) | (np.abs(q) > 2**53), "quantity is not an integer")
        )
    if "timestamp" in frame:
        ts = pd.to_numeric(frame["timestamp"], errors="coerce").to_numpy(dtype="float64")
        bad_ts = ~np.isfinite(ts) | (ts != np.floor(ts)) | (np.abs(ts) > 2**62)
        checks.append((bad_ts, "timestamp is not a stored time"))
    return _reasons(frame, checks)


def screen_sales(frame: pd.DataFrame) -> pd.Series:
    """Why each raw sales row cannot be used: units not a finite number >= 0, bad date, bad price."""
    units, _ = _numeric(frame["units"])
    price, bad_price = _numeric(frame["price"])
    dates = pd.to_datetime(frame["date"], errors="coerce", format="ISO8601")
    return _reasons(
        frame,
        [
            (~np.isfinite(units) | (units < 0), "units is not a finite number >= 0"),
            (dates.isna().to_numpy(), "date is not a date"),
            (bad_price | (np.nan_to_num(price) < 0), "price is not a finite number >= 0"),
        ],
    )


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def screen_items(frame: pd.DataFrame) -> pd.Series:
    """Why each decoded item row cannot be used: category not a list of strings, attributes not an
    object, title not text, price or stock not a finite number."""
    checks: list[tuple[np.ndarray, str]] = []
    if "category" in frame:
        checks.append(
            (~frame["category"].map(_is_str_list).to_numpy(dtype=bool), "category is not a list of texts")
        )
    if "attributes" in frame:
        ok = frame["attributes"].map(lambda a: isinstance(a, dict)).to_numpy(dtype=bool)
        checks.append((~ok, "attributes is not a JSON object"))
    if "title" in frame:
        checks.append(
            (~frame["title"].map(lambda t: isinstance(t, str)).to_numpy(dtype=bool), "title is not text")
        )
    for col in ("price", "stock"):
        if col in frame:
            checks.append((_numeric(frame[col])[1], f"{col} is not a finite number"))
    return _reasons(frame, checks)


def order_lines(lines: Any) -> list[tuple[str, int, float]]:
    """``(item_id, quantity, unit_price)`` of a stored order's lines; :class:`ValueError` saying why not."""
    if not isinstance(lines, list):
        raise ValueError("lines is not a list")
    out = []
    for n, line in enumerate(lines):
        if not isinstance(line, dict):
            raise ValueError(f"line {n} is not an object")
        item, qty, price = line.get("item_id"), line.get("quantity"), line.get("unit_price")
        if not isinstance(item, str) or not item:
            raise ValueError(f"line {n}: item_id is not a text")
        if (
            isinstance(qty, bool)
            or not isinstance(qty, int | float)
            or qty != qty
            or int(qty) != qty
            or qty < 1
        ):
            raise ValueError(f"line {n}: quantity is not an integer >= 1")
        if (
            isinstance(price, bool)
            or not isinstance(price, int | float)
            or not math.isfinite(price)
            or price < 0
        ):
            raise ValueError(f"line {n}: unit_price is not a finite number >= 0")
        out.append((item, int(qty), float(price)))
    return out


def split(
    frame: pd.DataFrame, reasons: pd.Series, kind: str, id_col: str | Sequence[str] | None = "id"
) -> pd.DataFrame:
    """``frame`` without the rows that have a reason, those named in ``attrs["set_aside"]``."""
    bad = reasons.notna().to_numpy()
    if not bad.any():
        return frame
    rejected = frame[bad]
    if id_col is None:
        ids: list[Any] = [None] * len(rejected)
    elif isinstance(id_col, str):
        ids = rejected[id_col].tolist()
    else:
        ids = ["/".join(str(v) for v in row) for row in rejected[list(id_col)].itertuples(index=False)]
    records = [record(kind, i, why) for i, why in zip(ids, reasons[bad].tolist(), strict=True)]
    kept = frame[~bad].reset_index(drop=True)
    kept.attrs = dict(frame.attrs)
    return attach(kept, records)


__all__ = [
    "ATTRS_KEY",
    "SetAside",
    "attach",
    "of",
    "order_lines",
    "read_summary",
    "record",
    "screen_events",
    "screen_items",
    "screen_sales",
    "split",
    "write_summary",
]
