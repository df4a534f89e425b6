"""Sequential and session data: S3Rec sequence files and DIGINETICA item views.

* S3Rec format (Zhou et al., *S3-Rec*, CIKM 2020; also SASRec's ``data/*.txt``): one line per user,
  ``user item_1 item_2 …`` separated by white space, items in time order. The optional
  ``*_item2attributes.json`` maps item id → list of attribute ids.
* DIGINETICA (CIKM Cup 2016) ``train-item-views.csv``: ``;``-separated
  ``session_id;user_id;item_id;timeframe;eventdate`` with ``NA`` for anonymous users; the event time is
  ``eventdate`` (UTC midnight) plus ``timeframe`` milliseconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shopmind.data.dataset import Dataset, EventWeights
from shopmind.datasets._io import bad_line, check_numeric, read_table, require_columns, resolve
from shopmind.errors import DataError, Location


def read_s3rec_sequences(path: str | Path) -> dict[str, list[str]]:
    """``{user: [item, …]}`` in file order; items in the order written (time order)."""
    file = resolve(path, (), "S3Rec sequence")
    out: dict[str, list[str]] = {}
    with file.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 2:
                raise bad_line(file, lineno, "a user without items", line.strip(), "user item1 item2 …")
            user = parts[0]
            if user in out:
                raise bad_line(file, lineno, "user appears twice", user, "one line per user")
            out[user] = parts[1:]
    return out


def load_s3rec_attributes(path: str | Path) -> dict[str, list[str]]:
    """``{item: [attribute id, …]}`` from an S3Rec ``*_item2attributes.json``."""
    file = resolve(path, (), "S3Rec item2attributes")
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(
            "invalid JSON", value=exc.msg, expected="a JSON object", location=Location(str(file), exc.lineno)
        ) from exc
    if not isinstance(raw, dict):
        raise DataError(
            "item2attributes must be a JSON object", value=type(raw).__name__, location=Location(str(file))
        )
    out = {}
    for item, attrs in raw.items():
        if not isinstance(attrs, list):
            raise DataError(
                "attributes must be a list", value=attrs, location=Location(str(file), field=item)
            )
        out[str(item)] = [str(a) for a in attrs]
    return out


@dataclass(frozen=True)
class SequenceData:
    """Per-user item sequences plus the same data as an events frame.

    ``events`` has ``user_id, item_id, type`` (= ``purchase``) and ``timestamp`` = the position in the
    user's sequence (0, 1, …): the files carry only order, and :meth:`Dataset.sequences` sorts by
    timestamp, so positions reproduce the original order exactly.
    """

    sequences: dict[str, list[str]]
    events: pd.DataFrame
    items: pd.DataFrame

    def dataset(self, weights: EventWeights | None = None) -> Dataset:
        return Dataset.from_frame(self.events, items=self.items, weights=weights)


def load_s3rec(path: str | Path, attributes: str | Path | None = None) -> SequenceData:
    """An S3Rec dataset (e.g. ``amazon-beauty-seq/Beauty.txt``); ``attributes`` is the optional
    ``item2attributes`` JSON (when ``None``, ``<stem>_item2attributes.json`` next to the file is used if
    present). Item ids keep their first-appearance order in the file."""
    file = Path(path)
    seqs = read_s3rec_sequences(file)
    lengths = np.fromiter((len(s) for s in seqs.values()), dtype=np.int64, count=len(seqs))
    users = np.repeat(np.asarray(list(seqs), dtype=object), lengths)
    items = (
        np.concatenate([np.asarray(s, dtype=object) for s in seqs.values()]) if seqs else np.array([], object)
    )
    pos = np.arange(len(items)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    events = pd.DataFrame({"user_id": users, "item_id": items, "type": "purchase", "timestamp": pos})
    if attributes is None:
        guess = file.with_name(f"{file.stem}_item2attributes.json")
        attributes = guess if guess.is_file() else None
    attr = load_s3rec_attributes(attributes) if attributes is not None else {}
    item_ids = list(pd.unique(pd.Series(items, dtype=object))) if len(items) else []
    known = set(item_ids)
    extra = [i for i in attr if i not in known]
    all_ids = item_ids + extra
    table = pd.DataFrame(
        {
            "id": all_ids,
            "title": all_ids,
            "attributes": [{"attribute_ids": attr.get(i, [])} for i in all_ids],
        }
    )
    return SequenceData(sequences=seqs, events=events, items=table)


DIGINETICA_COLUMNS = ("session_id", "user_id", "item_id", "timeframe", "eventdate")


def load_diginetica(path: str | Path) -> pd.DataFrame:
    """DIGINETICA item views as events: ``id, session_id, user_id`` (``None`` when anonymous),
    ``item_id, type`` (= view), ``timestamp`` (UTC datetime) and ``timeframe`` (ms), in file order."""
    file = resolve(path, ("train-item-views.csv", "sample_train-item-views.csv"), "DIGINETICA item views")
    frame = read_table(file, sep=";", header=0)
    require_columns(frame, DIGINETICA_COLUMNS, file)
    tf = check_numeric(frame, "timeframe", file, integer=True)
    day = pd.to_datetime(frame["eventdate"], format="%Y-%m-%d", utc=True, errors="coerce")
    if day.isna().any():
        pos = int(day.isna().to_numpy().nonzero()[0][0])
        raise bad_line(file, pos + 2, "bad date", frame["eventdate"].iloc[pos], "YYYY-MM-DD", "eventdate")
    for col in ("session_id", "item_id"):
        empty = frame[col].str.strip() == ""
        if empty.any():
            pos = int(empty.to_numpy().nonzero()[0][0])
            raise bad_line(file, pos + 2, "empty id", "", "a non-empty id", col)
    user = frame["user_id"].where(~frame["user_id"].isin(["NA", ""]), None)
    return pd.DataFrame(
        {
            "id": "dg" + pd.Series(np.arange(len(frame)), dtype="int64").astype(str),
            "session_id": frame["session_id"],
            "user_id": user,
            "item_id": frame["item_id"],
            "type": "view",
            "timestamp": day + pd.to_timedelta(tf, unit="ms"),
            "timeframe": tf,
        }
    )


def diginetica_dataset(views: pd.DataFrame, weights: EventWeights | None = None) -> Dataset:
    """Session-based ``Dataset``: each session plays the role of a user (anonymous sessions included)."""
    ev = views.assign(user_id=views["session_id"])
    return Dataset.from_frame(ev[["user_id", "item_id", "type", "timestamp"]], weights=weights)
