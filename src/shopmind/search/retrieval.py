"""The candidates of one query (:class:`Candidates`) and the deterministic top-n selection they use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopmind.search.analyzers import QueryGroup
from shopmind.search.filters import FilterMasks
from shopmind.search.lexical import MatchResult


@dataclass
class Candidates:
    """Everything known about one query's candidates (also the learned ranker's feature source)."""

    text: str
    groups: list[QueryGroup]
    match: MatchResult | None
    mask: np.ndarray
    rows: np.ndarray  # ranked candidate rows
    scores: np.ndarray  # their base scores
    lex_rank: dict[int, int]
    sem_rank: dict[int, int]
    sims: dict[int, float]
    qv: np.ndarray | None
    corrected: str | None
    fallback: str | None
    total_mask: np.ndarray  # bool [n_rows]: every row that counts as a match (for total and facets)
    mode: str
    filters: FilterMasks
    extra_rows: np.ndarray  # matches that are not keyword matches (semantic candidates)
    keyword_matches: bool  # keyword matches count as matches (not in semantic mode / fallback)
    # rows that count as matches besides keyword matches (semantic candidates, exact identifiers),
    # retrieved before the facet filters: a facet value's count is then the total its filter gives
    extra_pool: np.ndarray | None = None

    def relaxed_masks(self) -> dict[str, np.ndarray]:
        """Per selected facet, the match mask under every filter except that facet's own.

        Keyword matches are re-counted exactly; the other matches (``extra_pool``) were retrieved under
        the non-facet filters only, so they are re-filtered the same way: the count shown for a facet
        value is exactly the total that selecting it returns.
        """
        out = {}
        for facet in self.filters.parts:
            relaxed = self.filters.mask_without(facet)
            m = relaxed.copy()
            if self.keyword_matches and self.match is not None:
                m &= self.match.coverage > 0
            else:
                m[:] = False
            if self.extra_pool is not None:
                pool = self.extra_pool
                m[pool[relaxed[pool]]] = True
            elif len(self.extra_rows):
                m[self.extra_rows] = True
            out[facet] = m
        return out


def top_rows(rows: np.ndarray, key: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` rows with the largest ``key``, sorted (ties by row), with their keys.

    Ties at the cut go to the lower rows: ``argpartition`` alone would pick among them by NumPy's SIMD
    dispatch (AVX-512 and AVX2 differ), and the candidates would depend on the CPU.
    """
    if n < len(rows):
        cut = np.partition(key, len(key) - n)[len(key) - n]  # the n-th largest value
        better = np.flatnonzero(key > cut)
        tied = np.flatnonzero(key == cut)
        need = n - len(better)
        if need < len(tied):  # rows are unique, so the `need` lowest are one definite set
            tied = tied[np.argpartition(rows[tied], need - 1)[:need]]
        pick = np.concatenate([better, tied])
        rows, key = rows[pick], key[pick]
    order = np.lexsort((rows, -key))
    return rows[order], key[order]


def lookup_values(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``values[keys == w]`` for each ``w`` in ``wanted`` (0 where absent); keys are unique."""
    if not len(keys):
        return np.zeros(len(wanted), np.float64)
    order = np.argsort(keys)
    pos = np.minimum(np.searchsorted(keys[order], wanted), len(keys) - 1)
    found = keys[order][pos] == wanted
    return np.where(found, values[order][pos], 0.0)
