"""Neighbourhood collaborative filtering: user-based (Pearson) and item-based kNN.

**User-based, Pearson** (Resnick et al. 1994; Herlocker et al. 1999; the worked example in Jannach
et al., *Recommender Systems: An Introduction*, §2.1). Over ``I_uv``, the items both users rated,
with ``r̄_u``, ``r̄_v`` the means over those co-rated items (``mean="corated"``, the textbook
correlation; ``mean="user"`` uses each user's overall mean instead)::

    sim(u, v) = Σ_{i∈I_uv} (r_ui − r̄_u)(r_vi − r̄_v)
                / sqrt( Σ_{i∈I_uv} (r_ui − r̄_u)² · Σ_{i∈I_uv} (r_vi − r̄_v)² )
    shrunk:    sim'(u, v) = sim(u, v) · n_uv / (n_uv + λ),   n_uv = |I_uv|, 0 when n_uv < min_overlap
    predict:   r̂_ui = r̄_u + Σ_{v∈N_k(u,i)} sim'(u,v)(r_vi − r̄_v) / Σ_{v∈N_k(u,i)} |sim'(u,v)|

where the prediction uses each user's overall mean and ``N_k(u, i)`` = the ``k`` most similar
users to ``u`` (among the ``candidates`` kept per user) that rated ``i``. Every co-rated sum is a
sparse product, computed in blocks of users: with ``R`` the ratings and ``M`` the binary rated mask,
``Σ r_ui r_vi = R Rᵀ``, ``Σ_{I_uv} r_ui = R Mᵀ``, ``Σ_{I_uv} r_ui² = (R∘R) Mᵀ``, ``n_uv = M Mᵀ``, and
``Σ(r_ui − r̄_u)(r_vi − r̄_v) = Σ r_ui r_vi − (Σ r_ui)(Σ r_vi)/n_uv`` (likewise the squares).
Top-N scoring (``score_users``) is the similarity-weighted sum of neighbours' interactions
``score_ui = Σ_{v∈N_k(u)} sim'(u,v) · x_vi``; as a rating predictor the model ranks poorly under
top-N protocols (it predicts high ratings for obscure items), which is why both uses exist.

**Item-based** (Sarwar et al. 2001; Deshpande & Karypis 2004): cosine of item columns of the
interaction matrix; *adjusted cosine* (ratings centred by the user's mean); *Pearson* (centred by
the item's mean). Norms run over all of an item's users (the usual sparse formulation), an optional
shrinkage ``n_ij/(n_ij+λ)`` damps pairs with little support, and each target item keeps only its
``k`` most similar neighbours (``sim > min_sim``). ``score_ui = Σ_{j∈I_u} x_uj · S_ji``, so fold-in is
one sparse product with the user's updated row.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from shopmind.data.dataset import EVENT_CODE, Dataset
from shopmind.errors import CapacityError
from shopmind.recommend.base import (
    AlgorithmConfig,
    Recommender,
    csr_row_positions,
    interaction_matrix,
    load_sparse,
    save_sparse,
)
from shopmind.recommend.registry import register

log = logging.getLogger(__name__)

_BLOCK_CELLS = 1 << 22  # dense cells per similarity block (~32 MB float64): bounded memory


def explicit_or_implicit(dataset: Dataset) -> sp.csr_matrix:
    """Explicit ratings when the dataset has rating events, else the weighted interaction matrix."""
    if (dataset.event_type == EVENT_CODE["rating"]).any():
        return dataset.ratings().astype(np.float64).tocsr()
    return dataset.matrix().astype(np.float64).tocsr()


def centre_rows(r: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
    """``Z = R − r̄_u`` on the stored entries (structure kept, explicit zeros included) and ``r̄``."""
    r = sp.csr_matrix(r, dtype=np.float64)
    counts = np.diff(r.indptr)
    sums = np.asarray(r.sum(axis=1)).ravel()
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    z = r.copy()
    z.data = z.data - np.repeat(means, counts)
    return z, means


def _column_blocks(
    v: sp.csr_matrix, max_cols: int = 2048, max_pairs: int = 20_000_000
) -> list[tuple[int, int]]:
    """Column ranges for blockwise ``vᵀ v[:, block]``: at most ``max_cols`` columns and about
    ``max_pairs`` co-occurrences each.

    A column's co-occurrence count is bounded by ``Σ_{u ∋ i} |I_u|`` (one product per user of item
    ``i`` and item of that user), so a block of head items — which co-occur with nearly everything on
    a long-tail catalogue — gets few columns and memory stays bounded (≈ 12 bytes per pair, a few
    copies) while tail blocks stay wide. The blocks do not change the result.
    """
    n_items = v.shape[1]
    if n_items == 0:
        return []
    present = sp.csr_matrix(v, copy=True)
    present.data[:] = 1.0
    bound = np.asarray(present.T @ np.diff(present.indptr).astype(np.float64)).ravel()
    blocks, start = [], 0
    cum = np.concatenate([[0.0], np.cumsum(bound)])
    while start < n_items:
        # the furthest stop with Σ bound[start:stop] <= max_pairs (at least one column)
        stop = int(np.searchsorted(cum, cum[start] + max_pairs, side="right")) - 1
        stop = min(max(stop, start + 1), start + max_cols, n_items)
        blocks.append((start, stop))
        start = stop
    return blocks


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """``np.concatenate`` that accepts an empty list (an empty dataset)."""
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype=dtype)


def _top_k_rows(dense: np.ndarray, k: int, min_sim: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COO (row, col, value) of the ``k`` largest entries > ``min_sim`` per row of ``dense``."""
    n, m = dense.shape
    kk = min(k, m)
    if kk <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    cols = np.argpartition(-dense, kk - 1, axis=1)[:, :kk] if kk < m else np.tile(np.arange(m), (n, 1))
    vals = np.take_along_axis(dense, cols, axis=1)
    rows = np.repeat(np.arange(n), kk).reshape(n, kk)
    keep = vals > min_sim
    return rows[keep], cols[keep], vals[keep]


class UserKNNConfig(AlgorithmConfig):
    similarity: Literal["pearson", "cosine"] = Field(
        "pearson", description="textbook Pearson on ratings, or cosine of interaction rows (implicit data)"
    )
    k: int = Field(40, ge=1, description="neighbours that vote on a prediction / a top-N list")
    candidates: int = Field(400, ge=1, description="most similar users kept per user (>= k)")
    shrinkage: float = Field(10.0, ge=0, description="λ in n/(n+λ)")
    min_overlap: int = Field(2, ge=1, description="minimum co-rated items for a similarity")
    mean: Literal["corated", "user"] = Field(
        "corated", description="centre by the means over co-rated items (textbook) or overall means"
    )
    min_sim: float = Field(0.0, description="neighbours need sim' > min_sim (-1 keeps negatives)")
    top_n_binary: bool = Field(True, description="top-N scores weight binary interactions (else weights)")
    max_users: int = Field(200_000, ge=1, description="refuse above this many users (U² similarity work)")


@register
class UserKNN(Recommender):
    """User-based CF with textbook Pearson similarity (see module docstring)."""

    name = "user_knn"
    Config = UserKNNConfig
    config: UserKNNConfig
    supports_fold_in = False

    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        if dataset.n_users > cfg.max_users:
            raise CapacityError(
                f"user_knn compares every pair of users ({dataset.n_users}² similarities)",
                value=dataset.n_users,
                expected=f"at most max_users={cfg.max_users} users; use item_knn, ease or als at this scale",
            )
        r = explicit_or_implicit(dataset)
        z, means = centre_rows(r)
        mask = r.copy()
        mask.data[:] = 1.0
        # "user" mean: Pearson of the overall-mean-centred ratings (Z) over co-rated items;
        # cosine: the raw interaction rows with full norms (implicit feedback, no ratings).
        if cfg.similarity == "cosine":
            base = interaction_matrix(dataset).astype(np.float64).tocsr()
            mask = base.copy()
            mask.data[:] = 1.0
        else:
            base = z if cfg.mean == "user" else r
        row_sq = np.asarray(base.multiply(base).sum(axis=1)).ravel()
        sq = base.multiply(base).tocsr()
        n = r.shape[0]
        keep = max(cfg.candidates, cfg.k)
        bt, mt, sqt = base.T.tocsr(), mask.T.tocsr(), sq.T.tocsr()
        rows_, cols_, vals_ = [], [], []
        block = max(1, _BLOCK_CELLS // max(n, 1))
        for start in range(0, n, block):
            b = slice(start, min(start + block, n))
            overlap = (mask[b] @ mt).toarray()
            sxy = (base[b] @ bt).toarray()
            sxx = (sq[b] @ mt).toarray()  # Σ_{i∈I_uv} x_ui²
            syy = (mask[b] @ sqt).toarray()  # Σ_{i∈I_uv} x_vi²
            if cfg.similarity == "cosine":
                sxx = np.broadcast_to(row_sq[b][:, None], sxy.shape).copy()
                syy = np.broadcast_to(row_sq[None, :], sxy.shape).copy()
            elif cfg.mean == "corated":
                sx = (base[b] @ mt).toarray()  # Σ_{i∈I_uv} r_ui
                sy = (mask[b] @ bt).toarray()  # Σ_{i∈I_uv} r_vi
                inv_n = np.divide(1.0, overlap, out=np.zeros_like(overlap), where=overlap > 0)
                sxy -= sx * sy * inv_n
                sxx -= sx * sx * inv_n
                syy -= sy * sy * inv_n
            den = np.sqrt(np.maximum(sxx, 0.0) * np.maximum(syy, 0.0))
            sim = np.divide(sxy, den, out=np.zeros_like(sxy), where=den > 1e-12)
            if cfg.shrinkage > 0:
                sim *= overlap / (overlap + cfg.shrinkage)
            sim[overlap < cfg.min_overlap] = 0.0
            local = np.arange(b.stop - b.start)
            sim[local, local + start] = -np.inf  # never one's own neighbour
            rr, cc, vv = _top_k_rows(sim, keep, cfg.min_sim)
            rows_.append(rr + start)
            cols_.append(cc)
            vals_.append(vv)
        self.neighbours = sp.csr_matrix(
            (_cat(vals_, np.float64), (_cat(rows_, np.int64), _cat(cols_, np.int64))), shape=(n, n)
        )
        self.centred = z.tocsr()
        self.means = means
        self.rating_range = (float(r.data.min()), float(r.data.max())) if r.nnz else (0.0, 0.0)
        x = interaction_matrix(dataset, binary=cfg.top_n_binary).astype(np.float64)
        self.interactions = x
        self._top_neighbours = self._prune(cfg.k)

    def _prune(self, k: int) -> sp.csr_matrix:
        """The ``k`` most similar of the stored candidates per user (for top-N scoring)."""
        w = self.neighbours.tocsr()
        rows, cols, vals = [], [], []
        for u in range(w.shape[0]):
            lo, hi = w.indptr[u], w.indptr[u + 1]
            if hi == lo:
                continue
            order = np.argsort(-w.data[lo:hi], kind="stable")[:k]
            rows.append(np.full(len(order), u))
            cols.append(w.indices[lo:hi][order])
            vals.append(w.data[lo:hi][order])
        if not rows:
            return sp.csr_matrix(w.shape)
        return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), w.shape)

    def similarity(self, u: int, v: int) -> float:
        """Stored (shrunk) similarity of users ``u`` and ``v`` (0 if ``v`` is not a kept candidate)."""
        self.check_fitted()
        return float(self.neighbours[u, v])

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        self.check_fitted()
        users = self.check_users(user_idx)
        return np.asarray((self._top_neighbours[users] @ self.interactions).toarray())

    def predict(self, user_idx: np.ndarray | int, item_idx: np.ndarray | int) -> np.ndarray:
        """Predicted ratings for (user, item) pairs with the formula in the module docstring.

        Pairs are grouped by user; per user one dense ``[candidates, items]`` slice picks, for each
        item, the ``k`` most similar candidates who rated it (no loop over pairs). Users with no
        voter for an item get their mean ``r̄_u``; predictions are clipped to the training range.
        """
        self.check_fitted()
        users = np.atleast_1d(self.check_users(np.asarray(user_idx)))
        items = np.atleast_1d(self.check_items(np.asarray(item_idx)))
        users, items = np.broadcast_arrays(users, items)
        out = self.means[users].astype(np.float64)
        w = self.neighbours
        zc = self.centred.tocsc()
        order = np.argsort(users, kind="stable")
        bounds = np.flatnonzero(np.diff(users[order])) + 1
        for group in np.split(order, bounds):
            if not len(group):
                continue
            u = int(users[group[0]])
            lo, hi = w.indptr[u], w.indptr[u + 1]
            if hi == lo:
                continue
            srt = np.argsort(-w.data[lo:hi], kind="stable")
            nb, sims = w.indices[lo:hi][srt], w.data[lo:hi][srt]
            sub = zc[:, items[group]].tocsr()[nb]  # [neighbours, items] centred ratings
            rated = sub.copy()
            rated.data[:] = 1.0
            rated_d = rated.toarray()
            # the first k raters (in similarity order) of each item vote
            voters = rated_d * (np.cumsum(rated_d, axis=0) <= self.config.k)
            wts = sims[:, None] * voters
            num = (wts * sub.toarray()).sum(axis=0)
            den = np.abs(wts).sum(axis=0)
            out[group] += np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        lo_r, hi_r = self.rating_range
        return np.clip(out, lo_r, hi_r) if hi_r > lo_r else out

    def _state(self) -> dict[str, np.ndarray]:
        return {
            **save_sparse("neighbours", self.neighbours),
            **save_sparse("centred", self.centred),
            **save_sparse("interactions", self.interactions),
            "means": self.means,
            "rating_range": np.asarray(self.rating_range),
        }

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        self.neighbours = load_sparse("neighbours", arrays)
        self.centred = load_sparse("centred", arrays)
        self.interactions = load_sparse("interactions", arrays)
        self.means = arrays["means"]
        self.rating_range = (float(arrays["rating_range"][0]), float(arrays["rating_range"][1]))
        self._top_neighbours = self._prune(self.config.k)


class ItemKNNConfig(AlgorithmConfig):
    similarity: Literal["cosine", "adjusted_cosine", "pearson"] = "cosine"
    k: int = Field(100, ge=1, description="neighbours kept per target item")
    shrinkage: float = Field(0.0, ge=0, description="λ in n_ij/(n_ij+λ)")
    min_overlap: int = Field(1, ge=1, description="minimum users in common for a similarity")
    min_sim: float = Field(0.0, description="keep only neighbours with sim > min_sim")
    binary: bool = Field(False, description="cosine on presence (1/0) instead of event weights")
    normalize: bool = Field(
        False, description="divide a score by Σ |sim| of the history neighbours (weighted average)"
    )


@register
class ItemKNN(Recommender):
    """Item-based CF: cosine / adjusted cosine / Pearson with top-k pruning (module docstring)."""

    name = "item_knn"
    Config = ItemKNNConfig
    config: ItemKNNConfig
    supports_fold_in = True
    supports_similar = True

    def _fit(self, dataset: Dataset) -> None:
        cfg = self.config
        x = interaction_matrix(dataset, binary=cfg.binary).astype(np.float64)
        if cfg.similarity == "cosine":
            v = x
        elif cfg.similarity == "adjusted_cosine":
            v, _ = centre_rows(explicit_or_implicit(dataset))
        else:
            zt, _ = centre_rows(explicit_or_implicit(dataset).T.tocsr())
            v = zt.T.tocsr()
        self.similarity_matrix = item_similarity(v, cfg.k, cfg.shrinkage, cfg.min_overlap, cfg.min_sim)
        self.similarity_matrix.sort_indices()  # similarity_block's binary search needs sorted rows
        self.interactions = x

    def score_users(self, user_idx: np.ndarray) -> np.ndarray:
        self.check_fitted()
        users = self.check_users(user_idx)
        return self._score(self.interactions[users])

    def score_history(self, rows: sp.csr_matrix) -> np.ndarray:
        self.check_fitted()
        return self._score(self.check_rows(rows).astype(np.float64))

    def _score(self, rows: sp.csr_matrix) -> np.ndarray:
        scores = np.asarray((rows @ self.similarity_matrix).toarray())
        if self.config.normalize:
            present = rows.copy()
            present.data[:] = 1.0
            den = np.asarray((present @ abs(self.similarity_matrix)).toarray())
            scores = np.divide(scores, den, out=np.zeros_like(scores), where=den > 0)
        return scores

    def score_row(self, items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``Σ_j x_uj · S_j`` by gathering the history's rows of ``S`` (numpy, no scipy product).

        ``bincount`` adds each target's contributions in history order, as scipy's sparse product
        does, in float64 — the same sums as :meth:`score_history` of the one-row matrix.
        """
        self.check_fitted()
        if self.config.normalize:
            return super().score_row(items, weights)
        s = self.similarity_matrix
        pos, lens = csr_row_positions(s.indptr, items)
        contrib = s.data[pos] * np.repeat(np.asarray(weights, dtype=np.float32).astype(np.float64), lens)
        return np.bincount(s.indices[pos], weights=contrib, minlength=self.n_items), None

    def similar_scores(self, item_idx: np.ndarray) -> np.ndarray:
        self.check_fitted()
        items = self.check_items(item_idx)
        # column i holds target i's neighbours; its transpose row is "items similar to i"
        return np.asarray(self._similar_t[items].toarray())

    def similarity_block(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """``S[sources, targets]``: the weight of history item ``j`` in target ``i``'s score.

        Looked up in the CSR arrays (rows gathered, then a binary search of ``row · n + column`` codes,
        sorted because each row's columns are): explanations need a few hundred cells, for which
        scipy's two fancy indexings cost more than the lookup itself.
        """
        self.check_fitted()
        s = self.similarity_matrix
        sources = np.asarray(sources, dtype=np.int64)
        targets = np.asarray(targets, dtype=np.int64)
        out = np.zeros((len(sources), len(targets)))
        pos, lens = csr_row_positions(s.indptr, sources)
        if not len(pos) or not len(targets):
            return out
        n = np.int64(self.n_items)
        codes = np.repeat(np.arange(len(sources), dtype=np.int64), lens) * n + s.indices[pos]
        query = (np.arange(len(sources), dtype=np.int64)[:, None] * n + targets[None, :]).ravel()
        at = np.minimum(np.searchsorted(codes, query), len(codes) - 1)
        hit = codes[at] == query
        out.ravel()[hit] = s.data[pos[at[hit]]]
        return out

    @property
    def _similar_t(self) -> sp.csr_matrix:
        if getattr(self, "_sim_t", None) is None:
            self._sim_t = self.similarity_matrix.T.tocsr()
        return self._sim_t

    def _state(self) -> dict[str, np.ndarray]:
        return {**save_sparse("similarity", self.similarity_matrix), **save_sparse("x", self.interactions)}

    def _restore(self, arrays: dict[str, np.ndarray], directory: Path) -> None:
        self.similarity_matrix = load_sparse("similarity", arrays)
        self.similarity_matrix.sort_indices()  # similarity_block's binary search needs sorted rows
        self.interactions = load_sparse("x", arrays)


def item_similarity(
    v: sp.csr_matrix, k: int, shrinkage: float = 0.0, min_overlap: int = 1, min_sim: float = 0.0
) -> sp.csr_matrix:
    """Pruned cosine similarity of the columns of ``v`` (users × items), as CSR ``S[j, i]``.

    Column ``i`` of the result holds target ``i``'s ``k`` most similar items ``j ≠ i`` with
    ``sim > min_sim``; shrinkage multiplies by ``n_ij/(n_ij+λ)`` (``n_ij`` = common users). Computed
    sparse, in blocks of target columns (``vᵀ v[:, block]``), with the per-column top-k taken on the
    non-zeros, so memory is bounded by the block's co-occurrences, never ``n_items²``.
    """
    v = sp.csr_matrix(v, dtype=np.float64)
    n_items = v.shape[1]
    norms = np.sqrt(np.asarray(v.multiply(v).sum(axis=0)).ravel())
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    vn = sp.csc_matrix(v @ sp.diags(inv))
    vt = vn.T.tocsr()
    need_overlap = shrinkage > 0 or min_overlap > 1
    if need_overlap:
        b = v.copy()
        b.data[:] = 1.0
        b = b.tocsc()
        bt = b.T.tocsr()
    rows_, cols_, vals_ = [], [], []
    for start, stop in _column_blocks(v):
        c = slice(start, stop)
        sim = sp.csr_matrix(vt @ vn[:, c])  # [n_items, block], sparse
        if need_overlap:
            overlap = sp.csr_matrix(bt @ b[:, c])
            factor = overlap.copy()
            factor.data = np.where(
                overlap.data >= min_overlap,
                overlap.data / (overlap.data + shrinkage) if shrinkage > 0 else 1.0,
                0.0,
            )
            sim = sp.csr_matrix(sim.multiply(factor))
        csc = sp.csc_matrix(sim)
        csc.sort_indices()
        for col in range(csc.shape[1]):
            lo, hi = csc.indptr[col], csc.indptr[col + 1]
            j, val = csc.indices[lo:hi], csc.data[lo:hi]
            ok = (val > min_sim) & (j != col + start)  # an item is not its own neighbour
            j, val = j[ok], val[ok]
            if len(val) > k:
                # argpartition per column: O(nnz) and no global sort over the block's pairs
                top = np.argpartition(-val, k - 1)[:k]
                j, val = j[top], val[top]
            rows_.append(j)
            cols_.append(np.full(len(j), col + start))
            vals_.append(val)
    s = sp.csr_matrix(
        (_cat(vals_, np.float64), (_cat(rows_, np.int64), _cat(cols_, np.int64))), shape=(n_items, n_items)
    )
    s.eliminate_zeros()
    log.debug("item similarity: %d items, %d kept pairs", n_items, s.nnz)
    return s
