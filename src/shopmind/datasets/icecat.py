"""The Chorus electronics search benchmark: Icecat products + graded judgments (querqy/chorus).

Products come as zip files each holding one JSON array (``1.json`` …); fields ``id, name, title,
short_description, supplier, price`` (integer cents), ``date_released``, image URLs and structured
attributes prefixed ``attr_t_`` (text), ``attr_n_`` (number) and ``attr_b_`` (boolean). Judgments are
Quepid 0–3 grades: ``Broad_Query_Set_rated.csv`` (``query, docid, rating``) or
``Broad_Query_Set_individual_ratings.csv`` (three raters + ``final_rating``). Credit "Icecat Open
Content" and "querqy/chorus (OpenSource Connections)".
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from shopmind.data.schema import Item
from shopmind.datasets._io import bad_line, check_numeric, frame_to_records, read_table, require_columns
from shopmind.errors import DataError, Location

ATTR_PREFIXES = ("attr_t_", "attr_n_", "attr_b_")


def _product_row(obj: dict[str, Any], where: Location) -> dict[str, Any]:
    for key in ("id", "title"):
        if not obj.get(key):
            raise DataError(
                "product lacks a field",
                value=None,
                expected=f"non-empty {key!r}",
                location=Location(where.file, where.line, key),
            )
    price = obj.get("price")
    if price is not None and (not isinstance(price, int | float) or price < 0):
        raise DataError(
            "bad price",
            value=price,
            expected="integer cents >= 0",
            location=Location(where.file, where.line, "price"),
        )
    attrs: dict[str, Any] = {}
    for key, value in obj.items():
        for prefix in ATTR_PREFIXES:
            if key.startswith(prefix):
                attrs[key[len(prefix) :]] = value
    if obj.get("name"):
        attrs["model"] = obj["name"]
    if obj.get("ean"):
        attrs["ean"] = list(obj["ean"])
    ptype = attrs.get("product_type")
    return {
        "id": str(obj["id"]),
        "title": str(obj["title"]).strip(),
        "description": str(obj.get("short_description") or ""),
        "category": [str(ptype)] if ptype else [],
        "brand": obj.get("supplier") or None,
        "price": round(price / 100.0, 2) if price is not None else None,
        "currency": "USD",
        "attributes": attrs,
        "language": "en",
        "created_at": pd.Timestamp(obj["date_released"]) if obj.get("date_released") else None,
        "image_url": obj.get("img_500x500") or obj.get("img_high") or None,
        "name": str(obj.get("name") or ""),
    }


def icecat_product_files(path: str | Path) -> list[Path]:
    """The product files under ``path`` (a zip/JSON file, or a folder of ``*.json.zip``/``*.json``)."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise DataError("Icecat path does not exist", value=str(p), expected="a file or folder")
    files = sorted(p.glob("*.json.zip")) or sorted(p.glob("*products*.json"))
    if not files:
        raise DataError("no Icecat product files in folder", value=str(p), expected="*.json.zip files")
    return files


def load_icecat_products(path: str | Path) -> pd.DataFrame:
    """Products as catalogue rows with :class:`~shopmind.data.schema.Item` columns (``price`` in
    dollars, ``brand`` = supplier, ``category`` = ``[product_type]`` when known, ``attributes`` without
    the ``attr_?_`` prefixes plus ``model`` and ``ean``) and the short model ``name``."""
    rows: list[dict[str, Any]] = []
    for file in icecat_product_files(path):
        if file.suffix == ".zip":
            with zipfile.ZipFile(file) as zf:
                members = [n for n in zf.namelist() if n.endswith(".json")]
                payloads = [(f"{file}!{m}", zf.read(m)) for m in members]
        else:
            payloads = [(str(file), file.read_bytes())]
        for name, payload in payloads:
            try:
                data = json.loads(payload)
            except json.JSONDecodeError as exc:
                raise DataError(
                    "invalid JSON",
                    value=exc.msg,
                    expected="a JSON array of products",
                    location=Location(name, exc.lineno),
                ) from exc
            if not isinstance(data, list):
                raise DataError(
                    "product file is not a JSON array", value=type(data).__name__, location=Location(name)
                )
            for k, obj in enumerate(data):
                rows.append(_product_row(obj, Location(name, k + 1)))
    frame = pd.DataFrame(rows)
    dupes = frame["id"].duplicated()
    if dupes.any():
        raise DataError(
            "duplicate product ids", value=frame.loc[dupes, "id"].head(5).tolist(), expected="unique"
        )
    return frame


def icecat_to_items(frame: pd.DataFrame) -> list[Item]:
    return frame_to_records(frame, Item, source="icecat products")


def load_judgments(path: str | Path) -> pd.DataFrame:
    """Graded judgments ``query, item_id, grade`` (0–3) from either Chorus CSV (the individual-ratings
    file also yields ``rater_1..3``)."""
    file = Path(path)
    if not file.is_file():
        raise DataError("judgment file does not exist", value=str(file), expected="a CSV file")
    frame = read_table(file, sep=",", header=0, quoting=csv.QUOTE_MINIMAL)
    require_columns(frame, ("query", "docid"), file)
    grade_col = "final_rating" if "final_rating" in frame else "rating"
    require_columns(frame, (grade_col,), file)
    grade = check_numeric(frame, grade_col, file, integer=True)
    bad = ~grade.between(0, 3)
    if bad.any():
        pos = int(bad.to_numpy().nonzero()[0][0])
        raise bad_line(file, pos + 2, "grade out of range", grade.iloc[pos], "0..3", grade_col)
    out = pd.DataFrame(
        {"query": frame["query"].str.strip(), "item_id": frame["docid"].str.strip(), "grade": grade}
    )
    for k in (1, 2, 3):
        col = f"agent_{k}_rating"
        if col in frame:
            out[f"rater_{k}"] = check_numeric(frame, col, file, integer=True)
    dup = out.duplicated(["query", "item_id"])
    if dup.any():
        pos = int(dup.to_numpy().nonzero()[0][0])
        raise bad_line(
            file,
            pos + 2,
            "duplicate (query, docid)",
            out.iloc[pos][["query", "item_id"]].tolist(),
            "one judgment per pair",
        )
    return out


@dataclass(frozen=True)
class SearchBenchmark:
    """Products, judgments, the queries (first-appearance order) and ``qrels[query][item_id] = grade``."""

    products: pd.DataFrame
    judgments: pd.DataFrame

    @property
    def queries(self) -> list[str]:
        return list(pd.unique(self.judgments["query"]))

    @property
    def qrels(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for q, i, g in self.judgments[["query", "item_id", "grade"]].itertuples(index=False, name=None):
            out.setdefault(q, {})[i] = int(g)
        return out


def load_chorus_icecat(path: str | Path, judgments: str = "Broad_Query_Set_rated.csv") -> SearchBenchmark:
    """The whole benchmark from its folder; ``judgments`` picks the judgment file inside it."""
    folder = Path(path)
    products = load_icecat_products(folder)
    qrels = load_judgments(folder / judgments)
    missing = set(qrels["item_id"]) - set(products["id"])
    if missing:
        raise DataError("judged products missing from the catalogue", value=sorted(missing)[:5])
    return SearchBenchmark(products=products, judgments=qrels)
