"""Conversions between store rows and the data schema, and the shared helpers of the queries."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shopmind.data import setaside
from shopmind.data.schema import (
    Item,
    Order,
)
from shopmind.errors import DataError
from shopmind.privacy import redact_value
from shopmind.store.base import ApiKeyRecord
from shopmind.store.tables import EVENT_COLUMNS, UtcMicros, to_micros

IN_CHUNK = 900  # ids per IN (...) list: below SQLite's historic 999-variable limit


def in_chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def none_if_nan(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def dedupe_last(rows: list[dict[str, Any]], key: tuple[str, ...]) -> tuple[list[dict[str, Any]], int]:
    """Keep the last row per key (a batch naming one id twice means "the latest wins")."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        out[tuple(row[k] for k in key)] = row
    return list(out.values()), len(rows) - len(out)


def quote_ident(name: str) -> str:
    return f'"{name}"'


def item_row(item: Item) -> dict[str, Any]:
    return item.model_dump()


def item_from_row(row: dict[str, Any]) -> Item:
    return Item.model_validate(row)


def order_row(order: Order) -> dict[str, Any]:
    row = order.model_dump()
    row["status"] = order.status.value
    row["lines"] = [line.model_dump() for line in order.lines]
    return row


def redacted_transcript(transcript: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ticket transcript as JSON-ready dicts with PII redacted from each turn's ``text``."""
    out = json.loads(json.dumps(transcript, default=str))
    return [
        {**turn, "text": redact_value(turn["text"])} if isinstance(turn, dict) and "text" in turn else turn
        for turn in out
    ]


def key_from_row(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row["id"],
        name=row["name"],
        scopes=tuple(row["scopes"]),
        key_hash=row["key_hash"],
        prefix=row["prefix"],
        user_id=row["user_id"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def same_row(old: dict[str, Any], new: dict[str, Any]) -> bool:
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, datetime) and isinstance(before, datetime):
            if to_micros(value) != to_micros(before):
                return False
        elif value != before:
            return False
    return True


def table_frame(conn: Connection, stmt: Any, table: sa.Table) -> pd.DataFrame:
    """Rows as a frame; time columns come back as raw microseconds for vectorised conversion."""
    cols = [
        sa.type_coerce(c, sa.BigInteger).label(c.name) if isinstance(c.type, UtcMicros) else c
        for c in table.columns
    ]
    rows = conn.execute(stmt.with_only_columns(*cols)).all()
    return pd.DataFrame(rows, columns=[c.name for c in table.columns])


def table_frame_lenient(
    conn: Connection, stmt: Any, table: sa.Table, kind: str
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """:func:`table_frame`, but a row whose JSON column does not parse is left out and returned as set aside."""
    try:
        return table_frame(conn, stmt, table), []
    except ValueError:  # json.JSONDecodeError of one row: decode row by row below
        pass
    unreadable: list[dict[str, Any]] = []
    cols = [
        sa.type_coerce(c, sa.BigInteger).label(c.name) if isinstance(c.type, UtcMicros) else c
        for c in table.columns
    ]
    rows = list(rows_lenient(conn, stmt.with_only_columns(*cols), table, kind, unreadable))
    return pd.DataFrame(rows, columns=[c.name for c in table.columns]), unreadable


def rows_lenient(
    conn: Connection, stmt: Any, table: sa.Table, kind: str, unreadable: list[dict[str, Any]]
) -> Iterator[tuple[Any, ...]]:
    """Rows of ``stmt``; JSON columns decoded here, so a row that does not parse is skipped and
    recorded in ``unreadable`` (its first column is taken as its id) instead of failing the read."""
    selected = list(stmt.selected_columns)
    is_json = [
        isinstance(c.type, sa.JSON) or isinstance(getattr(c.type, "impl", None), sa.JSON) for c in selected
    ]
    if not any(is_json) or conn.dialect.name != "sqlite":  # PostgreSQL checks JSON when it is written
        yield from conn.execute(stmt)
        return
    raw = stmt.with_only_columns(
        *[
            sa.type_coerce(c, sa.Text).label(c.name) if j else c
            for c, j in zip(selected, is_json, strict=True)
        ]
    )
    for row in conn.execute(raw):
        try:
            yield tuple(
                (v if not isinstance(v, str) else json.loads(v)) if j else v
                for v, j in zip(row, is_json, strict=True)
            )
        except ValueError as exc:
            unreadable.append(setaside.record(kind, row[0], f"stored JSON does not parse: {exc}"))


def raw_frame(conn: Connection, stmt: Any, cols: list[str], *, time_cols: tuple[str, ...]) -> pd.DataFrame:
    sel = [
        sa.type_coerce(c, sa.BigInteger).label(c.name) if c.name in time_cols else c
        for c in stmt.selected_columns
    ]
    frame = pd.DataFrame(conn.execute(stmt.with_only_columns(*sel)).all(), columns=cols)
    for c in time_cols:
        frame[c] = micros_to_datetime(frame[c])
    return frame


def micros_to_datetime(col: pd.Series) -> pd.Series:
    return pd.to_datetime(pd.to_numeric(col, errors="coerce").astype("Int64"), unit="us", utc=True)


def event_columns(frame: pd.DataFrame) -> list[list[Any]]:
    """Event columns as Python lists in ``EVENT_COLUMNS`` order, NULLs as None, time in µs."""
    n = len(frame)
    missing = {"id", "user_id", "type", "timestamp"} - set(frame.columns)
    if missing:
        raise DataError("events frame lacks columns", value=sorted(missing), expected=str(EVENT_COLUMNS))
    out: list[list[Any]] = []
    for name in EVENT_COLUMNS:
        if name not in frame.columns:
            out.append([1] * n if name == "quantity" else [None] * n)
            continue
        col = frame[name]
        if name == "timestamp":
            out.append(timestamps_to_micros(col).tolist())
        elif name == "value":
            values = pd.to_numeric(col, errors="raise").astype("float64").to_numpy()
            out.append([None if np.isnan(v) else v for v in values.tolist()])
        elif name == "quantity":
            out.append(pd.to_numeric(col).fillna(1).astype("int64").tolist())
        else:
            obj = col.astype(object)
            if col.isna().any():
                obj = obj.where(col.notna(), None)
            if name == "type":
                obj = obj.map(lambda t: getattr(t, "value", t))
            out.append(obj.tolist())
    return out


def timestamps_to_micros(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = col.dt.tz_localize("UTC") if col.dt.tz is None else col.dt.tz_convert("UTC")
        micros: np.ndarray = ts.dt.as_unit("us").astype("int64").to_numpy()
        return micros
    if pd.api.types.is_numeric_dtype(col):
        seconds: np.ndarray = col.astype("float64").to_numpy()
        return (seconds * 1_000_000).round().astype("int64")
    parsed = pd.to_datetime(col, utc=True, errors="coerce", format="mixed")
    if parsed.isna().any():
        raise DataError(
            "unparseable event timestamps",
            value=col[parsed.isna()].head(3).tolist(),
            expected="UTC datetimes",
        )
    parsed_micros: np.ndarray = parsed.dt.as_unit("us").astype("int64").to_numpy()
    return parsed_micros
