"""Row validation for ingest: column-wise (pandas) for events, pydantic per row for the small kinds.

Both paths apply the rules of :mod:`shopmind.data.schema` and report every problem as an
:class:`Issue` naming the source line, the field, the value and what was expected. Rows with any
issue are rejected as a whole; the others are returned ready for the store.

Coercions (what a shop's export typically contains):

* empty cells are missing values, so model defaults apply;
* timestamps are ISO 8601 (with or without offset; naive = UTC) or unix epoch seconds
  (values >= 1e11 are taken as milliseconds — 1e11 seconds would be the year 5138);
* ``category`` may be a path string ``"A > B > C"`` or ``"A/B"``; ``tags`` a comma list;
* ``attributes`` may be a JSON object string, and any ``attr_<name>`` column becomes
  ``attributes[<name>]`` (numbers in CSV cells are parsed as numbers);
* order ``lines`` may be a JSON array, or the file has one row per line (``item_id, quantity,
  unit_price``) and rows are grouped by order ``id`` (or ``order_id``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from shopmind.data.schema import (
    ID_PATTERN,
    ITEM_EVENTS,
    JSON_MAX_BYTES,
    JSON_MAX_DEPTH,
    JSON_MAX_NODES,
    RECORD_TYPES,
    EventType,
    Record,
    error_field,
)

EVENT_TYPE_VALUES = tuple(t.value for t in EventType)
ITEM_EVENT_VALUES = tuple(t.value for t in ITEM_EVENTS)
ID_EXPECTED = "an id of 1-128 printable characters"
TIME_EXPECTED = "an ISO 8601 datetime or unix seconds"
TIME_FIELDS: dict[str, tuple[str, ...]] = {
    "items": ("created_at",),
    "users": ("created_at",),
    "events": ("timestamp",),
    "orders": ("created_at", "updated_at", "shipped_at", "delivered_at"),
    "reviews": ("created_at",),
    "documents": (),
    "sales": (),
}
JSON_FIELDS = {"attributes", "lines", "category", "tags"}
ORDER_LINE_FIELDS = ("item_id", "quantity", "unit_price")
STRING = "string[pyarrow]"


@dataclass(frozen=True)
class Issue:
    """One problem with one source row."""

    line: int
    field: str | None
    value: Any
    expected: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "field": self.field,
            "value": jsonable(self.value),
            "expected": self.expected,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", field '{self.field}'" if self.field else "")
        return f"{where}: {self.message} (got {jsonable(self.value)!r}, expected {self.expected})"


@dataclass
class Validated:
    """The outcome for one chunk: good rows for the store, issues per rejected row position."""

    records: list[Record] = field(default_factory=list)
    frame: pd.DataFrame | None = None
    good_positions: list[int] = field(default_factory=list)
    issues: dict[int, list[Issue]] = field(default_factory=dict)

    @property
    def n_good(self) -> int:
        return len(self.frame) if self.frame is not None else len(self.records)


@dataclass
class References:
    """Ids a row may refer to: the store's plus those accepted earlier in the same run."""

    item_ids: set[str]
    user_ids: set[str]
    check_users: bool = True
    _arrays: dict[str, tuple[int, Any]] = field(default_factory=dict, repr=False)

    def _array(self, name: str, ids: set[str]) -> Any:
        """The id set as an Arrow array, cached while the set's size is unchanged."""
        import pyarrow as pa

        cached = self._arrays.get(name)
        if cached is None or cached[0] != len(ids):
            cached = (len(ids), pa.array(list(ids), type=pa.string()))
            self._arrays[name] = cached
        return cached[1]

    def item_array(self) -> Any:
        return self._array("items", self.item_ids)

    def user_array(self) -> Any:
        return self._array("users", self.user_ids)


class SeenKeys:
    """Keys accepted so far in one file, as 64-bit hashes with the line that first had them.

    Hashes (8 bytes per row, :func:`pandas.util.hash_array`) instead of a set of strings keep a
    10M-row file's duplicate check in ~160 MB; a false duplicate needs a 64-bit collision.
    """

    def __init__(self) -> None:
        self._keys = np.zeros(0, dtype=np.uint64)
        self._lines = np.zeros(0, dtype=np.int64)

    def check(self, keys: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """First line of each key if already seen (earlier chunk or earlier in ``keys``), else -1."""
        if len(keys) == 0:
            return np.zeros(0, dtype=np.int64)
        h = pd.util.hash_array(np.asarray(keys, dtype=object))
        first = np.full(len(h), -1, dtype=np.int64)
        if len(self._keys):
            pos = np.searchsorted(self._keys, h)
            pos_c = np.minimum(pos, len(self._keys) - 1)
            hit = self._keys[pos_c] == h
            first[hit] = self._lines[pos_c[hit]]
        s = pd.Series(h)
        dup = s.duplicated(keep="first").to_numpy() & (first < 0)
        if dup.any():
            first_line = pd.Series(lines).groupby(h).transform("first").to_numpy()
            first[dup] = first_line[dup]
        return first

    def add(self, keys: np.ndarray, lines: np.ndarray) -> None:
        if len(keys) == 0:
            return
        h = pd.util.hash_array(np.asarray(keys, dtype=object))
        keys_all = np.concatenate([self._keys, h])
        lines_all = np.concatenate([self._lines, np.asarray(lines, dtype=np.int64)])
        order = np.argsort(keys_all, kind="stable")
        keys_all, lines_all = keys_all[order], lines_all[order]
        keep = np.ones(len(keys_all), dtype=bool)
        keep[1:] = keys_all[1:] != keys_all[:-1]
        self._keys, self._lines = keys_all[keep], lines_all[keep]

    def __len__(self) -> int:
        return len(self._keys)


# ---------------------------------------------------------------------------- shared helpers
def jsonable(value: Any) -> Any:
    """A JSON-safe copy of a cell value (NaN → None, numpy scalars → Python, datetimes → ISO)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def parse_timestamps(col: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """UTC datetimes from ISO strings / unix seconds (or ms) / datetimes; returns (parsed, bad mask).

    Offsets are honoured and naive values are UTC. Aware and naive strings are parsed separately
    because pandas would otherwise apply one row's offset to its naive neighbours.
    """
    n = len(col)
    index = col.index
    present = col.notna().to_numpy()
    out = pd.Series(pd.NaT, index=index, dtype="datetime64[us, UTC]")
    if n == 0 or not present.any():
        return out, np.zeros(n, dtype=bool)
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = col.dt.tz_localize("UTC") if col.dt.tz is None else col.dt.tz_convert("UTC")
        return ts.dt.as_unit("us"), np.zeros(n, dtype=bool)
    if pd.api.types.is_bool_dtype(col):
        return out, present
    if pd.api.types.is_numeric_dtype(col):
        num = col.astype("float64")
    elif (text := _all_text(col)) is not None:
        # Only strings (CSV): find unix-second cells with an Arrow regex, parse only those as numbers.
        numeric = text.str.fullmatch(r"[+-]?\d+(?:\.\d*)?").fillna(False).to_numpy(bool)
        num = pd.Series(np.nan, index=index, dtype="float64")
        if numeric.any():
            num[numeric] = pd.to_numeric(text[numeric].astype(object)).astype("float64")
    else:
        obj = col.astype(object)
        is_dt = obj.map(lambda v: isinstance(v, datetime)).to_numpy(bool)
        if is_dt.any():
            out.iloc[np.flatnonzero(is_dt)] = pd.to_datetime(obj[is_dt].tolist(), utc=True).as_unit("us")
        num = pd.to_numeric(
            obj.where(~is_dt, None).map(lambda v: v if not isinstance(v, bool) else None), errors="coerce"
        )
    num_ok = num.notna().to_numpy() & np.isfinite(num.fillna(0).to_numpy())
    if num_ok.any():
        secs = num[num_ok].to_numpy(dtype="float64")
        secs = np.where(np.abs(secs) >= 1e11, secs / 1000.0, secs)
        ok_range = np.abs(secs) < 2.5e11  # inside datetime64[us]
        vals = pd.to_datetime(
            np.where(ok_range, np.round(secs * 1e6), 0).astype("int64"), unit="us", utc=True
        )
        idx = np.flatnonzero(num_ok)
        out.iloc[idx[ok_range]] = vals[ok_range]
    rest = present & ~num_ok & out.isna().to_numpy()
    if rest.any():
        text = _str_col(pd.DataFrame({"t": col[rest]}), "t").fillna("")
        aware = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True, na=False)
        if aware.any():
            parsed = pd.to_datetime(text[aware], utc=True, errors="coerce", format="ISO8601")
            out.loc[parsed.index] = parsed.dt.as_unit("us")
        if (~aware).any():
            parsed = pd.to_datetime(text[~aware], errors="coerce", format="ISO8601")
            if parsed.dt.tz is None:
                parsed = parsed.dt.tz_localize("UTC")
            out.loc[parsed.index] = parsed.dt.tz_convert("UTC").dt.as_unit("us")
    bad = present & out.isna().to_numpy()
    return out, bad


def _str_col(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column as trimmed pandas strings with empty → NA (absent column → all NA)."""
    # Arrow-backed strings: strip, length, regex and isin run in Arrow's C++ kernels, not per row.
    if name not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype=STRING)
    col = frame[name]
    if pd.api.types.is_float_dtype(col):
        # Ids that went through a float column (NaN in Parquet/JSON) print as "12.0": undo that.
        whole = col.notna() & (col == col.round())
        s = col.astype(STRING)
        s[whole] = col[whole].astype("int64").astype(STRING)
    elif col.dtype == object:
        s = _object_to_string(col)
    else:
        s = col.astype(STRING)
    s = s.str.strip()
    return s.mask(s == "")


def _isin(s: pd.Series, values: Any) -> np.ndarray:
    """Membership of Arrow strings in an Arrow value set (pandas' ``isin`` rebuilds the set per call)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(s.array) if not hasattr(s.array, "_pa_array") else s.array._pa_array
    return np.asarray(pc.fill_null(pc.is_in(arr, value_set=values), False), dtype=bool)


def _all_text(col: pd.Series) -> pd.Series | None:
    """Trimmed Arrow strings if every non-missing cell of an object column is a str, else None."""
    import pyarrow as pa

    try:
        arr = pa.array(col.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return None
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=col.index).str.strip()


def _object_to_string(col: pd.Series) -> pd.Series:
    """Object column → Arrow strings; a direct conversion when every cell is a str or missing."""
    import pyarrow as pa

    try:
        arr = pa.array(col.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # numbers or nested values among the cells
        return col.map(_as_text, na_action="ignore").astype(STRING)
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=col.index)


def _as_text(value: Any) -> Any:
    return value if type(value) is str else str(jsonable(value))


def _bad_id(s: pd.Series) -> np.ndarray:
    present = s.notna()
    bad = (s.str.len() > 128) | s.str.contains(r"[\x00-\x1f]", regex=True)
    return (present & bad.fillna(False)).to_numpy(bool)


def _merge_issues(
    issues: dict[int, list[Issue]],
    mask: np.ndarray,
    lines: np.ndarray,
    field_: str | None,
    values: pd.Series | Sequence[Any] | None,
    expected: str,
    message: str,
) -> None:
    for pos in np.flatnonzero(mask).tolist():
        value = None if values is None else values.iloc[pos] if isinstance(values, pd.Series) else values[pos]
        issues.setdefault(pos, []).append(Issue(int(lines[pos]), field_, jsonable(value), expected, message))


# ---------------------------------------------------------------------------- events (vectorised)
def validate_events(frame: pd.DataFrame, lines: np.ndarray, refs: References, seen: SeenKeys) -> Validated:
    """Column-wise validation of an events chunk (the hot path of big files)."""
    n = len(frame)
    issues: dict[int, list[Issue]] = {}
    raw = frame

    def add(mask: np.ndarray, name: str, expected: str, message: str) -> None:
        values = raw[name] if name in raw.columns else None
        _merge_issues(issues, mask, lines, name, values, expected, message)

    cols = {c: _str_col(frame, c) for c in ("id", "user_id", "item_id", "type", "query", "session_id")}
    for name in ("id", "user_id", "type", "timestamp"):
        if name == "timestamp":
            missing = ~frame[name].notna().to_numpy() if name in frame.columns else np.ones(n, bool)
        else:
            missing = cols[name].isna().to_numpy()
        add(missing, name, "a value", f"{name} is required")
    for name in ("id", "user_id", "item_id", "session_id"):
        add(_bad_id(cols[name]), name, ID_EXPECTED, f"invalid {name}")

    etype = cols["type"].str.lower()
    bad_type = etype.notna().to_numpy() & ~etype.isin(EVENT_TYPE_VALUES).fillna(False).to_numpy(bool)
    add(bad_type, "type", f"one of {', '.join(EVENT_TYPE_VALUES)}", "unknown event type")
    needs_item = etype.isin(ITEM_EVENT_VALUES).fillna(False).to_numpy(bool)
    add(
        needs_item & cols["item_id"].isna().to_numpy(),
        "item_id",
        "an item id",
        "this event type needs item_id",
    )
    is_search = (etype == "search").fillna(False).to_numpy(bool)
    add(is_search & cols["query"].isna().to_numpy(), "query", "a search query", "a search event needs query")

    value = _numeric(frame, "value")
    value_given = frame["value"].notna().to_numpy() if "value" in frame.columns else np.zeros(n, bool)
    add(value_given & value.isna().to_numpy(), "value", "a number", "value is not a number")
    v_all = value.to_numpy(dtype="float64", na_value=np.nan)
    add(value.notna().to_numpy() & ~np.isfinite(v_all), "value", "a finite number", "value is not finite")
    add(
        (cols["query"].str.len() > 1000).fillna(False).to_numpy(bool),
        "query",
        "at most 1000 characters",
        "query too long",
    )
    is_rating = (etype == "rating").fillna(False).to_numpy(bool)
    v = value.to_numpy(dtype="float64", na_value=np.nan)
    bad_rating = is_rating & ~(value.notna().to_numpy() & (v >= 0) & (v <= 10))
    add(
        bad_rating & ~(value_given & value.isna().to_numpy()),
        "value",
        "a rating between 0 and 10",
        "a rating event needs value between 0 and 10",
    )

    qty = _numeric(frame, "quantity")
    qty_given = frame["quantity"].notna().to_numpy() if "quantity" in frame.columns else np.zeros(n, bool)
    q = qty.to_numpy(dtype="float64", na_value=np.nan)
    bad_qty = qty_given & ~(np.isfinite(q) & (q == np.round(q)) & (q >= 1) & (q <= 100_000))
    add(bad_qty, "quantity", "an integer between 1 and 100000", "invalid quantity")

    if "timestamp" in frame.columns:
        ts, bad_ts = parse_timestamps(frame["timestamp"])
        add(bad_ts, "timestamp", TIME_EXPECTED, "unparseable timestamp")
    else:
        ts = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")

    # References: only worth checking on rows that are otherwise well-formed.
    ok = np.ones(n, dtype=bool)
    ok[list(issues)] = False
    item = cols["item_id"]
    unknown_item = ok & item.notna().to_numpy() & ~_isin(item, refs.item_array())
    add(unknown_item, "item_id", "an item id in the catalogue", "unknown item id")
    if refs.check_users:
        user = cols["user_id"]
        unknown_user = ok & ~_isin(user, refs.user_array())
        add(unknown_user, "user_id", "a known user id (ingest users first)", "unknown user id")

    ok = np.ones(n, dtype=bool)
    ok[list(issues)] = False
    ids = cols["id"].to_numpy(dtype=object, na_value=None)
    first = seen.check(ids[ok], lines[ok])
    dup = np.zeros(n, dtype=bool)
    dup_first = np.full(n, -1, dtype=np.int64)
    dup[np.flatnonzero(ok)] = first >= 0
    dup_first[np.flatnonzero(ok)] = first
    for pos in np.flatnonzero(dup).tolist():
        issues.setdefault(pos, []).append(
            Issue(
                int(lines[pos]),
                "id",
                ids[pos],
                "a unique event id",
                f"duplicate event id in this file (first on line {int(dup_first[pos])})",
            )
        )
    ok &= ~dup
    seen.add(ids[ok], lines[ok])

    good = pd.DataFrame(
        {
            "id": cols["id"][ok].astype(object),
            "user_id": cols["user_id"][ok].astype(object),
            "item_id": cols["item_id"][ok].astype(object),
            "type": etype[ok].astype(object),
            "value": value[ok].astype("float64"),
            "quantity": qty[ok].fillna(1).astype("int64"),
            "query": cols["query"][ok].astype(object),
            "session_id": cols["session_id"][ok].astype(object),
            "timestamp": ts[ok],
        }
    ).reset_index(drop=True)
    for c in ("item_id", "query", "session_id"):
        good[c] = good[c].where(good[c].notna(), None)
    return Validated(frame=good, good_positions=np.flatnonzero(ok).tolist(), issues=issues)


TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "on"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "off"})


def validate_sales(frame: pd.DataFrame, lines: np.ndarray, refs: References, seen: SeenKeys) -> Validated:
    """Column-wise validation of sales rows (``item_id, date, units, [price], [promo]``).

    Sales histories are long (items × days), so they take the vectorised path like events.
    """
    n = len(frame)
    issues: dict[int, list[Issue]] = {}

    def add(mask: np.ndarray, name: str, expected: str, message: str) -> None:
        _merge_issues(
            issues, mask, lines, name, frame[name] if name in frame.columns else None, expected, message
        )

    item = _str_col(frame, "item_id")
    add(item.isna().to_numpy(), "item_id", "a value", "item_id is required")
    add(_bad_id(item), "item_id", ID_EXPECTED, "invalid item_id")
    if "date" in frame.columns:
        ts, bad = parse_timestamps(frame["date"])
        not_midnight = ts.notna().to_numpy() & (ts.dt.normalize() != ts).fillna(False).to_numpy(bool)
        add(bad | not_midnight, "date", "a date (YYYY-MM-DD)", "invalid date")
        add(~frame["date"].notna().to_numpy(), "date", "a value", "date is required")
    else:
        ts = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
        add(np.ones(n, dtype=bool), "date", "a value", "date is required")
    units = _numeric(frame, "units")
    units_given = frame["units"].notna().to_numpy() if "units" in frame.columns else np.zeros(n, bool)
    u = units.to_numpy(dtype="float64", na_value=np.nan)
    add(~units_given, "units", "a value", "units is required")
    add(units_given & ~(np.isfinite(u) & (u >= 0)), "units", "a number >= 0", "invalid units")
    price = _numeric(frame, "price")
    price_given = frame["price"].notna().to_numpy() if "price" in frame.columns else np.zeros(n, bool)
    pr = price.to_numpy(dtype="float64", na_value=np.nan)
    add(price_given & ~(np.isfinite(pr) & (pr >= 0)), "price", "a number >= 0", "invalid price")
    promo = np.zeros(n, dtype=bool)
    if "promo" in frame.columns:
        col = frame["promo"]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            num = col.astype("float64").to_numpy()
            bad_promo = col.notna().to_numpy() & ~np.isin(num, [0.0, 1.0])
            promo = np.nan_to_num(num) == 1.0
        else:
            words = _str_col(frame, "promo").str.lower()
            is_true = words.isin(TRUE_WORDS).fillna(False).to_numpy(bool)
            is_false = words.isin(FALSE_WORDS).fillna(False).to_numpy(bool)
            bad_promo = words.notna().to_numpy() & ~(is_true | is_false)
            promo = is_true
        add(bad_promo, "promo", "true or false", "invalid promo flag")

    ok = np.ones(n, dtype=bool)
    ok[list(issues)] = False
    add(ok & ~_isin(item, refs.item_array()), "item_id", "an item id in the catalogue", "unknown item id")
    ok[list(issues)] = False
    day = ts.dt.strftime("%Y-%m-%d").to_numpy(dtype=object, na_value="")
    keys = (item.fillna("").to_numpy(dtype=object) + "@" + day).astype(object)
    first = seen.check(keys[ok], lines[ok])
    idx = np.flatnonzero(ok)
    for pos, earlier in zip(idx[first >= 0].tolist(), first[first >= 0].tolist(), strict=True):
        issues.setdefault(pos, []).append(
            Issue(
                int(lines[pos]),
                "item_id+date",
                keys[pos],
                "a unique item_id+date",
                f"duplicate item_id+date in this file (first on line {int(earlier)})",
            )
        )
    ok[idx[first >= 0]] = False
    seen.add(keys[ok], lines[ok])
    good = pd.DataFrame(
        {
            "item_id": item[ok].astype(object).to_numpy(),
            "date": ts[ok].dt.tz_convert(None).dt.normalize().to_numpy(),
            "units": u[ok],
            "price": pr[ok],
            "promo": promo[ok],
        }
    )
    return Validated(frame=good, good_positions=np.flatnonzero(ok).tolist(), issues=issues)


def _numeric(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    col = frame[name]
    if pd.api.types.is_bool_dtype(col):
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    if pd.api.types.is_numeric_dtype(col):
        return col.astype("float64")
    obj = col.astype(object).map(
        lambda v: v.strip() if isinstance(v, str) else (None if isinstance(v, bool) else v)
    )
    return pd.to_numeric(obj, errors="coerce").astype("float64")


def event_ids_for(frame: pd.DataFrame) -> pd.Series:
    """Deterministic ids for files without an ``id`` column: a hash of the event's content.

    Re-ingesting the same export then stays idempotent; two identical events (same user, item,
    type, value, query, session and timestamp) collapse into one.
    """
    parts = [
        c
        for c in ("user_id", "item_id", "type", "value", "quantity", "query", "session_id", "timestamp")
        if c in frame.columns
    ]
    content = frame[parts].astype("string").fillna("\x00")
    h = pd.util.hash_pandas_object(content, index=False).to_numpy(np.uint64)
    h2 = pd.util.hash_pandas_object(content.iloc[:, ::-1], index=False).to_numpy(np.uint64)
    return pd.Series(
        [f"h{a:016x}{b:016x}" for a, b in zip(h.tolist(), h2.tolist(), strict=True)],
        index=frame.index,
        dtype=object,
    )


# ---------------------------------------------------------------------------- small kinds (pydantic)
def _expected_from_error(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "a value (required)"
    if kind in ("greater_than_equal", "greater_than"):
        return f"a number {'>=' if kind.endswith('equal') else '>'} {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"a number {'<=' if kind.endswith('equal') else '<'} {ctx.get('le', ctx.get('lt'))}"
    if kind == "string_pattern_mismatch":
        return ID_EXPECTED if ctx.get("pattern") == ID_PATTERN else f"text matching {ctx.get('pattern')}"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "a number"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "an integer"
    if kind in ("bool_parsing", "bool_type"):
        return "true or false"
    if kind.startswith("date"):
        return "a date (YYYY-MM-DD)"
    if kind.startswith("datetime"):
        return TIME_EXPECTED
    if kind == "enum":
        return f"one of {ctx.get('expected')}"
    if kind == "string_too_short":
        return "non-empty text"
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        return f"at least {ctx.get('min_length')} entries"
    if kind == "extra_forbidden":
        return "a known field"
    if kind in ("dict_type", "list_type"):
        return "a JSON object" if kind == "dict_type" else "a JSON array"
    if kind == "json_limit":
        return (
            f"JSON nested at most {JSON_MAX_DEPTH} levels, with at most {JSON_MAX_NODES} keys and "
            f"elements and {JSON_MAX_BYTES} bytes"
        )
    return str(err.get("msg", "a valid value"))


def _brief(value: Any, limit: int = 200) -> Any:
    """A cell value for an issue report; a container whose JSON exceeds ``limit`` characters (or is
    nested too deep to walk) becomes its JSON text cut at ``limit``."""
    if not isinstance(value, dict | list | tuple | np.ndarray):
        return jsonable(value)
    try:
        text = json.dumps(jsonable(value), ensure_ascii=False, default=str)
    except (RecursionError, ValueError):
        return f"<{type(value).__name__} too deeply nested to show>"
    return jsonable(value) if len(text) <= limit else text[:limit] + "…"


def _cell(value: Any) -> Any:
    """A cell without NA: None for missing, stripped strings, Python scalars (fast paths first)."""
    if value is None:
        return None
    kind = type(value)
    if kind is str:
        text = value.strip()
        return text or None
    if kind is float:
        return None if value != value else value  # NaN != NaN
    if kind in (int, bool, dict, list):
        return value
    value = jsonable(value)
    if isinstance(value, str):
        return value.strip() or None
    return value


def _parse_json_cell(value: Any, want: type) -> tuple[Any, bool]:
    """A JSON-encoded cell (``'{"a": 1}'``) as an object; returns (value, ok)."""
    if isinstance(value, want):
        return value, True
    if isinstance(value, np.ndarray):  # Parquet lists
        return [jsonable(v) for v in value.tolist()], want is list
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[{":
            try:
                parsed = json.loads(text)
            except (json.JSONDecodeError, RecursionError):  # nesting beyond the parser's stack
                return value, False
            return parsed, isinstance(parsed, want)
    return value, False


def _attr_value(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        for cast in (int, float):
            try:
                return cast(text)
            except ValueError:
                continue
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        return text
    return value


def prepare_rows(
    kind: str, frame: pd.DataFrame, lines: np.ndarray
) -> tuple[list[dict[str, Any]], dict[int, list[Issue]], list[str]]:
    """Coerce a chunk of a small kind into dicts for the pydantic model.

    Returns the row dicts (missing values dropped), issues found while coercing (by position) and
    the names of ignored columns.
    """
    model = RECORD_TYPES[kind]
    fields = set(model.model_fields)
    issues: dict[int, list[Issue]] = {}
    attr_cols = [c for c in frame.columns if c.startswith("attr_")] if "attributes" in fields else []
    extra_ok = set(ORDER_LINE_FIELDS) | {"order_id"} if kind == "orders" else set()
    ignored = [c for c in frame.columns if c not in fields and c not in attr_cols and c not in extra_ok]
    time_cols = {}
    for name in TIME_FIELDS.get(kind, ()):
        if name in frame.columns:
            parsed, bad = parse_timestamps(frame[name])
            _merge_issues(issues, bad, lines, name, frame[name], TIME_EXPECTED, f"unparseable {name}")
            time_cols[name] = parsed
    use = [c for c in frame.columns if c not in ignored and c not in attr_cols]
    records = frame[use].to_dict("records") if use else [{} for _ in range(len(frame))]
    attrs = frame[attr_cols].to_dict("records") if attr_cols else None
    rows: list[dict[str, Any]] = []
    for pos, rec in enumerate(records):
        row: dict[str, Any] = {}
        for key, raw_value in rec.items():
            if key in time_cols:
                ts = time_cols[key].iloc[pos]
                if not pd.isna(ts):
                    row[key] = ts.to_pydatetime()
                continue
            value = _cell(raw_value)
            if value is None:
                continue
            if key in ("attributes", "lines") and not isinstance(value, dict | list):
                want: type = dict if key == "attributes" else list
                value, ok = _parse_json_cell(value, want)
                if not ok:
                    issues.setdefault(pos, []).append(
                        Issue(
                            int(lines[pos]),
                            key,
                            jsonable(raw_value),
                            "a JSON object" if want is dict else "a JSON array",
                            f"{key} is not valid JSON",
                        )
                    )
                    continue
            elif key in ("category", "tags") and isinstance(value, str) and value.startswith("["):
                value, _ok = _parse_json_cell(value, list)
            elif key in ("category", "tags") and isinstance(value, np.ndarray):
                value = [jsonable(v) for v in value.tolist()]
            row[key] = value
        if attrs is not None:
            extra = {k[5:]: _attr_value(_cell(v)) for k, v in attrs[pos].items() if _cell(v) is not None}
            if extra:
                current = row.get("attributes")
                base: dict[str, Any] = current if isinstance(current, dict) else {}
                row["attributes"] = {**base, **extra}
        rows.append(row)
    return rows, issues, ignored


def issues_from_validation_error(
    exc: ValidationError, line_of: Callable[[tuple[Any, ...]], int]
) -> list[Issue]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err.get("loc", ()))
        name = error_field(err)
        value = None if err.get("type") == "missing" else err.get("input")
        if isinstance(value, dict) and loc == ():
            value = None
        out.append(
            Issue(line_of(loc), name, _brief(value), _expected_from_error(dict(err)), str(err.get("msg", "")))
        )
    return out


def group_order_rows(
    rows: list[dict[str, Any]], lines: np.ndarray, issues: dict[int, list[Issue]]
) -> tuple[list[dict[str, Any]], list[list[int]]]:
    """One-row-per-line order files → one dict per order with ``lines``; returns orders + their row positions."""
    groups: dict[str, list[int]] = {}
    orders: list[dict[str, Any]] = []
    members: list[list[int]] = []
    for pos, row in enumerate(rows):
        oid = row.get("id", row.get("order_id"))
        if oid is None:
            issues.setdefault(pos, []).append(
                Issue(int(lines[pos]), "id", None, "an order id", "id is required")
            )
            continue
        groups.setdefault(str(oid), []).append(pos)
    for oid, positions in groups.items():
        head = {k: v for k, v in rows[positions[0]].items() if k not in ORDER_LINE_FIELDS and k != "order_id"}
        head["id"] = oid
        head["lines"] = [{k: rows[p][k] for k in ORDER_LINE_FIELDS if k in rows[p]} for p in positions]
        orders.append(head)
        members.append(positions)
    return orders, members
