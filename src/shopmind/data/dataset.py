"""The immutable training input shared by every model.

A :class:`Dataset` is built once (from the store, a loader or data frames) and hands out:

* ``users`` / ``items`` — :class:`Vocabulary` id maps;
* ``interactions`` — one row per event as numpy columns (user, item, type, value, timestamp);
* :meth:`matrix` — the CSR user×item matrix ``R[u, i] = Σ_e w(type_e) · 0.5^((now − t_e)/h)``
  with configurable event weights and half-life ``h`` (no decay when ``h`` is ``None``);
* :meth:`ratings` — explicit ratings as CSR (the user's last rating of an item wins);
* :meth:`sequences` — per-user, time-ordered item sequences;
* ``item_table`` / ``user_table`` — item and user features as data frames in index order.

Algorithms never read files or data frames of events themselves; splits (``subset``) keep the
vocabularies so that indices stay comparable between train and test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopmind.data.schema import EventType
from shopmind.data.vocabulary import Vocabulary
from shopmind.errors import ConfigError, DataError

EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)
EVENT_CODE: dict[str, int] = {t: i for i, t in enumerate(EVENT_TYPES)}

DEFAULT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "click": 1.0,
    "wishlist": 2.0,
    "cart": 3.0,
    "purchase": 5.0,
    "rating": 1.0,  # multiplied by the rating value when ``rating_as_value``
    "review": 2.0,
}

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class EventWeights:
    """How events become interaction strength.

    ``weights[type]`` is the base weight of an event type (types absent count 0);
    ``rating_as_value`` multiplies rating events by their value; ``half_life_days`` applies the time
    decay ``0.5^((now − t)/half_life)`` with ``now`` = the dataset's last timestamp unless given.
    ``binary`` clips the aggregated matrix to 1 (presence only).
    """

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    rating_as_value: bool = True
    half_life_days: float | None = None
    now: float | None = None
    binary: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(EVENT_TYPES)
        if unknown:
            raise ConfigError(
                "unknown event types in weights", value=sorted(unknown), expected=str(EVENT_TYPES)
            )
        if any(w < 0 for w in self.weights.values()):
            raise ConfigError("event weights must be >= 0", value=dict(self.weights))
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise ConfigError("half_life_days must be > 0", value=self.half_life_days)

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": dict(self.weights),
            "rating_as_value": self.rating_as_value,
            "half_life_days": self.half_life_days,
            "now": self.now,
            "binary": self.binary,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EventWeights:
        return cls(**dict(d))


class Dataset:
    """Immutable interactions + id maps + item/user features. See the module docstring."""

    def __init__(
        self,
        users: Vocabulary,
        items: Vocabulary,
        user_idx: np.ndarray,
        item_idx: np.ndarray,
        event_type: np.ndarray,
        value: np.ndarray,
        timestamp: np.ndarray,
        *,
        item_table: pd.DataFrame | None = None,
        user_table: pd.DataFrame | None = None,
        weights: EventWeights | None = None,
    ) -> None:
        n = len(user_idx)
        cols = {"item_idx": item_idx, "event_type": event_type, "value": value, "timestamp": timestamp}
        for name, col in cols.items():
            if len(col) != n:
                raise DataError(f"column {name} has {len(col)} rows", expected=f"{n} rows like user_idx")
        self.users = users
        self.items = items
        # stored records left out when this dataset was read from a store (shopmind.data.setaside)
        self.set_aside: list[dict[str, Any]] = []
        self.user_idx = np.ascontiguousarray(user_idx, dtype=np.int32)
        self.item_idx = np.ascontiguousarray(item_idx, dtype=np.int32)
        self.event_type = np.ascontiguousarray(event_type, dtype=np.int8)
        self.value = np.ascontiguousarray(value, dtype=np.float32)
        self.timestamp = np.ascontiguousarray(timestamp, dtype=np.int64)
        if n and (self.user_idx.min() < 0 or self.user_idx.max() >= len(users)):
            raise DataError("user index out of range of the user vocabulary")
        if n and (self.item_idx.min() < 0 or self.item_idx.max() >= len(items)):
            raise DataError("item index out of range of the item vocabulary")
        for arr in (self.user_idx, self.item_idx, self.event_type, self.value, self.timestamp):
            arr.flags.writeable = False
        self.item_table = _align(item_table, items, "item")
        self.user_table = _align(user_table, users, "user")
        self.weights = weights or EventWeights()

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_frame(
        cls,
        events: pd.DataFrame,
        *,
        items: pd.DataFrame | None = None,
        users: pd.DataFrame | None = None,
        weights: EventWeights | None = None,
        item_vocab: Vocabulary | None = None,
        user_vocab: Vocabulary | None = None,
    ) -> Dataset:
        """Build from an events frame with columns ``user_id, item_id, type, [value], timestamp``.

        ``type`` defaults to ``rating`` when a ``rating`` column is present, else ``view``.
        ``timestamp`` may be datetimes or unix seconds. Item/user frames are indexed by ``id`` (or
        have an ``id`` column); the vocabularies cover catalogue items and every id seen in events,
        catalogue order first, so items nobody touched still get an index (content models serve them).
        Rows whose item is missing (search events) are dropped from interactions.
        """
        ev = events
        if "item_id" in ev:
            ev = ev[ev["item_id"].notna()]
        missing = {"user_id", "item_id"} - set(ev.columns)
        if missing:
            raise DataError("events frame lacks columns", value=sorted(missing), expected="user_id, item_id")
        if "type" in ev:
            types = ev["type"].astype(str)
        else:
            types = pd.Series("rating" if "rating" in ev else "view", index=ev.index)
        bad = ~types.isin(EVENT_TYPES)
        if bad.any():
            raise DataError(
                "unknown event types", value=types[bad].unique()[:5].tolist(), expected=str(EVENT_TYPES)
            )
        if "value" in ev:
            value = ev["value"].astype("float64").fillna(1.0).to_numpy()
        elif "rating" in ev:
            value = ev["rating"].astype("float64").to_numpy()
        else:
            value = np.ones(len(ev))
        ts = ev["timestamp"] if "timestamp" in ev else pd.Series(0, index=ev.index)
        ts_sec = _to_unix_seconds(ts)

        item_frame = _indexed(items)
        user_frame = _indexed(users)
        if item_vocab is None:
            base = [] if item_frame is None else item_frame.index.astype(str).tolist()
            item_vocab = Vocabulary(base, name="item").extend(ev["item_id"].astype(str))
        if user_vocab is None:
            base = [] if user_frame is None else user_frame.index.astype(str).tolist()
            user_vocab = Vocabulary(base, name="user").extend(ev["user_id"].astype(str))
        return cls(
            user_vocab,
            item_vocab,
            user_vocab.index(ev["user_id"].astype(str).to_numpy()),
            item_vocab.index(ev["item_id"].astype(str).to_numpy()),
            types.map(EVENT_CODE).to_numpy(np.int8),
            value,
            ts_sec,
            item_table=item_frame,
            user_table=user_frame,
            weights=weights,
        )

    def subset(self, mask: np.ndarray) -> Dataset:
        """The same dataset restricted to the events where ``mask`` is true (vocabularies kept)."""
        mask = np.asarray(mask)
        return Dataset(
            self.users,
            self.items,
            self.user_idx[mask],
            self.item_idx[mask],
            self.event_type[mask],
            self.value[mask],
            self.timestamp[mask],
            item_table=self.item_table,
            user_table=self.user_table,
            weights=self.weights,
        )

    def with_weights(self, weights: EventWeights) -> Dataset:
        return Dataset(
            self.users,
            self.items,
            self.user_idx,
            self.item_idx,
            self.event_type,
            self.value,
            self.timestamp,
            item_table=self.item_table,
            user_table=self.user_table,
            weights=weights,
        )

    # ----------------------------------------------------------------- views
    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_events(self) -> int:
        return len(self.user_idx)

    def __repr__(self) -> str:
        return f"Dataset(users={self.n_users}, items={self.n_items}, events={self.n_events})"

    @property
    def event_types(self) -> np.ndarray:
        """Event type names per row (object array)."""
        return np.asarray(EVENT_TYPES, dtype=object)[self.event_type]

    @property
    def last_timestamp(self) -> int:
        return int(self.timestamp.max()) if self.n_events else 0

    def event_weights(self, weights: EventWeights | None = None) -> np.ndarray:
        """Per-event weight ``w(type) · [value if rating] · decay`` as float32."""
        w = weights or self.weights
        table = np.array([w.weights.get(t, 0.0) for t in EVENT_TYPES], dtype=np.float64)
        out = table[self.event_type]
        if w.rating_as_value:
            is_rating = self.event_type == EVENT_CODE["rating"]
            out = np.where(is_rating, out * self.value, out)
        if w.half_life_days is not None and self.n_events:
            now = w.now if w.now is not None else self.last_timestamp
            age_days = (now - self.timestamp) / SECONDS_PER_DAY
            out = out * np.power(0.5, age_days / w.half_life_days)
        return out.astype(np.float32)

    def matrix(self, weights: EventWeights | None = None) -> sp.csr_matrix:
        """CSR user×item interaction strength (float32, duplicates summed, zeros dropped)."""
        w = weights or self.weights
        data = self.event_weights(w)
        m = sp.csr_matrix(
            (data, (self.user_idx, self.item_idx)), shape=(self.n_users, self.n_items), dtype=np.float32
        )
        m.sum_duplicates()
        m.eliminate_zeros()
        if w.binary:
            m.data[:] = 1.0
        return m

    @cached_property
    def seen(self) -> sp.csr_matrix:
        """Binary CSR of every (user, item) pair with any event."""
        m = sp.csr_matrix(
            (np.ones(self.n_events, dtype=np.float32), (self.user_idx, self.item_idx)),
            shape=(self.n_users, self.n_items),
        )
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    def ratings(self) -> sp.csr_matrix:
        """Explicit ratings as CSR; when a user rated an item twice the later rating wins."""
        is_rating = self.event_type == EVENT_CODE["rating"]
        u, i, v, t = (
            self.user_idx[is_rating],
            self.item_idx[is_rating],
            self.value[is_rating],
            self.timestamp[is_rating],
        )
        order = np.lexsort((t, i, u))
        u, i, v = u[order], i[order], v[order]
        last = np.ones(len(u), dtype=bool)
        if len(u) > 1:
            last[:-1] = (u[1:] != u[:-1]) | (i[1:] != i[:-1])
        m = sp.csr_matrix((v[last], (u[last], i[last])), shape=(self.n_users, self.n_items), dtype=np.float32)
        return m

    def sequences(self, types: tuple[str, ...] | None = None) -> list[np.ndarray]:
        """Per-user item sequences in time order (stable for equal timestamps).

        ``types`` restricts which event types count (default: all item events).
        """
        mask = np.ones(self.n_events, dtype=bool)
        if types is not None:
            mask = np.isin(self.event_type, [EVENT_CODE[t] for t in types])
        u, i, t = self.user_idx[mask], self.item_idx[mask], self.timestamp[mask]
        order = np.lexsort((np.arange(len(u)), t, u))
        u, i = u[order], i[order]
        bounds = np.searchsorted(u, np.arange(self.n_users + 1))
        return [i[bounds[k] : bounds[k + 1]] for k in range(self.n_users)]

    def item_counts(self) -> np.ndarray:
        """Number of distinct users per item (popularity)."""
        return np.asarray(self.seen.sum(axis=0)).ravel()


def _indexed(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    if frame is None:
        return None
    if "id" in frame.columns:
        frame = frame.set_index("id")
    frame = frame.copy()
    frame.index = frame.index.astype(str)
    return frame


def _align(frame: pd.DataFrame | None, vocab: Vocabulary, name: str) -> pd.DataFrame:
    """Feature table re-indexed to vocabulary order (rows for unknown entities are all-NA)."""
    if frame is None:
        return pd.DataFrame(index=pd.Index(vocab.ids, name="id"))
    if not frame.index.is_unique:
        raise DataError(
            f"duplicate {name} ids in {name} table", value=frame.index[frame.index.duplicated()][:5].tolist()
        )
    out = frame.reindex(vocab.ids)
    out.index.name = "id"
    return out


def _to_unix_seconds(ts: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(ts):
        return ts.fillna(0).astype("int64").to_numpy()
    parsed = pd.to_datetime(ts, utc=True, errors="coerce")
    if parsed.isna().any():
        bad = ts[parsed.isna()].head(3).tolist()
        raise DataError("unparseable timestamps", value=bad, expected="ISO 8601 datetimes or unix seconds")
    return (parsed.astype("int64") // 1_000_000_000).to_numpy()


def to_datetime(seconds: int) -> datetime:
    return pd.Timestamp(seconds, unit="s", tz="UTC").to_pydatetime()
