"""Precomputed personal candidate pools: each known user's top-``N`` of the served hybrid blend.

Serving a known user with no new behaviour (the "personal" path) would score the whole catalogue
with every hybrid component on every request (≈ 3 ms on the 20k-item demo shop, most of it memory
traffic through the models). The blend of such a user only changes when the model is retrained, so
training stores, per user, the top ``N`` unseen items of ``Σ_c w_c · normalise(s_c)`` (ranked by
:func:`~shopmind.recommend.base.top_k`: score, then lower item index), their blended scores, and the
component that contributed most to each (the reason's source, as
:func:`~shopmind.recommend.explain.dominant_component` would pick it).

A request is answered from the pool **only when that is exact**: seen items excluded, no boosts, and
either at least ``k`` pool items pass the request's candidate mask (stock, category, price,
purchased, excluded ids) — every item outside the pool scores ≤ the pool's last score and, on a tie,
has a higher index, so the first ``k`` allowed pool items are exactly ``top_k`` over the allowed
catalogue — or the pool holds every unseen item. Otherwise (strict filters, boosts, new events, a
session) the service scores the full catalogue as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from shopmind.recommend.base import top_k
from shopmind.recommend.hybrid import Hybrid

log = logging.getLogger(__name__)

POOL_SIZE = 100
"""Items kept per user: enough that typical filters (in stock, a price range) leave ``k`` of them."""

POOL_MAX_USERS = 100_000
"""Pools for at most this many users (the most active ones): 1.3 KB each, and training scores each
such user once (≈ 1–2 ms); other users are served by full scoring."""

_CHUNK_CELLS = 2_000_000
"""Users × items cells blended at once while building (bounded float64 temporaries)."""


@dataclass(frozen=True)
class Pools:
    """``row[u]`` (−1: no pool) → ``items[row]``, ``scores[row]``, ``kinds[row]`` (index into ``names``)."""

    row: np.ndarray
    items: np.ndarray
    scores: np.ndarray
    kinds: np.ndarray
    names: tuple[str, ...]

    @property
    def size(self) -> int:
        return int(self.items.shape[1])

    @classmethod
    def build(
        cls,
        hybrid: Hybrid,
        interactions: sp.csr_matrix,
        size: int = POOL_SIZE,
        max_users: int = POOL_MAX_USERS,
    ) -> Pools:
        """Pools for the ``max_users`` users with the most interactions (ties: lower index)."""
        counts = np.diff(interactions.indptr)
        users = np.flatnonzero(counts > 0)
        if len(users) > max_users:
            keep = np.lexsort((users, -counts[users]))[:max_users]
            users = np.sort(users[keep])
        seen = sp.csr_matrix(interactions, copy=True)
        seen.data[:] = 1.0  # structural: every stored entry is "seen", as ``row.indices`` at serving
        names = tuple(n for n in hybrid.models if hybrid.weights.get(n))
        size = max(1, min(size, hybrid.n_items))
        items = np.full((len(users), size), -1, dtype=np.int32)
        scores = np.full((len(users), size), -np.inf)
        kinds = np.zeros((len(users), size), dtype=np.int8)
        chunk = max(1, _CHUNK_CELLS // max(hybrid.n_items, 1))
        for lo in range(0, len(users), chunk):
            batch = users[lo : lo + chunk]
            total, parts = hybrid.score_parts(user_idx=batch)
            idx, sc = top_k(total, size, seen[batch])
            items[lo : lo + len(batch)] = idx
            scores[lo : lo + len(batch)] = sc
            if names:
                # the same arithmetic as ``dominant_component`` (w_c · norm_c at the item, first max wins)
                cols = np.maximum(idx, 0)
                contrib = np.stack([hybrid.weights[n] * parts[n].take(cols) for n in names])
                kinds[lo : lo + len(batch)] = np.argmax(contrib, axis=0)
        row = np.full(hybrid.n_users, -1, dtype=np.int32)
        row[users] = np.arange(len(users), dtype=np.int32)
        log.info("personal pools: top-%d for %d of %d users", size, len(users), hybrid.n_users)
        return cls(row, items, scores, kinds, names)

    def lookup(
        self, user: int, k: int, candidates: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
        """Exact top-``k`` (items, scores, dominant components) among ``candidates``, or None."""
        if not 0 <= user < len(self.row) or self.row[user] < 0:
            return None
        r = int(self.row[user])
        items = self.items[r]
        valid = items >= 0
        complete = not valid.all()  # fewer than ``size`` unseen items: the pool is all of them
        items = items[valid]
        ok = np.flatnonzero(candidates[items])[:k]
        if len(ok) < k and not complete:
            return None
        kinds = [self.names[int(c)] for c in self.kinds[r][ok]] if self.names else []
        return items[ok].astype(np.int64), self.scores[r][ok], kinds

    def save(self, path: Path) -> None:
        np.savez(
            path,
            row=self.row,
            items=self.items,
            scores=self.scores,
            kinds=self.kinds,
            names=np.array(self.names, dtype=str),
        )

    @classmethod
    def load(cls, path: Path) -> Pools | None:
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as f:
            return cls(f["row"], f["items"], f["scores"], f["kinds"], tuple(str(n) for n in f["names"]))
