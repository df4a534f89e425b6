"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) with the ``implicit`` library (``als``).

Minimise ``Σ_ui c_ui (p_ui − x_uᵀ y_i)² + λ(Σ‖x_u‖² + Σ‖y_i‖²)`` with preference ``p_ui = [r_ui > 0]``
and confidence ``c_ui = 1 + α r_ui`` (implicit's convention: the matrix passed in holds ``α·r``).
Fold-in re-solves a user's factor against the fixed item factors,
``x_u = (YᵀY + Yᵀ(C_u − I)Y + λI)⁻¹ Yᵀ C_u p_u`` (Hu et al. 2008, eq. 4) — the equation implicit's
``recalculate_user`` solves, here in numpy with ``YᵀY + λI`` precomputed (float64).

Scores are ``x_u · y_i`` (:class:`~shopmind.recommend.factors.FactorModel`). Threads come from
:class:`~shopmind.recommend.base.Runtime`.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field
from scipy.linalg import lapack

from shopmind.data.dataset import Dataset
from shopmind.recommend.base import AlgorithmConfig, interaction_matrix
from shopmind.recommend.factors import FactorModel
from shopmind.recommend.registry import register

log = logging.getLogger(__name__)


class ALSConfig(AlgorithmConfig):
    factors: int = Field(64, ge=1)
    regularization: float = Field(0.05, ge=0)
    alpha: float = Field(2.0, gt=0, description="confidence scale: c = 1 + α·r")
    iterations: int = Field(15, ge=1)
    binary: bool = Field(False, description="fit on presence instead of event weights")


@register
class ALS(FactorModel):
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


def _blas_single_thread() -> Any:
    """implicit parallelises itself; a multi-threaded BLAS underneath oversubscribes the cores."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


__all__ = ["ALS", "ALSConfig"]
