"""Hold-out measurement of a recommender: the split, the ranking and the metrics.

Used at training time by the automatic choice (:mod:`shopmind.recommend.tuning`) and offline by the
evaluation harness and protocols (:mod:`shopmind.evaluate.harness`, :mod:`shopmind.evaluate.protocols`),
so both measure exactly the same way.

* :class:`EvalSplit` — what a model is fitted on and what it is scored against;
* :func:`temporal_protocol` — a global time split of a shop's own data: events at or after the
  ``(1 − test_fraction)`` time quantile are the test set; users and items are those of the training
  period; relevant = any later interaction of a known user with an item they had not interacted with in
  training (re-interactions with already-seen items are excluded with the seen items);
* :func:`rank` — the top-k of a fitted model for the split's users, with the online
  :func:`~shopmind.recommend.base.top_k` (seen items excluded, candidates masked);
* :func:`measure` — the metrics of :mod:`shopmind.recommend.metrics` over those lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from shopmind.data.dataset import EVENT_CODE, Dataset
from shopmind.data.vocabulary import Vocabulary
from shopmind.errors import ConfigError, DataError
from shopmind.recommend.base import Recommender, top_k
from shopmind.recommend.metrics import activity_groups, beyond_accuracy, per_user_metrics, summarize


@dataclass
class EvalSplit:
    """What a model is fitted on and what it is scored against.

    ``truth`` rows are aligned with ``users`` (training-vocabulary user indices); its columns are
    ``truth_items`` — the training item vocabulary first (same indices), then relevant items the model
    cannot know (only in the test period), which still count in ``|test_u|``.
    ``exclude`` is a ``csr[n_train_users, n_items]`` of items never to recommend per user; ``allowed`` a
    candidate mask over training items (``None`` = all). ``history`` (csr rows aligned with ``users``)
    and ``sequences`` are the inputs given to fold-in models at scoring time when they differ from the
    training data (``loo``). ``groups`` maps a grouping name to per-user labels aligned with ``users``.
    """

    dataset: str
    protocol: str
    train: Dataset
    users: np.ndarray
    truth: sp.csr_matrix
    truth_items: Vocabulary
    exclude: sp.csr_matrix
    k: int = 10
    allowed: np.ndarray | None = None
    history: sp.csr_matrix | None = None
    sequences: list[np.ndarray] | None = None
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)

    @property
    def n_items(self) -> int:
        return self.train.n_items


def activity_groups_of(train: Dataset, users: np.ndarray) -> np.ndarray:
    """Activity-tercile labels (:func:`~shopmind.recommend.metrics.activity_groups`) of ``users`` by
    their number of training events."""
    counts = np.bincount(train.user_idx, minlength=train.n_users)
    return activity_groups(counts[users])


def temporal_protocol(
    dataset: Dataset,
    test_fraction: float = 0.2,
    k: int = 10,
    relevant_types: Sequence[str] | None = None,
    name: str = "shop",
) -> EvalSplit:
    """Global time split of a :class:`Dataset` (see module docstring).

    ``relevant_types`` limits which test events are relevant (e.g. ``("purchase",)``); default: all.
    """
    if not 0 < test_fraction < 1:
        raise ConfigError("test_fraction must be in (0, 1)", value=test_fraction)
    if dataset.n_events < 2:
        raise DataError("too few events for a time split", value=dataset.n_events, expected=">= 2")
    cut = np.quantile(dataset.timestamp, 1 - test_fraction)
    is_test = dataset.timestamp >= cut
    if is_test.all() or not is_test.any():
        raise DataError("time split leaves one side empty", value=float(cut), expected="distinct timestamps")
    tr = dataset.subset(~is_test)
    # Restrict vocabularies to the training period (a model can only know what it has seen).
    user_vocab = Vocabulary(tr.users.ids[np.unique(tr.user_idx)], name="user")
    item_vocab = Vocabulary(tr.items.ids[np.unique(tr.item_idx)], name="item")
    old_u = user_vocab.index(tr.users.ids[tr.user_idx])
    old_i = item_vocab.index(tr.items.ids[tr.item_idx])
    train = Dataset(
        user_vocab,
        item_vocab,
        old_u,
        old_i,
        tr.event_type,
        tr.value,
        tr.timestamp,
        item_table=dataset.item_table.loc[item_vocab.ids] if len(dataset.item_table.columns) else None,
        user_table=dataset.user_table.loc[user_vocab.ids] if len(dataset.user_table.columns) else None,
        weights=dataset.weights,
    )
    te_mask = is_test.copy()
    if relevant_types is not None:
        te_mask &= np.isin(dataset.event_type, [EVENT_CODE[t] for t in relevant_types])
    te_users = dataset.users.ids[dataset.user_idx[te_mask]]
    te_items = dataset.items.ids[dataset.item_idx[te_mask]]
    u = user_vocab.index(te_users, on_unknown="missing")
    known = u >= 0
    truth_items = item_vocab.extend(te_items[known])
    ti = truth_items.index(te_items[known]).astype(np.int64)
    uu = u[known].astype(np.int64)
    # Drop re-interactions with training items: they are excluded from the ranking anyway.
    seen = train.seen
    fresh = np.ones(len(uu), dtype=bool)
    in_vocab = ti < train.n_items
    if in_vocab.any():
        fresh[in_vocab] = np.asarray(seen[uu[in_vocab], ti[in_vocab]]).ravel() == 0
    uu, ti = uu[fresh], ti[fresh]
    eval_users = np.unique(uu)
    row_of = np.full(train.n_users, -1, dtype=np.int64)
    row_of[eval_users] = np.arange(len(eval_users))
    truth = sp.csr_matrix(
        (np.ones(len(uu), dtype=np.float32), (row_of[uu], ti)), shape=(len(eval_users), len(truth_items))
    )
    truth.sum_duplicates()
    truth.data[:] = 1.0
    split = EvalSplit(
        dataset=name,
        protocol="temporal",
        train=train,
        users=eval_users,
        truth=truth,
        truth_items=truth_items,
        exclude=seen,
        k=k,
        groups={"activity": activity_groups_of(train, eval_users)},
    )
    split.info.update({"test_fraction": test_fraction, "cut_timestamp": int(cut)})
    return split


def rank(
    model: Recommender, split: EvalSplit, k: int | None = None, batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k indices and scores for ``split.users`` (rows aligned with ``split.users``).

    When the split carries scoring-time inputs (``loo``), models given a sequence use it
    (``score_sequences``), fold-in models use the history rows (``score_history``); others score from
    what they were fitted on.
    """
    k = split.k if k is None else k
    users = split.users
    out_i, out_s = [], []
    seq_fn = getattr(model, "score_sequences", None)
    for start in range(0, len(users), batch_size):
        sl = slice(start, start + batch_size)
        batch = users[sl]
        if split.sequences is not None and callable(seq_fn):
            scores = seq_fn(split.sequences[sl])
        elif split.history is not None and model.supports_fold_in:
            scores = model.score_history(split.history[sl])
        else:
            scores = model.score_users(batch)
        i, s = top_k(scores, k, split.exclude[batch], split.allowed)
        out_i.append(i)
        out_s.append(s)
    if not out_i:
        return np.empty((0, k), dtype=np.int64), np.empty((0, k))
    return np.vstack(out_i), np.vstack(out_s)


def measure(
    split: EvalSplit, recs: np.ndarray, k: int | None = None
) -> tuple[dict[str, float], dict[str, np.ndarray], np.ndarray]:
    """Metrics of ``recs`` (rows aligned with ``split.users``) over users with at least one recommendation.

    Returns ``(summary, per_user, kept_mask)``; ``summary`` includes beyond-accuracy metrics and the
    number of users averaged over.
    """
    k = split.k if k is None else k
    kept = np.asarray(
        (recs >= 0).any(axis=1), dtype=bool
    )  # MS: users present in both the test set and the recommendations
    per_user = per_user_metrics(recs[kept], split.truth[np.flatnonzero(kept)], k)
    summary = summarize(per_user, k)
    train = split.train
    summary.update(beyond_accuracy(recs[kept], train.item_counts(), train.n_users, split.allowed))
    return summary, per_user, kept
