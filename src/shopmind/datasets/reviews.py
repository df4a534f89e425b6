"""Amazon review JSON Lines (McAuley lab, 2014/2018 releases), plain or gzip-compressed.

Each line is one review object with ``reviewerID``, ``asin``, ``overall`` (stars), ``reviewText``,
``summary``, ``unixReviewTime`` and optional ``style``/``verified``/``vote``. Cite J. Ni, J. Li,
J. McAuley, *Justifying recommendations using distantly-labeled reviews and fine-grained aspects*,
EMNLP 2019. Reviewer display names are deliberately dropped.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd

from shopmind.data.schema import Review
from shopmind.datasets._io import bad_line, frame_to_records, resolve

REQUIRED = ("reviewerID", "asin", "overall", "unixReviewTime")


def load_amazon_reviews(path: str | Path) -> pd.DataFrame:
    """Reviews as a frame with :class:`~shopmind.data.schema.Review` columns
    (``id, user_id, item_id, rating, title, text, language, created_at``) plus ``verified``,
    ``style`` (dict) and ``votes``. ``id`` is ``r<line>`` because the same review can appear on several
    lines (one per style variant)."""
    file = resolve(path, (), "Amazon reviews")
    opener = gzip.open if file.suffix == ".gz" else open
    rows = []
    with opener(file, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise bad_line(file, lineno, "invalid JSON", line[:60], f"a JSON object ({exc.msg})") from exc
            if not isinstance(obj, dict):
                raise bad_line(file, lineno, "not a JSON object", line[:60], "a JSON object")
            for key in REQUIRED:
                if key not in obj:
                    raise bad_line(file, lineno, "missing key", None, f"key {key!r}", key)
            stars = obj["overall"]
            if not isinstance(stars, int | float) or not 1 <= stars <= 5 or stars % 1:
                raise bad_line(file, lineno, "bad rating", stars, "an integer 1..5", "overall")
            ts = obj["unixReviewTime"]
            if not isinstance(ts, int | float):
                raise bad_line(file, lineno, "bad time", ts, "unix seconds", "unixReviewTime")
            vote = obj.get("vote")
            rows.append(
                (
                    f"r{lineno}",
                    str(obj["reviewerID"]),
                    str(obj["asin"]),
                    int(stars),
                    str(obj.get("summary") or ""),
                    str(obj.get("reviewText") or ""),
                    int(ts),
                    bool(obj.get("verified", False)),
                    {k.rstrip(":").strip(): str(v).strip() for k, v in (obj.get("style") or {}).items()},
                    int(str(vote).replace(",", "")) if vote is not None else 0,
                )
            )
    frame = pd.DataFrame(
        rows,
        columns=["id", "user_id", "item_id", "rating", "title", "text", "ts", "verified", "style", "votes"],
    )
    frame.insert(6, "language", "en")
    frame.insert(7, "created_at", pd.to_datetime(frame.pop("ts"), unit="s", utc=True))
    return frame


def amazon_reviews_to_records(frame: pd.DataFrame) -> list[Review]:
    """Validated :class:`Review` records."""
    return frame_to_records(frame, Review, source="amazon reviews")


def amazon_rating_events(frame: pd.DataFrame) -> pd.DataFrame:
    """Rating events (``user_id, item_id, type=rating, value, timestamp``) for ``Dataset.from_frame``."""
    return pd.DataFrame(
        {
            "id": frame["id"],
            "user_id": frame["user_id"],
            "item_id": frame["item_id"],
            "type": "rating",
            "value": frame["rating"].astype("float64"),
            "timestamp": frame["created_at"],
        }
    )
