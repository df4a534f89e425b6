"""EASE — Embarrassingly Shallow Autoencoder (Steck, WWW 2019), closed form.

With ``X`` the (binary by default) user×item matrix and ``G = XᵀX + λI``::

    P = G⁻¹,   B = I − P · diag(1 / diag(P)),   diag(B) = 0,   scores = X_u · B

**Sequence-aware variant** (``sequence_weight`` γ > 0): the Gram matrix also counts how often two items
are close in users' time-ordered histories, ``G = XᵀX + γ·C_w + λI`` with ``C_w`` the windowed
co-occurrence of :func:`shopmind.recommend.seq_cooc.window_cooccurrence` (pairs at most ``sequence_window``
positions apart, weight ``sequence_decay^(d−1)``). The closed form is unchanged; items browsed/rated
together in a session then reconstruct each other more strongly (``docs/bench/recommend.md`` measures
it). γ = 0 is Steck's EASE exactly.

Defaults: λ = 500, the value in Steck's reference code; γ = 0 (plain EASE). Configurations tuned on a
data set are presets (:mod:`shopmind.presets`).

Fold-in is free: a user's updated row times ``B``. ``B`` is a dense ``m × m`` float32 matrix
(``4·m²`` bytes; 20k items = 1.6 GB), so the model refuses more than ``max_items`` modelled items with
:class:`~shopmind.errors.CapacityError`; ``top_items`` restricts the model to the ``N`` most
popular items (other items are scored ``-inf`` — never recommended by EASE, which is how a large
catalogue is served: the hybrid fills the rest).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.errors import CapacityError
from shopmind.recommend.base import (
    AlgorithmConfig,
    Recommender,
    interaction_matrix,
    load_sparse,
    save_sparse,
)
from shopmind.recommend.registry import register
from shopmind.recommend.seq_cooc import window_cooccurrence

log = logging.getLogger(__name__)


SHOP_TOP_ITEMS = 5000
"""EASE in the shop models only this many most popular items (dense 5000² float32 = 100 MB)."""

ROW_BLOCK = 64
"""Rows of ``B`` gathered at once by :meth:`EASE.score_row` (64 × 20 KB for 5000 modelled items)."""


class EASEConfig(AlgorithmConfig):
    l2: float = Field(500.0, gt=0, description="λ on the diagonal of the Gram matrix")
    binary: bool = Field(True, description="fit on presence (1/0) rather than event weights")
    max_items: int = Field(20_000, ge=1, description="refuse above this many modelled items (memory)")
    top_items: int | None = Field(default=None, ge=1, description="model only the N most popular items")
    sequence_weight: float = Field(
        0.0, ge=0, description="γ: weight of the windowed sequence co-occurrence in G (0 = plain EASE)"
    )
    sequence_window: int = Field(5, ge=1, description="items at most this many positions apart co-occur")
    sequence_decay: float = Field(
        0.9, gt=0, le=1, description="weight decay^(d−1) of a pair d positions apart"
    )
    precision: Literal["float64", "float32"] = Field(
        "float64",
        description="dtype of the Cholesky inverse of G; float32 halves the O(m³) time and memory "
        "(λ keeps G well conditioned), used by the shop service for large catalogues",
    )


@register
class EASE(Recommender):
    """EASE closed form (see module docstring)."""

    name = "ease"
    Config = EASEConfig
    config: EASEConfig
    supports_fold_in = True
    supports_similar = True
    _pos_map: np.ndarray | None = None

    @classmethod
    def shop_config(cls, dataset: Dataset) -> dict[str, Any]:
        """At most :data:`SHOP_TOP_ITEMS` modelled items and a float32 inverse: half the O(m³) time (on
        the demo shop, 5000 modelled items, every sampled user's top-10 was identical to float64; max
        ``|ΔB|`` 1.4e-7)."""
        cfg: dict[str, Any] = {"precision": "float32"}
        active = int((dataset.item_counts() > 0).sum())
        if active > SHOP_TOP_ITEMS:
            log.info(
                "EASE restricted to the %d most popular of %d interacted items (dense %d² matrix)",
                SHOP_TOP_ITEMS,
                active,
                SHOP_TOP_ITEMS,
            )
            cfg["top_items"] = SHOP_TOP_ITEMS
        return cfg

    def _fit(self, dataset: Dataset) -> None:
        x, active, g = self._item_gram(dataset)
        self.weights = self._solve(g)
        self.active = active
        self.interactions = x
        self._pos_map = None

    def _item_gram(
        self, dataset: Dataset, row_weights: np.ndarray | None = None
    ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """``(X, active items, G = XᵀWX + γ·C_w + λI over the active items)`` — the model's input.

        ``W = diag(row_weights)`` weights each user's contribution to the Gram matrix (default 1).
        """
        cfg = self.config
        x = interaction_matrix(dataset, binary=cfg.binary)
        counts = dataset.item_counts()
        active = np.flatnonzero(counts > 0)
        if cfg.top_items is not None and len(active) > cfg.top_items:
            order = np.lexsort((active, -counts[active]))[: cfg.top_items]
            active = np.sort(active[order])
            log.info("EASE restricted to the %d most popular of %d items", len(active), dataset.n_items)
        m = len(active)
        if m > cfg.max_items:
            raise CapacityError(
                f"EASE needs a dense {m}×{m} float32 matrix ({4 * m * m / 2**30:.1f} GiB)",
                value=m,
                expected=f"at most max_items={cfg.max_items} items; set top_items to restrict EASE "
                "to the most popular items, or use item_knn / als for this catalogue",
            )
        xa = x[:, active].astype(np.float64)
        xw = xa if row_weights is None else sp.csr_matrix(sp.diags(row_weights) @ xa)
        g = np.asarray((xw.T @ xa).toarray())
        if cfg.sequence_weight > 0 and m:
            c = window_cooccurrence(dataset, cfg.sequence_window, cfg.sequence_decay)
            g += cfg.sequence_weight * c[active][:, active].toarray()
        g[np.diag_indices(m)] += cfg.l2
        return x, active.astype(np.int64), g

    def _solve(self, g: np.ndarray) -> np.ndarray:
        """``B = I − P·diag(1/diag P)`` with ``P = G⁻¹`` and ``diag(B) = 0`` (float32, C order)."""
        m = len(g)
        # the O(m³) Cholesky inverse is LAPACK work: give BLAS the runtime's thread count (a
        # process-wide OMP_NUM_THREADS=1, as the benchmarks set for everything else, would otherwise
        # leave it on one core); threads=0 keeps the library default
        with _blas_threads(self.runtime.threads):
            p = spd_inverse(g.astype(np.float32) if self.config.precision == "float32" else g) if m else g
        b = p / (-np.diag(p))[None, :] if m else p
        b[np.diag_indices(m)] = 0.0
        return np.ascontiguousarray(b, dtype=np.float32)

    def _full(self, rows: sp.csr_matrix) -> np.ndarray:
        out = np.full((rows.shape[0], self.n_items), -np.inf)
        if len(self.active):
            xa = rows[:, self.active].astype(np.float32)
            out[:, self.active] = np.asarray(xa @ self.weights, dtype=np.float64)
        return out

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        self.check_fitted()
        return self._full(self.interactions[self.check_users(user_idx)])

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        self.check_fitted()
        rows = self.check_rows(rows)
        if self.config.binary:
            rows = rows.copy()
            rows.data[:] = 1.0
        return self._full(rows)

    def score_row(self, items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``x_u · B`` on the modelled items only (support = ``active``), without the ``n_items`` -inf row.

        The history's rows of ``B`` (in item order) are gathered in blocks and summed with
        ``np.add.reduce(axis=0)``, which adds them one after the other in float32, each scaled row
        ``x_uj · B_j`` rounded first — the sums scipy's sparse × dense product in :meth:`score_history`
        forms (without its per-call construction and checks); each block starts from the previous
        sum, so the order never changes.
        """
        self.check_fitted()
        pos = self._position_map()[np.asarray(items, dtype=np.int64)]
        keep = pos >= 0
        pos = pos[keep]
        vals = None if self.config.binary else np.asarray(weights, dtype=np.float32)[keep]
        total = np.zeros(len(self.active), dtype=np.float32)
        for start in range(0, len(pos), ROW_BLOCK):
            chunk = pos[start : start + ROW_BLOCK]
            block = np.empty((len(chunk) + 1, len(self.active)), dtype=np.float32)
            block[0] = total
            np.take(self.weights, chunk, axis=0, out=block[1:])
            if vals is not None:
                block[1:] *= vals[start : start + ROW_BLOCK, None]
            total = np.add.reduce(block, axis=0)
        return total, self.active  # float32, as _full computes it

    def _position_map(self) -> np.ndarray:
        """Item index → row of ``B`` (−1 outside the model), built once per loaded model."""
        cached = self._pos_map
        if cached is None or len(cached) != self.n_items:
            cached = np.full(self.n_items, -1, dtype=np.int64)
            cached[self.active] = np.arange(len(self.active))
            self._pos_map = cached
        return cached

    def similar_scores(self, item_idx: np.ndarray) -> np.ndarray:
        """Row ``B_i`` — how much having ``i`` raises each other item's score."""
        self.check_fitted()
        items = self.check_items(item_idx)
        out = np.zeros((len(items), self.n_items))
        pos, ok = self._positions(items)
        if ok.any():
            out[np.ix_(np.flatnonzero(ok), self.active)] = self.weights[pos[ok]]
        return out

    def similarity_block(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """``B[sources, targets]`` (0 for items outside the model)."""
        self.check_fitted()
        out = np.zeros((len(sources), len(targets)))
        ps, oks = self._positions(np.asarray(sources))
        pt, okt = self._positions(np.asarray(targets))
        if oks.any() and okt.any():
            out[np.ix_(np.flatnonzero(oks), np.flatnonzero(okt))] = self.weights[np.ix_(ps[oks], pt[okt])]
        return out

    def _positions(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not len(self.active):
            return np.zeros(len(items), dtype=np.int64), np.zeros(len(items), dtype=bool)
        pos = np.minimum(np.searchsorted(self.active, items), len(self.active) - 1)
        return pos, self.active[pos] == items

    def _state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "active": self.active, **save_sparse("x", self.interactions)}

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        self.weights = np.ascontiguousarray(arrays["weights"])
        self.active = arrays["active"]
        self.interactions = load_sparse("x", arrays)
        self._pos_map = None


def _blas_threads(threads: int) -> Any:
    """``threadpool_limits(threads, "blas")`` for ``threads > 0``, else a no-op context."""
    if threads <= 0:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(threads, "blas")


def spd_inverse(g: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix via Cholesky (LAPACK potrf + potri).

    About twice as fast as a general LU inverse and numerically stabler for ``XᵀX + λI``. Works in
    ``g``'s dtype (float32 → spotrf/spotri, float64 → d…); potri fills the upper triangle only, which
    is mirrored into the lower one in place, block by block (no m×m temporaries).
    """
    from scipy.linalg import lapack

    single = g.dtype == np.float32
    potrf, potri = (lapack.spotrf, lapack.spotri) if single else (lapack.dpotrf, lapack.dpotri)
    c, info = potrf(g, lower=False, clean=False, overwrite_a=False)
    if info != 0:
        return np.asarray(scipy.linalg.inv(g))
    inv, info = potri(c, lower=False, overwrite_c=True)
    if info != 0:
        return np.asarray(scipy.linalg.inv(g))
    full = _mirror_upper(np.asarray(inv))
    # LAPACK hands back Fortran order; the matrix is symmetric, so its transpose is the same matrix
    # in C order (row slices of B must be contiguous for fast ``x_u · B`` products at serving time)
    return full.T if not full.flags.c_contiguous else full


def _mirror_upper(a: np.ndarray, block: int = 512) -> np.ndarray:
    """Copy the upper triangle of square ``a`` onto its lower triangle, in place."""
    m = a.shape[0]
    for lo in range(0, m, block):
        hi = min(lo + block, m)
        d = a[lo:hi, lo:hi]
        iu = np.triu_indices(hi - lo, 1)
        d[iu[1], iu[0]] = d[iu]  # diagonal block
        a[hi:, lo:hi] = a[lo:hi, hi:].T  # below the diagonal block = transpose of the part right of it
    return a
