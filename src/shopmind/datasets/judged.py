"""Judged search files in the TREC layout: a product catalogue, topics and qrels.

* products: JSONL or CSV with ``id``, ``title`` and optional ``description``, ``brand``,
  ``category`` (list or ``a > b`` string), ``attributes`` (dict or JSON text), ``price``;
* queries: TSV ``qid<TAB>query``;
* qrels: TREC ``qid 0 docid grade``.

The Chorus/Icecat set has its own reader (:mod:`shopmind.datasets.icecat`);
:mod:`shopmind.evaluate.search` turns either into a judged set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from shopmind.errors import DataError, Location


def _normalise_products(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    if "id" not in frame or "title" not in frame:
        raise DataError(
            "products need 'id' and 'title' columns", value=list(frame.columns), location=Location(source)
        )
    out = pd.DataFrame({"id": frame["id"].astype(str), "title": frame["title"].fillna("").astype(str)})
    out["description"] = frame["description"].fillna("").astype(str) if "description" in frame else ""
    out["brand"] = frame["brand"].where(frame["brand"].notna(), None) if "brand" in frame else None

    def cat(v: Any) -> list[str]:
        if isinstance(v, list):
            return [str(x) for x in v]
        if isinstance(v, str) and v.strip():
            sep = ">" if ">" in v else "/"
            return [p.strip() for p in v.split(sep) if p.strip()]
        return []

    def attrs(v: Any) -> dict[str, Any]:
        if isinstance(v, dict):
            return v
        if isinstance(v, str) and v.strip().startswith("{"):
            return dict(json.loads(v))
        return {}

    out["category"] = frame["category"].map(cat) if "category" in frame else [[] for _ in range(len(out))]
    out["attributes"] = (
        frame["attributes"].map(attrs) if "attributes" in frame else [{} for _ in range(len(out))]
    )
    out["price"] = pd.to_numeric(frame["price"], errors="coerce") if "price" in frame else None
    return out


def read_products(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise DataError("products file not found", value=str(path))
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        rows = []
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise DataError(
                            "invalid JSON", value=line[:80], location=Location(str(path), n)
                        ) from exc
        frame = pd.DataFrame(rows)
    else:
        frame = pd.read_csv(path, dtype={"id": str})
    return _normalise_products(frame, str(path))


def read_queries(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            qid, sep, query = line.partition("\t")
            if not sep:
                raise DataError(
                    "query line without a tab",
                    value=line,
                    expected="qid<TAB>query",
                    location=Location(str(path), n),
                )
            out[qid.strip()] = query.strip()
    return out


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 4:
                raise DataError(
                    "bad qrels line",
                    value=line.strip(),
                    expected="qid 0 docid grade",
                    location=Location(str(path), n),
                )
            try:
                grade = int(float(parts[3]))
            except ValueError as exc:
                raise DataError(
                    "grade is not a number", value=parts[3], location=Location(str(path), n)
                ) from exc
            out.setdefault(parts[0], {})[parts[2]] = grade
    return out
