"""Top-k ranking metrics, beyond-accuracy metrics and per-group breakdowns (vectorised numpy).

Inputs are index arrays, never ids:

* ``recs`` — ``int[n_users, k]`` recommended item indices, best first; ``-1`` pads short lists;
* ``truth`` — ``csr[n_users, n_cols]`` relevant items per user (any stored entry is relevant; binary
  gain). ``n_cols`` may exceed the candidate catalogue (relevant items the model could never rank,
  e.g. items only seen in the test split, still count in ``|test_u|``).

Per-user definitions, with ``hit_r`` = 1 when the item at rank ``r`` (1-based) is relevant and
``R_u = |test_u|``:

* ``precision@k = Σ_{r≤k} hit_r / k`` (a short list is still divided by ``k``, as MS Recommenders);
* ``recall@k = Σ_{r≤k} hit_r / R_u``; ``F1@k = 2PR / (P + R)`` (0 when both are 0);
* ``nDCG@k = DCG / IDCG``, ``DCG = Σ_{r≤k} hit_r / log2(r + 1)``, ``IDCG = Σ_{r=1}^{min(R_u,k)} 1/log2(r+1)``;
* ``MAP@k`` as Microsoft Recommenders' ``map_at_k``: ``Σ_{r≤k, hit_r} (hits in 1..r) / r``, divided by
  ``R_u`` (not by ``min(R_u, k)``);
* ``MRR@k = 1 / (rank of the first hit)`` (0 without a hit); ``HR@k = 1`` when any hit.

Beyond accuracy (over the recommended lists of all evaluated users):

* catalogue coverage = distinct recommended items / candidate items;
* novelty = mean of ``−log2 p(i)`` over recommended slots, ``p(i)`` = share of training users who
  interacted with ``i`` (Zhou et al. 2010, "Solving the apparent diversity–accuracy dilemma"); an item
  no training user touched gets count 1 so its self-information stays finite;
* average recommendation popularity (ARP, Abdollahpouri et al. 2019) = mean training count of the
  recommended items;
* Gini of recommendation counts over the candidate items (0 = every item recommended equally often,
  → 1 = all recommendations on one item): ``G = Σ_i (2i − n − 1) x_(i) / (n Σ x)`` with ``x`` sorted
  ascending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from shopmind.errors import DataError

ACCURACY_METRICS = ("precision", "recall", "f1", "ndcg", "map", "mrr", "hr")


def hit_matrix(recs: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
    """Boolean ``[n_users, k]``: is ``recs[u, r]`` relevant for user ``u``? Padding (-1) is never a hit."""
    recs = np.asarray(recs, dtype=np.int64)
    if recs.ndim != 2:
        raise DataError(
            "recommendations must be a 2-d index array", value=recs.shape, expected="[n_users, k]"
        )
    truth = sp.csr_matrix(truth)
    if recs.shape[0] != truth.shape[0]:
        raise DataError(
            "recommendations and truth cover different users",
            value=(recs.shape[0], truth.shape[0]),
            expected="the same number of rows",
        )
    if recs.size and recs.max() >= truth.shape[1]:
        raise DataError("recommended item index beyond the truth matrix", value=int(recs.max()))
    n, k = recs.shape
    valid = recs >= 0
    rows = np.repeat(np.arange(n), k)[valid.ravel()]
    cols = recs.ravel()[valid.ravel()]
    hits = np.zeros(n * k, dtype=bool)
    if len(rows):
        # CSR fancy indexing returns stored values (0 where absent); binary relevance = stored and > 0.
        hits[np.flatnonzero(valid.ravel())] = np.asarray(truth[rows, cols]).ravel() > 0
    return hits.reshape(n, k)


def n_relevant(truth: sp.csr_matrix) -> np.ndarray:
    """``|test_u|`` per row: stored entries with a positive value."""
    t = sp.csr_matrix(truth)
    return np.diff(t.indptr) if (t.data > 0).all() else np.asarray((t > 0).sum(axis=1)).ravel()


def per_user_metrics(recs: np.ndarray, truth: sp.csr_matrix, k: int | None = None) -> dict[str, np.ndarray]:
    """Per-user accuracy metrics at ``k`` (default: the list length). See the module docstring.

    Returns ``{"precision", "recall", "f1", "ndcg", "map", "mrr", "hr"}`` → ``float[n_users]``.
    Users with no relevant item get recall/nDCG/MAP 0 (callers should evaluate only users with test items).
    """
    recs = np.asarray(recs, dtype=np.int64)
    k = recs.shape[1] if k is None else int(k)
    if k <= 0:
        raise DataError("k must be positive", value=k)
    recs = recs[:, :k]
    if recs.shape[1] < k:  # pad so precision divides by k
        recs = np.hstack([recs, np.full((recs.shape[0], k - recs.shape[1]), -1, dtype=np.int64)])
    hits = hit_matrix(recs, truth).astype(np.float64)
    n_rel = n_relevant(truth).astype(np.float64)
    safe_rel = np.where(n_rel > 0, n_rel, 1.0)
    ranks = np.arange(1, k + 1, dtype=np.float64)
    n_hits = hits.sum(axis=1)
    precision = n_hits / k
    recall = np.where(n_rel > 0, n_hits / safe_rel, 0.0)
    denom = precision + recall
    f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1.0), 0.0)
    discount = 1.0 / np.log2(ranks + 1.0)
    dcg = hits @ discount
    ideal_cum = np.concatenate([[0.0], np.cumsum(discount)])
    idcg = ideal_cum[np.minimum(n_rel, k).astype(np.int64)]
    ndcg = np.where(idcg > 0, dcg / np.where(idcg > 0, idcg, 1.0), 0.0)
    cum_hits = np.cumsum(hits, axis=1)
    ap = (hits * cum_hits / ranks).sum(axis=1)
    map_ = np.where(n_rel > 0, ap / safe_rel, 0.0)
    any_hit = n_hits > 0
    first = np.argmax(hits > 0, axis=1)
    mrr = np.where(any_hit, 1.0 / (first + 1.0), 0.0)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "ndcg": ndcg,
        "map": map_,
        "mrr": mrr,
        "hr": any_hit.astype(np.float64),
    }


def summarize(per_user: Mapping[str, np.ndarray], k: int) -> dict[str, float]:
    """Mean over users, keyed ``"<metric>@k"`` except ``"map"`` (the MS name, which is MAP@k)."""
    out: dict[str, float] = {}
    for name, values in per_user.items():
        key = "map" if name == "map" else f"{name}@{k}"
        out[key] = float(np.mean(values)) if len(values) else float("nan")
    return out


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0 = equal; (n−1)/n = all mass on one entry)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n = len(x)
    total = x.sum()
    if n == 0 or total <= 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def beyond_accuracy(
    recs: np.ndarray,
    item_counts: np.ndarray,
    n_train_users: int,
    candidates: np.ndarray | None = None,
) -> dict[str, float]:
    """Coverage, novelty, ARP and Gini of the recommended lists (see the module docstring).

    ``item_counts[i]`` = training users who interacted with item ``i`` (length = number of model items);
    ``candidates`` = boolean mask of items that could be recommended (default: all model items).
    """
    recs = np.asarray(recs, dtype=np.int64)
    counts = np.asarray(item_counts, dtype=np.float64)
    n_items = len(counts)
    cand = np.ones(n_items, dtype=bool) if candidates is None else np.asarray(candidates, dtype=bool)
    flat = recs[recs >= 0]
    if flat.size and flat.max() >= n_items:
        raise DataError(
            "recommended item index beyond item_counts", value=int(flat.max()), expected=f"< {n_items}"
        )
    rec_counts = np.bincount(flat, minlength=n_items).astype(np.float64)
    n_cand = int(cand.sum())
    if flat.size == 0:
        return {"coverage": 0.0, "novelty": float("nan"), "arp": float("nan"), "gini": 0.0}
    p = np.maximum(counts[flat], 1.0) / max(n_train_users, 1)
    return {
        "coverage": float((rec_counts[cand] > 0).sum() / max(n_cand, 1)),
        "novelty": float(np.mean(-np.log2(p))),
        "arp": float(np.mean(counts[flat])),
        "gini": gini(rec_counts[cand]),
    }


def group_metrics(
    per_user: Mapping[str, np.ndarray], groups: np.ndarray, k: int, order: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """Accuracy metrics averaged within each user group (``groups[u]`` = label of evaluated user ``u``).

    Each group's dict also carries ``"users"`` (its size), so small groups are visible as such.
    """
    labels = np.asarray(groups).astype(str)
    names = list(order) if order is not None else sorted(set(labels.tolist()))
    out: dict[str, dict[str, float]] = {}
    for g in names:
        mask = labels == g
        if not mask.any():
            continue
        row = summarize({m: v[mask] for m, v in per_user.items()}, k)
        row["users"] = float(mask.sum())
        out[g] = row
    return out


def activity_groups(n_train_events: np.ndarray, quantiles: Sequence[float] = (1 / 3, 2 / 3)) -> np.ndarray:
    """Label users ``low`` / ``medium`` / ``high`` by training activity tertiles (ties go to the lower band)."""
    x = np.asarray(n_train_events, dtype=np.float64)
    if len(x) == 0:
        return np.empty(0, dtype=object)
    cuts = np.quantile(x, list(quantiles))
    band = np.searchsorted(cuts, x, side="left")
    names = np.array(
        ["low", "medium", "high"] if len(quantiles) == 2 else [f"q{i}" for i in range(len(cuts) + 1)]
    )
    return names[band]
