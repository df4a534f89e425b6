"""Matrix factorisation with the ``implicit`` library (CPU models).

* ``als`` — implicit-feedback ALS (Hu, Koren & Volinsky 2008): minimise
  ``Σ_ui c_ui (p_ui − x_uᵀ y_i)² + λ(Σ‖x_u‖² + Σ‖y_i‖²)`` with preference ``p_ui = [r_ui > 0]`` and
  confidence ``c_ui = 1 + α r_ui`` (implicit's convention: the matrix passed in holds ``α·r``).
  Fold-in re-solves a user's factor against the fixed item factors,
  ``x_u = (YᵀY + Yᵀ(C_u − I)Y + λI)⁻¹ Yᵀ C_u p_u`` (Hu et al. 2008, eq. 4) — the equation implicit's
  ``recalculate_user`` solves, here in numpy with ``YᵀY + λI`` precomputed (float64).
* ``bpr`` — Bayesian Personalised Ranking (Rendle et al. 2009), SGD on sampled triples
  ``(u, i, j)`` maximising ``ln σ(x̂_ui − x̂_uj) − λ‖Θ‖²`` with ``x̂_ui = x_u · y_i + b_i``, via
  ``cornac``'s ``BPR`` (the implementation behind the published MS Recommenders BPR row). Not
  ``implicit``'s BPR: implicit draws the negative ``j`` from the interaction list, i.e. proportional
  to item popularity, so popular items are pushed down as often as they are pulled up and the item
  bias learns nothing (docs/bench/recommend.md compares the two samplers with the same SGD update).
  The item bias is stored as an extra factor (user side fixed to 1). No fold-in.

Scores are ``x_u · y_i``. Threads come from :class:`~shopmind.recommend.base.Runtime`.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field
from scipy.linalg import lapack

from shopmind.data.dataset import Dataset
from shopmind.recommend.base import AlgorithmConfig, Recommender, interaction_matrix, register

log = logging.getLogger(__name__)


class _Factors(Recommender):
    supports_similar = True
    user_factors: np.ndarray
    item_factors: np.ndarray
    _item_factors64: np.ndarray | None = None
    _unit_factors: np.ndarray | None = None

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        self.check_fitted()
        users = self.check_users(user_idx)
        # float64 products: batch (gemm) and single-user (gemv) scores agree to ~1e-16 relative — not bit
        # for bit (measured on the demo shop), but far below float32's ~1e-7, so rankings agree except
        # for near-exact ties. Costs 8 bytes per item factor read per request (51 MB at 100k × 64).
        return self.user_factors[users].astype(np.float64) @ self._items64().T

    def _items64(self) -> np.ndarray:
        cached = self._item_factors64
        if cached is None or cached.shape != self.item_factors.shape:
            cached = self.item_factors.astype(np.float64)
            self._item_factors64 = cached
        return cached

    def _unit(self) -> np.ndarray:
        unit = self._unit_factors
        if unit is None or unit.shape != self.item_factors.shape:
            norms = np.linalg.norm(self.item_factors.astype(np.float64), axis=1)
            unit = self.item_factors / np.maximum(norms, 1e-12)[:, None]
            self._unit_factors = unit
        return unit

    def similar_scores(self, item_idx: np.ndarray) -> np.ndarray:
        """Cosine of item factors."""
        self.check_fitted()
        items = self.check_items(item_idx)
        unit = self._unit()
        sim = np.asarray(unit[items] @ unit.T, dtype=np.float64)
        sim[np.arange(len(items)), items] = 0.0
        return sim

    def similarity_block(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        self.check_fitted()
        unit = self._unit()
        sim = np.asarray(unit[np.asarray(sources)] @ unit[np.asarray(targets)].T, dtype=np.float64)
        sim[np.asarray(sources)[:, None] == np.asarray(targets)[None, :]] = 0.0
        return sim

    def _state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        self.user_factors = arrays["user_factors"]
        self.item_factors = arrays["item_factors"]

    def _threads(self) -> int:
        return int(self.runtime.threads)


class ALSConfig(AlgorithmConfig):
    factors: int = Field(64, ge=1)
    regularization: float = Field(0.05, ge=0)
    alpha: float = Field(2.0, gt=0, description="confidence scale: c = 1 + α·r")
    iterations: int = Field(15, ge=1)
    binary: bool = Field(False, description="fit on presence instead of event weights")


@register
class ALS(_Factors):
    """Implicit ALS via ``implicit.cpu.als`` (see module docstring)."""

    name = "als"
    Config = ALSConfig
    config: ALSConfig
    supports_fold_in = True
    _gram_cache: tuple[np.ndarray, np.ndarray] | None = None

    def _model(self) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        cfg = self.config
        with warnings.catch_warnings():
            # implicit warns about a threaded OpenBLAS; we limit BLAS to one thread around fit/solve
            warnings.filterwarnings("ignore", message="OpenBLAS is configured", category=RuntimeWarning)
            return AlternatingLeastSquares(
                factors=cfg.factors,
                regularization=cfg.regularization,
                alpha=cfg.alpha,
                iterations=cfg.iterations,
                random_state=self.runtime.seed,
                num_threads=self._threads(),
            )

    def _fit(self, dataset: Dataset) -> None:
        x = interaction_matrix(dataset, binary=self.config.binary)
        with _blas_single_thread():
            model = self._model()
            model.fit(x, show_progress=self.runtime.progress)
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)

    def _gram(self) -> np.ndarray:
        """``YᵀY + λI`` in float64, computed once per item-factor matrix (fold-in solves reuse it)."""
        cached = self._gram_cache
        if cached is None or cached[0] is not self.item_factors:
            y = self._items64()
            gram = y.T @ y
            gram[np.diag_indices_from(gram)] += self.config.regularization
            cached = (self.item_factors, gram)
            self._gram_cache = cached
        return cached[1]

    def _solve(self, items: np.ndarray, values: np.ndarray) -> np.ndarray:
        """One user's factor from history entries: the closed form in the module docstring.

        ``A = YᵀY + λI + Σ_i (c_i − 1) y_i y_iᵀ``, ``b = Σ_i c_i y_i`` with ``c_i = α·r_i`` (implicit's
        convention, so fold-in matches its training solve); float64 and one f×f Cholesky solve — what
        implicit's ``recalculate_user`` computes in float32, without its per-call wrapper (input
        checks, a scaled sparse copy, a thread-pool switch: ≈ 0.2 ms of the fold-in request).
        """
        y = self.item_factors[np.asarray(items, dtype=np.int64)].astype(np.float64)
        c = self.config.alpha * (
            np.ones(len(items))
            if self.config.binary
            else np.asarray(values, dtype=np.float32).astype(np.float64)
        )
        a = self._gram() + (y.T * (c - 1.0)) @ y
        b = y.T @ c
        # Cholesky (LAPACK posv), as implicit solves it; a singular system (λ = 0 and too few
        # items) gets the least-squares minimum-norm solution instead of an error
        _, x, info = lapack.dposv(a, b)
        return np.asarray(x) if info == 0 else np.linalg.lstsq(a, b, rcond=None)[0]

    def fold_in(self, rows: sp.csr_matrix) -> np.ndarray:
        """User factors (float64) re-solved from interaction rows against the fixed item factors."""
        self.check_fitted()
        rows = self.check_rows(rows)
        out = np.zeros((rows.shape[0], self.item_factors.shape[1]))
        for r in range(rows.shape[0]):
            lo, hi = rows.indptr[r], rows.indptr[r + 1]
            if hi > lo:  # an empty row keeps the zero factor (no preference, no signal)
                out[r] = self._solve(rows.indices[lo:hi], rows.data[lo:hi])
        return out

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        """Scores of re-solved users, in float64 like :meth:`score_users`.

        float32 products differ by BLAS kernel and batch size at ~1e-7 relative; in float64 a user's
        fold-in scores are the same (to ~1e-16) alone, in a batch and on any CPU.
        """
        self.check_fitted()
        return self.fold_in(rows) @ self._items64().T

    def score_row(self, items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        self.check_fitted()
        x = self._solve(items, weights) if len(items) else np.zeros(self.item_factors.shape[1])
        return self._items64() @ x, None


class BPRConfig(AlgorithmConfig):
    """Defaults: ``implicit``'s ``BayesianPersonalizedRanking`` defaults (100 factors, learning rate 0.01,
    λ 0.01, 100 epochs) — the standard settings of the same SGD model in a widely used library
    (cornac's own defaults, 10 factors at learning rate 0.001, are a quick-start setting)."""

    factors: int = Field(100, ge=1)
    learning_rate: float = Field(0.01, gt=0)
    regularization: float = Field(0.01, ge=0)
    iterations: int = Field(100, ge=1)


@register
class BPR(_Factors):
    """BPR via ``cornac.models.BPR`` (see module docstring)."""

    name = "bpr"
    Config = BPRConfig
    config: BPRConfig

    def _fit(self, dataset: Dataset) -> None:
        from cornac.data import Dataset as CornacDataset
        from cornac.models import BPR as CornacBPR

        cfg = self.config
        x = sp.coo_matrix(interaction_matrix(dataset, binary=True))
        if x.nnz == 0:  # nothing to rank: all-zero factors (cornac's Dataset needs ratings)
            self.user_factors = np.zeros((dataset.n_users, cfg.factors + 1), dtype=np.float32)
            self.item_factors = np.zeros((dataset.n_items, cfg.factors + 1), dtype=np.float32)
            return
        # cornac's Dataset built straight from index arrays (its ``from_uir`` walks Python tuples);
        # no id maps: indices are already ours
        train = CornacDataset(
            dataset.n_users,
            dataset.n_items,
            None,
            None,
            (x.row.astype(np.int64), x.col.astype(np.int64), x.data.astype(np.float32)),
            seed=self.runtime.seed,
        )
        # cornac runs single-threaded when seeded (hogwild SGD is not reproducible across threads)
        model = CornacBPR(
            k=cfg.factors,
            max_iter=cfg.iterations,
            learning_rate=cfg.learning_rate,
            lambda_reg=cfg.regularization,
            seed=self.runtime.seed,
            verbose=self.runtime.progress,
        )
        model.fit(train)
        ones = np.ones((dataset.n_users, 1), dtype=np.float32)
        self.user_factors = np.hstack([np.asarray(model.u_factors, dtype=np.float32), ones])
        self.item_factors = np.hstack(
            [
                np.asarray(model.i_factors, dtype=np.float32),
                np.asarray(model.i_biases, dtype=np.float32)[:, None],
            ]
        )


def _blas_single_thread() -> Any:
    """implicit parallelises itself; a multi-threaded BLAS underneath oversubscribes the cores."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
