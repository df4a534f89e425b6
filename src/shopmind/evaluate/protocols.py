"""Offline evaluation protocols: how a benchmark is split into what a model sees and what it is scored on.

Every protocol returns an :class:`~shopmind.recommend.holdout.EvalSplit`; the harness (``shopmind.evaluate.harness``) fits a model on
``split.train`` and scores its top-k for ``split.users`` against ``split.truth``.

* ``msr`` — Microsoft Recommenders' MovieLens-100k benchmark, bit for bit (``python_stratified_split``
  with ``filter_by="item"``): ratings in file order; ``np.random.seed(seed)``; one uniform random number
  per row; sort by (item, random); rank rows within each item 1..n; train = rank ≤ round(0.75·n) with
  numpy's round-half-to-even; test = the rest. Candidates are the training items, the user's training
  items are excluded, every test rating is relevant; metrics are averaged over users present in both
  the test set and the recommendations.
* ``loo`` — leave-last-out over time-ordered sequences (S3Rec/SASRec convention): last item = test,
  second-to-last = validation, the rest = train. Models are fitted on the train prefix (``len − 2``
  items, as S3Rec's fine-tuning does); at test time a model that can fold in (``score_sequences`` /
  ``score_history``) is given the prefix up to and including the validation item. All items are ranked
  (no sampled negatives); the user's history items are excluded from the ranking, as S3Rec's
  ``full_sort`` does (``rating_pred[train_matrix > 0] = 0``), so a test item that repeats a history item
  counts as a miss. ``phase="valid"`` scores the validation item from the ``len − 2`` prefix (tuning).
* ``temporal`` — a global time split for the shop's own data
  (:func:`shopmind.recommend.holdout.temporal_protocol`, shared with the training-time automatic choice).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopmind.data.dataset import Dataset, EventWeights
from shopmind.data.vocabulary import Vocabulary
from shopmind.datasets.sequences import load_s3rec_attributes, read_s3rec_sequences
from shopmind.errors import ConfigError, DataError, Location
from shopmind.recommend.holdout import EvalSplit, activity_groups_of, temporal_protocol

log = logging.getLogger(__name__)

PROTOCOLS = ("msr", "loo", "temporal")


# --------------------------------------------------------------------------- readers
def find_inter_file(path: Path) -> Path:
    """The RecBole ``.inter`` file named by ``path``: the file itself, or in a folder ``ml-100k.inter``
    when present, else its only ``*.inter`` file (any name)."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise DataError(
            "ml-100k ratings path does not exist",
            value=str(path),
            expected="a RecBole .inter file or a folder holding one",
        )
    if (path / "ml-100k.inter").is_file():
        return path / "ml-100k.inter"
    found = sorted(path.glob("*.inter"))
    if len(found) != 1:
        raise DataError(
            "no single .inter file in the folder" if found else "no .inter file in the folder",
            value=[f.name for f in found] if found else str(path),
            expected="exactly one RecBole .inter file (or pass the file itself)",
        )
    return found[0]


def read_ml100k(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(ratings, items, users)`` of ml-100k in RecBole atomic files ``<name>.{inter,item,user}``.

    ``data_dir`` is the ``.inter`` file itself or a folder holding it (see :func:`find_inter_file`);
    the ``.item`` and ``.user`` files with the same stem are read when they exist. The files are read
    by :mod:`shopmind.datasets.movielens`; ``ratings`` keeps FILE order (the MS split depends on it):
    ``user_id, item_id, rating, timestamp``. ``items`` has ``id, title, description, category
    (genres), attributes``; ``users`` has ``id`` and the user attributes as columns (``age, gender,
    occupation, zip_code``), which :func:`msr_protocol` groups users by.
    """
    from shopmind.datasets.movielens import (
        load_movielens_items,
        load_movielens_ratings,
        load_movielens_users,
    )

    inter = find_inter_file(Path(data_dir))
    ratings = load_movielens_ratings(inter)
    items = pd.DataFrame({"id": pd.Series(dtype=str)})
    users = pd.DataFrame({"id": pd.Series(dtype=str)})
    item_file, user_file = inter.with_suffix(".item"), inter.with_suffix(".user")
    if item_file.exists():
        items = load_movielens_items(item_file)
        items.insert(2, "description", "")
    if user_file.exists():
        table = load_movielens_users(user_file)
        users = pd.concat(
            [table[["id"]], pd.DataFrame(table["attributes"].tolist(), index=table.index)], axis=1
        )
    return ratings, items, users


def read_sequences(path: Path) -> tuple[list[str], list[list[str]]]:
    """``(users, sequences)`` of an S3Rec file (:func:`shopmind.datasets.sequences.read_s3rec_sequences`)."""
    seqs = read_s3rec_sequences(path)
    if not seqs:
        raise DataError("sequence file is empty", value=str(path), expected="lines 'user item1 item2 …'")
    return list(seqs), list(seqs.values())


INTERACTION_COLUMNS = ("user_id", "item_id", "rating", "timestamp")
MAX_INTERACTION_ROWS = 50_000_000
"""Rows read from one interactions file (a 50 M-row CSV is ~2 GB; larger files should be sampled)."""


def read_interactions(
    path: Path,
    *,
    user_col: str = "user_id",
    item_col: str = "item_id",
    rating_col: str | None = None,
    time_col: str | None = None,
) -> pd.DataFrame:
    """A plain interactions file as ``user_id, item_id, rating, timestamp`` in FILE order.

    The file is a CSV (header row, comma-separated; ``.tsv`` tab-separated) or Parquet, one row per
    interaction. ``rating_col`` (a number; default column ``rating`` when present, else every row
    weighs 1.0) and ``time_col`` (unix seconds or an ISO-8601 date/time; default column ``timestamp``
    when present, else 0 = order only) are optional. A bad value raises :class:`DataError` naming the
    file, the line (CSV; header = line 1) or row (Parquet, 1-based) and the column.
    """
    from shopmind.datasets._io import read_table

    path = Path(path)
    if not path.is_file():
        raise DataError("interactions file not found", value=str(path), expected="a CSV or Parquet file")
    parquet = path.suffix.lower() in (".parquet", ".pq")
    if parquet:
        frame = pd.read_parquet(path)
        frame = frame.astype({c: str for c in frame.columns if frame[c].dtype == object})
    else:
        import csv

        frame = read_table(
            path, sep="\t" if path.suffix.lower() == ".tsv" else ",", quoting=csv.QUOTE_MINIMAL
        )
    header = 0 if parquet else 1
    if len(frame) > MAX_INTERACTION_ROWS:
        raise DataError(
            "interactions file too large", value=len(frame), expected=f"<= {MAX_INTERACTION_ROWS:,} rows"
        )
    if frame.empty:
        raise DataError("interactions file has no rows", value=str(path), location=Location(str(path)))
    cols = list(frame.columns)
    rating_col = rating_col or ("rating" if "rating" in cols and rating_col is None else None)
    time_col = time_col or ("timestamp" if "timestamp" in cols and time_col is None else None)
    wanted = [c for c in (user_col, item_col, rating_col, time_col) if c]
    missing = [c for c in wanted if c not in cols]
    if missing:
        raise DataError(
            "missing columns",
            value=missing,
            expected=f"columns {', '.join(wanted)} (the header has {', '.join(map(str, cols))})",
            location=Location(str(path), 1 if not parquet else None),
        )

    # rows without an item (e.g. the search events of an event export) are not interactions: skipped,
    # and counted in ``frame.attrs["rows_without_item"]``
    raw_item = frame[item_col]
    no_item = raw_item.isna().to_numpy() | (raw_item.astype(str).str.strip() == "").to_numpy()
    lines = np.flatnonzero(~no_item) + 1 + header  # source line (CSV) or row (Parquet) of each kept row
    frame = frame[~no_item].reset_index(drop=True)
    if frame.empty:
        raise DataError(
            "no row has an item id",
            value=item_col,
            expected="interactions with an item",
            location=Location(str(path)),
        )

    def fail(message: str, pos: int, col: str, expected: str) -> DataError:
        return DataError(
            message,
            value=frame[col].iloc[pos],
            expected=expected,
            location=Location(str(path), int(lines[pos]), col),
        )

    def ids(col: str) -> np.ndarray:
        raw = frame[col]
        values = raw.astype(str).str.strip()
        bad = raw.isna().to_numpy() | (values == "").to_numpy()
        if bad.any():
            raise fail("empty id", int(np.flatnonzero(bad)[0]), col, "a non-empty id")
        return values.to_numpy(dtype=object)

    out = pd.DataFrame({"user_id": ids(user_col), "item_id": ids(item_col)})
    if rating_col:
        rating = pd.to_numeric(frame[rating_col], errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(rating)
        if bad.any():
            raise fail("rating is not a number", int(np.flatnonzero(bad)[0]), rating_col, "a finite number")
        out["rating"] = rating
    else:
        out["rating"] = 1.0
    if time_col:
        secs = _unix_seconds(frame[time_col])
        if secs is None or (secs < 0).any():
            bad = _bad_times(frame[time_col])
            raise fail(
                "bad time",
                int(np.flatnonzero(bad)[0]),
                time_col,
                "unix seconds >= 0 or an ISO-8601 date/time (2024-05-01 or 2024-05-01T10:00:00Z)",
            )
        out["timestamp"] = secs
    else:
        out["timestamp"] = 0
    out.attrs["rows_without_item"] = int(no_item.sum())
    return out


def _times(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(seconds, ok)``: unix seconds (float) from numbers, datetimes or ISO-8601 texts, and which parsed."""
    epoch = pd.Timestamp(0, tz="UTC")
    if pd.api.types.is_datetime64_any_dtype(raw):
        secs = (pd.to_datetime(raw, utc=True) - epoch).dt.total_seconds().to_numpy(np.float64)
        return secs, np.isfinite(secs)
    text = raw.astype(str).str.strip()
    secs = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
    dated = np.isnan(secs)
    if dated.any():  # the values that are not numbers must be ISO-8601 dates/times
        ts = pd.to_datetime(text[dated], utc=True, errors="coerce", format="ISO8601")
        secs[dated] = (ts - epoch).dt.total_seconds().to_numpy(np.float64)  # NaT -> NaN
    return secs, np.isfinite(secs)


def _unix_seconds(raw: pd.Series) -> np.ndarray | None:
    """Whole unix seconds (int64), or ``None`` when any value does not parse."""
    secs, ok = _times(raw)
    return np.floor(secs).astype(np.int64) if ok.all() else None


def _bad_times(raw: pd.Series) -> np.ndarray:
    secs, ok = _times(raw)
    return ~ok | (np.nan_to_num(secs, nan=-1.0) < 0)


def interactions_protocol(
    frame: pd.DataFrame,
    protocol: str,
    *,
    seed: int = 42,
    k: int = 10,
    name: str = "interactions",
    test_fraction: float = 0.2,
    history_half_life: float | None = None,
) -> EvalSplit:
    """Any protocol over a plain interactions frame from :func:`read_interactions`.

    * ``msr``: :func:`msr_split` on the rows in file order, then :func:`split_from_frames` — the same
      code as ``msr_protocol``, so an ml-100k ``.inter`` converted to CSV gives identical figures;
    * ``loo``: each user's rows ordered by time (file order among equal times) form a sequence,
      users in order of first appearance, then :func:`loo_from_sequences`;
    * ``temporal``: ``rating`` events (value = rating) in a :class:`Dataset`, then
      :func:`temporal_protocol`.
    """
    if protocol == "msr":
        train_df, test_df = msr_split(frame, seed=seed)
        split = split_from_frames(train_df, test_df, dataset=name, protocol="msr", k=k)
        split.info.update({"seed": seed, "ratio": 0.75})
        return split
    if protocol == "loo":
        ordered = frame.assign(_row=np.arange(len(frame))).sort_values(["timestamp", "_row"], kind="stable")
        first = pd.unique(frame["user_id"])
        grouped = ordered.groupby("user_id", sort=False)["item_id"].agg(list)
        return loo_from_sequences(
            list(first),
            [grouped[u] for u in first],
            k=k,
            dataset=name,
            history_half_life=history_half_life,
        )
    if protocol == "temporal":
        ev = pd.DataFrame(
            {
                "user_id": frame["user_id"],
                "item_id": frame["item_id"],
                "type": "rating",
                "value": frame["rating"].astype(np.float64),
                "timestamp": frame["timestamp"].astype(np.int64),
            }
        )
        return temporal_protocol(Dataset.from_frame(ev), test_fraction=test_fraction, k=k, name=name)
    raise ConfigError("unknown protocol", value=protocol, expected=" | ".join(PROTOCOLS))


# --------------------------------------------------------------------------- msr
def msr_split(
    ratings: pd.DataFrame, ratio: float = 0.75, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MS Recommenders ``python_stratified_split(filter_by="item", ratio, seed)`` (see module docstring).

    ``ratings`` must be in file order; returns ``(train, test)`` frames in (item, random) order.
    """
    if not 0 < ratio < 1:
        raise ConfigError("split ratio must be in (0, 1)", value=ratio)
    data = ratings.reset_index(drop=True).copy()
    np.random.seed(seed)  # the legacy global RNG, exactly as MS Recommenders seeds it
    data["_random"] = np.random.rand(data.shape[0])
    data = data.sort_values(["item_id", "_random"], kind="mergesort")
    grouped = data.groupby("item_id", sort=False)
    count = grouped["item_id"].transform("count")
    rank = grouped.cumcount() + 1
    cut = np.round(ratio * count.to_numpy(np.float64))  # numpy rounds half to even, like pandas' round
    in_train = rank.to_numpy() <= cut
    keep = [c for c in data.columns if c != "_random"]
    return data.loc[in_train, keep], data.loc[~in_train, keep]


def msr_protocol(data_dir: Path, seed: int = 42, k: int = 10, ratio: float = 0.75) -> EvalSplit:
    """Build the ``msr`` split of ml-100k (see module docstring)."""
    ratings, items, users = read_ml100k(data_dir)
    # The random numbers are attached to rows in FILE order before sorting, so which rows go to train
    # depends only on grouping by item, not on whether item ids sort as strings or integers.
    train_df, test_df = msr_split(ratings, ratio=ratio, seed=seed)
    split = split_from_frames(
        train_df, test_df, dataset="ml-100k", protocol="msr", k=k, items=items, users=users
    )
    split.info.update({"seed": seed, "ratio": ratio})
    if len(users) and "gender" in users:
        ut = split.train.user_table
        split.groups["gender"] = ut["gender"].fillna("?").astype(str).to_numpy()[split.users]
        age = pd.to_numeric(ut["age"], errors="coerce").to_numpy()[split.users]
        bands = np.array(["<25", "25-34", "35-44", "45+"], dtype=object)
        split.groups["age"] = np.where(
            np.isnan(age), "?", bands[np.searchsorted([25, 35, 45], age, side="right")]
        )
    return split


def split_from_frames(
    train_df: pd.DataFrame,
    test_df: pd.DataFrame,
    *,
    dataset: str,
    protocol: str,
    k: int = 10,
    items: pd.DataFrame | None = None,
    users: pd.DataFrame | None = None,
    weights: EventWeights | None = None,
) -> EvalSplit:
    """A split from rating frames (``user_id, item_id, rating, timestamp``).

    The training ``Dataset`` is built from the training rows only (events of type ``rating`` with the
    rating as value), so its vocabularies are the training users and items: items only in the test set
    can never be recommended, yet still count as relevant.
    """
    ev = pd.DataFrame(
        {
            "user_id": train_df["user_id"].astype(str).to_numpy(),
            "item_id": train_df["item_id"].astype(str).to_numpy(),
            "type": "rating",
            "value": train_df["rating"].astype(np.float64).to_numpy(),
            "timestamp": train_df["timestamp"].astype(np.int64).to_numpy(),
        }
    )
    item_vocab = Vocabulary.from_values(ev["item_id"], name="item")
    user_vocab = Vocabulary.from_values(ev["user_id"], name="user")
    item_frame = _restrict(items, item_vocab)
    user_frame = _restrict(users, user_vocab)
    train = Dataset.from_frame(
        ev, items=item_frame, users=user_frame, weights=weights, item_vocab=item_vocab, user_vocab=user_vocab
    )
    test_users = test_df["user_id"].astype(str).to_numpy()
    test_items = test_df["item_id"].astype(str).to_numpy()
    u = train.users.index(test_users, on_unknown="missing")
    known = u >= 0
    if (~known).any():
        log.info(
            "%d test rows of %d users unknown in training are skipped",
            (~known).sum(),
            len(set(test_users[~known])),
        )
    truth_items = train.items.extend(test_items[known])
    eval_users = np.unique(u[known])
    row_of = np.full(train.n_users, -1, dtype=np.int64)
    row_of[eval_users] = np.arange(len(eval_users))
    truth = sp.csr_matrix(
        (
            np.ones(int(known.sum()), dtype=np.float32),
            (row_of[u[known]], truth_items.index(test_items[known])),
        ),
        shape=(len(eval_users), len(truth_items)),
    )
    truth.sum_duplicates()
    truth.data[:] = 1.0
    return EvalSplit(
        dataset=dataset,
        protocol=protocol,
        train=train,
        users=eval_users.astype(np.int64),
        truth=truth,
        truth_items=truth_items,
        exclude=train.seen,
        k=k,
        groups={"activity": activity_groups_of(train, eval_users)},
    )


def _restrict(frame: pd.DataFrame | None, vocab: Vocabulary) -> pd.DataFrame | None:
    if frame is None or len(frame) == 0 or "id" not in frame:
        return None
    f = frame.copy()
    f["id"] = f["id"].astype(str)
    return f[f["id"].isin(set(vocab.ids.tolist()))]


# --------------------------------------------------------------------------- loo
def loo_protocol(
    path: Path,
    phase: str = "test",
    k: int = 10,
    dataset: str | None = None,
    history_half_life: float | None = None,
) -> EvalSplit:
    """Leave-last-out full ranking over an S3Rec sequence file (see module docstring).

    When ``<stem>_item2attributes.json`` lies next to the file (S3Rec's item attributes), the training
    ``Dataset`` carries it as the item table (``attributes`` = ``{"attribute_ids": [...]}``), so content
    models can use it; the split itself does not depend on it.
    """
    user_ids, seqs = read_sequences(path)
    attr_file = Path(path).with_name(f"{Path(path).stem}_item2attributes.json")
    attributes = load_s3rec_attributes(attr_file) if attr_file.is_file() else None
    return loo_from_sequences(
        user_ids,
        seqs,
        phase=phase,
        k=k,
        dataset=dataset or Path(path).stem,
        history_half_life=history_half_life,
        attributes=attributes,
    )


def loo_from_sequences(
    user_ids: Sequence[str],
    seqs: Sequence[Sequence[str]],
    *,
    phase: str = "test",
    k: int = 10,
    dataset: str = "sequences",
    history_half_life: float | None = None,
    attributes: Mapping[str, Sequence[str]] | None = None,
) -> EvalSplit:
    """``loo`` split from in-memory sequences (time order, oldest first).

    ``attributes`` (item id → attribute ids) becomes the training ``Dataset``'s item table.

    ``history_half_life`` (in items) weights the fold-in history rows by recency,
    ``w = 0.5^(age / h)`` with ``age`` = 0 for the latest item, so fold-in models (``score_history``)
    favour what the user did last; ``None`` gives each history item weight 1 (counts).
    """
    if phase not in ("test", "valid"):
        raise ConfigError("phase must be 'test' or 'valid'", value=phase)
    if history_half_life is not None and history_half_life <= 0:
        raise ConfigError("history_half_life must be > 0", value=history_half_life)
    # Both phases fit on seq[:-2] (S3Rec): the validation item is never trained on, so tuning is clean.
    rows_u: list[str] = []
    rows_i: list[str] = []
    rows_t: list[int] = []
    for uid, seq in zip(user_ids, seqs, strict=True):
        prefix = seq[: max(len(seq) - 2, 0)]
        rows_u.extend([uid] * len(prefix))
        rows_i.extend(prefix)
        rows_t.extend(range(len(prefix)))  # positions stand in for timestamps (order is all we know)
    all_items = Vocabulary.from_values([i for s in seqs for i in s], name="item")
    ev = pd.DataFrame({"user_id": rows_u, "item_id": rows_i, "type": "purchase", "timestamp": rows_t})
    user_vocab = Vocabulary(list(dict.fromkeys(user_ids)), name="user")
    # Rank ALL items of the file (S3Rec's item_size covers every id), including items seen only at test time.
    table = None
    if attributes is not None:
        ids = all_items.ids.tolist()
        table = pd.DataFrame(
            {"id": ids, "attributes": [{"attribute_ids": list(attributes.get(i, []))} for i in ids]}
        )
    train = Dataset.from_frame(ev, items=table, item_vocab=all_items, user_vocab=user_vocab)
    n_users = train.n_users
    target_pos = -1 if phase == "test" else -2
    users, targets, hist_seqs = [], [], []
    for uid, seq in zip(user_ids, seqs, strict=True):
        if len(seq) < 3:
            continue  # too short to hold out validation and test items
        users.append(train.users.index_of(uid))
        targets.append(seq[target_pos])
        hist_seqs.append(seq[:target_pos])
    users_arr = np.asarray(users, dtype=np.int64)
    truth = sp.csr_matrix(
        (np.ones(len(users)), (np.arange(len(users)), all_items.index(np.asarray(targets, dtype=object)))),
        shape=(len(users), len(all_items)),
    )
    hist_idx = [all_items.index(np.asarray(s, dtype=object)).astype(np.int64) for s in hist_seqs]
    lengths = np.array([len(h) for h in hist_idx], dtype=np.int64)
    if history_half_life is None:
        weights = np.ones(int(lengths.sum()))
    else:
        # age of each history item counted from the end of its own sequence (0 = latest)
        ends = np.repeat(np.cumsum(lengths), lengths)
        age = ends - 1 - np.arange(int(lengths.sum()))
        weights = np.power(0.5, age / history_half_life)
    history = sp.csr_matrix(
        (
            weights.astype(np.float32),
            (np.repeat(np.arange(len(users)), lengths), np.concatenate(hist_idx) if hist_idx else []),
        ),
        shape=(len(users), len(all_items)),
    )
    history.sum_duplicates()
    # Exclusion per training user index (rows for users that are not evaluated stay empty).
    binary = history.copy()
    binary.data[:] = 1.0
    exclude = _rows_to_users(binary, users_arr, n_users)
    split = EvalSplit(
        dataset=dataset,
        protocol="loo" if phase == "test" else "loo-valid",
        train=train,
        users=users_arr,
        truth=truth,
        truth_items=all_items,
        exclude=exclude,
        k=k,
        history=history,
        sequences=hist_idx,
        groups={"activity": activity_groups_of(train, users_arr)},
    )
    split.info.update(
        {"phase": phase, "users_skipped": len(user_ids) - len(users), "history_half_life": history_half_life}
    )
    return split


def _rows_to_users(rows: sp.csr_matrix, users: np.ndarray, n_users: int) -> sp.csr_matrix:
    """Scatter rows aligned with ``users`` into a matrix indexed by user index."""
    coo = rows.tocoo()
    return sp.csr_matrix((coo.data, (users[coo.row], coo.col)), shape=(n_users, rows.shape[1]))
