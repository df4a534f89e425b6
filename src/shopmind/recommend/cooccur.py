"""Frequently bought together: basket co-occurrence with lift and minimum support.

Baskets are orders (and cart/purchase sessions). With ``N`` baskets, ``n_i`` baskets containing
``i`` and ``n_ij`` containing both::

    P(j | i) = n_ij / n_i,   P(j) = n_j / N,   lift(i → j) = P(j | i) / P(j) = n_ij · N / (n_i · n_j)

Pairs with ``n_ij < min_support`` are dropped (lift is noisy on one shared basket); each item keeps
its ``max_neighbours`` partners with the highest lift (ties: more shared baskets first).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from shopmind.recommend.base import load_sparse, save_sparse, savez


class BoughtTogether:
    """Co-purchase lift table (see module docstring)."""

    def __init__(self, min_support: int = 2, max_neighbours: int = 50) -> None:
        self.min_support = min_support
        self.max_neighbours = max_neighbours
        self.lift = sp.csr_matrix((0, 0))
        self.support = sp.csr_matrix((0, 0))
        self.n_baskets = 0
        self.item_baskets = np.zeros(0)

    def fit(self, basket: np.ndarray, item: np.ndarray, n_items: int) -> BoughtTogether:
        """``basket[k]`` (any integer basket code) contains item index ``item[k]``."""
        basket = np.asarray(basket)
        _, b = np.unique(basket, return_inverse=True)
        n_b = int(b.max()) + 1 if len(b) else 0
        m = sp.csr_matrix((np.ones(len(b)), (b, np.asarray(item))), shape=(n_b, n_items))
        m.sum_duplicates()
        m.data[:] = 1.0
        self.n_baskets = n_b
        self.item_baskets = np.asarray(m.sum(axis=0)).ravel()
        c = (m.T @ m).tocoo()
        keep = (c.row != c.col) & (c.data >= self.min_support)
        r, col, n_ij = c.row[keep], c.col[keep], c.data[keep]
        lift = n_ij * n_b / (self.item_baskets[r] * self.item_baskets[col])
        # keep the best partners per item: sort by (item, -lift, -support)
        order = np.lexsort((col, -n_ij, -lift, r))
        r, col, n_ij, lift = r[order], col[order], n_ij[order], lift[order]
        starts = np.searchsorted(r, r, side="left")
        rank = np.arange(len(r)) - starts
        sel = rank < self.max_neighbours
        self.lift = sp.csr_matrix((lift[sel], (r[sel], col[sel])), shape=(n_items, n_items))
        self.support = sp.csr_matrix((n_ij[sel], (r[sel], col[sel])), shape=(n_items, n_items))
        return self

    def top(
        self, item: int, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Partners of ``item`` by lift: ``(indices, lift, shared baskets)``, best first."""
        lo, hi = self.lift.indptr[item], self.lift.indptr[item + 1]
        idx, lift = self.lift.indices[lo:hi], self.lift.data[lo:hi]
        sup = self.support.data[lo:hi]
        if allowed is not None:
            ok = allowed[idx]
            idx, lift, sup = idx[ok], lift[ok], sup[ok]
        order = np.lexsort((idx, -sup, -lift))[:k]
        return idx[order], lift[order], sup[order]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        savez(
            directory / "bought_together.npz",
            {
                **save_sparse("lift", self.lift),
                **save_sparse("support", self.support),
                "item_baskets": self.item_baskets,
                "params": np.asarray([self.n_baskets, self.min_support, self.max_neighbours]),
            },
        )

    @classmethod
    def load(cls, directory: Path) -> BoughtTogether:
        with np.load(directory / "bought_together.npz", allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        n_b, min_support, max_n = (int(x) for x in arrays["params"])
        out = cls(min_support, max_n)
        out.n_baskets = n_b
        out.lift = load_sparse("lift", arrays)
        out.support = load_sparse("support", arrays)
        out.item_baskets = arrays["item_baskets"]
        return out
