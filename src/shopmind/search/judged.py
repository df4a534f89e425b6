"""Judged search data: products, queries and TREC qrels from files or the Chorus/Icecat set.

* products: JSONL or CSV with ``id``, ``title`` and optional ``description``, ``brand``,
  ``category`` (list or ``a > b`` string), ``attributes`` (dict or JSON text), ``price``;
* queries: TSV ``qid<TAB>query``;
* qrels: TREC ``qid 0 docid grade``.

:func:`load_chorus` reads ``chorus-icecat-search`` (Icecat products from querqy/chorus + the Broad
Query Set judgements). Query ids are ``q001…`` in order of first appearance in
``Broad_Query_Set_rated.csv`` (the fuller judgement file: 3,668 pairs); product price is in cents in
the source and becomes a currency amount; ``attr_t_*`` become text attributes; there is no category.
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from shopmind.errors import DataError, Location


@dataclass
class JudgedSet:
    name: str
    products: pd.DataFrame  # id, title, description, brand, category (list), attributes (dict), price
    queries: dict[str, str]  # qid -> query text
    qrels: dict[str, dict[str, int]]  # qid -> docid -> grade


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


def load_chorus(data_dir: Path) -> JudgedSet:
    """Read the Chorus/Icecat judged set with ``shopmind.datasets.icecat`` (or the fallback reader)."""
    try:
        from shopmind.datasets.icecat import load_chorus_icecat
    except ImportError:
        return _read_chorus(Path(data_dir))
    bench = load_chorus_icecat(data_dir)
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    qid_of: dict[str, str] = {}
    for text in bench.queries:
        qid_of[text] = f"q{len(qid_of) + 1:03d}"
        queries[qid_of[text]] = text
    for text, docs in bench.qrels.items():
        qrels[qid_of[text]] = dict(docs)
    return JudgedSet("chorus-icecat", bench.products, queries, qrels)


def _read_chorus(d: Path) -> JudgedSet:
    """Fallback reader of the Chorus files (used when ``shopmind.datasets`` is not installed)."""
    parts = sorted(d.glob("icecat_products_part*.json.zip"))
    if not parts:
        raise DataError(
            "no icecat_products_part*.json.zip files",
            value=str(d),
            expected="the chorus-icecat-search folder",
        )
    rows = []
    for zp in parts:
        with zipfile.ZipFile(zp) as zf:
            for name in zf.namelist():
                if name.endswith(".json"):
                    rows.extend(json.loads(zf.read(name)))
    recs = []
    for p in rows:
        attrs = {k.removeprefix("attr_t_"): v for k, v in p.items() if k.startswith("attr_t_") and v}
        price = p.get("price")
        recs.append(
            {
                "id": str(p["id"]),
                "title": p.get("title") or p.get("name") or "",
                "description": p.get("short_description") or "",
                "brand": p.get("supplier"),
                "category": [],
                "attributes": attrs,
                "price": (float(price) / 100.0) if isinstance(price, (int, float)) else None,
                "created_at": p.get("date_released"),
            }
        )
    products = pd.DataFrame(recs).drop_duplicates("id", keep="first").reset_index(drop=True)
    queries: dict[str, str] = {}
    by_text: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    with (d / "Broad_Query_Set_rated.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = row["query"].strip()
            if text not in by_text:
                by_text[text] = f"q{len(by_text) + 1:03d}"
                queries[by_text[text]] = text
            qrels.setdefault(by_text[text], {})[str(row["docid"]).strip()] = int(float(row["rating"]))
    return JudgedSet("chorus-icecat", products, queries, qrels)
