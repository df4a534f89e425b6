"""Vocabulary: external string ids ⇄ contiguous integer indices.

Ids are mapped once, at the boundary; models only ever see indices and public APIs only ever return
external ids. Unknown ids follow an explicit policy (``on_unknown``) instead of a silent default.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from shopmind.errors import DataError, UnknownIdError

UnknownPolicy = Literal["error", "missing"]
MISSING = -1
"""Index returned for unknown ids under ``on_unknown="missing"``."""


class Vocabulary:
    """An immutable, ordered set of external ids.

    ``index(ids)`` maps ids to ``int32`` positions; ``ids[i]`` maps back. Built from any iterable
    of unique strings (order kept), or with :meth:`from_values` from values with repeats (first
    occurrence order kept).
    """

    __slots__ = ("_ids", "_index", "name")

    def __init__(self, ids: Iterable[str], name: str = "id") -> None:
        arr = np.asarray([str(i) for i in ids], dtype=object)
        self._ids = arr
        self._index = pd.Index(arr)
        self.name = name
        if not self._index.is_unique:
            dupes = self._index[self._index.duplicated()].unique()[:5].tolist()
            raise DataError(f"duplicate {name}s in vocabulary", value=dupes, expected="unique ids")

    @classmethod
    def from_values(cls, values: Iterable[str], name: str = "id") -> Vocabulary:
        return cls(pd.unique(pd.Series(list(values), dtype=object).astype(str)), name=name)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, external_id: object) -> bool:
        return external_id in self._index

    def __iter__(self):
        return iter(self._ids)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and np.array_equal(self._ids, other._ids)

    def __repr__(self) -> str:
        return f"Vocabulary({self.name}, n={len(self)})"

    @property
    def ids(self) -> np.ndarray:
        """External ids in index order (object array; do not mutate)."""
        return self._ids

    def id(self, index: int) -> str:
        return str(self._ids[index])

    def index_of(self, external_id: str) -> int:
        """Index of one id; raises :class:`UnknownIdError` when unknown."""
        pos = self._index.get_indexer([str(external_id)])[0]
        if pos < 0:
            raise UnknownIdError(f"unknown {self.name}", value=external_id, expected=f"a known {self.name}")
        return int(pos)

    def index(self, ids: Sequence[str] | np.ndarray, on_unknown: UnknownPolicy = "error") -> np.ndarray:
        """Vectorised lookup. ``on_unknown="missing"`` returns ``MISSING`` (-1) for unknown ids."""
        pos = self._index.get_indexer(pd.Index(_as_str(ids)))
        if on_unknown == "error" and (pos < 0).any():
            bad = _as_str(ids)[pos < 0][:5].tolist()
            raise UnknownIdError(f"unknown {self.name}s", value=bad, expected=f"known {self.name}s")
        return pos.astype(np.int32)

    def extend(self, ids: Iterable[str]) -> Vocabulary:
        """A new vocabulary with unseen ``ids`` appended (existing indices unchanged)."""
        new = [i for i in pd.unique(pd.Series(list(ids), dtype=object).astype(str)) if i not in self._index]
        return Vocabulary(np.concatenate([self._ids, np.asarray(new, dtype=object)]), name=self.name)

    def to_list(self) -> list[str]:
        return [str(i) for i in self._ids]


def _as_str(ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """Object array of ``str`` (numpy's ``astype(str)`` would strip trailing NULs)."""
    return pd.Series(np.asarray(ids, dtype=object), dtype=object).astype(str).to_numpy(dtype=object)
