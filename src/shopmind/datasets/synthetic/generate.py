"""Writing the synthetic shop to files that ``shopmind ingest`` reads, streaming block by block."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shopmind.datasets.synthetic.behaviour import EVENT_COLUMNS, EVENTS_PER_SESSION, n_chunks, simulate_chunk
from shopmind.datasets.synthetic.calendar_utils import iso, iso_array
from shopmind.datasets.synthetic.catalog import (
    BRAND_NAMES,
    Calendar,
    Catalog,
    Users,
    build_catalog,
    build_users,
)
from shopmind.datasets.synthetic.config import ShopConfig
from shopmind.datasets.synthetic.documents import help_documents
from shopmind.datasets.synthetic.sales import iter_sales, sales_items
from shopmind.datasets.synthetic.vocab import (
    BRANDS,
    COUNTRIES_EN,
    COUNTRIES_ZH,
    FIRST_NAMES_EN,
    FIRST_NAMES_ZH,
    LEAVES,
)
from shopmind.errors import ConfigError

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)`` — called as each stage advances (stages: catalog, users, events,
sales)."""

FILES = {
    "items": "items.jsonl",
    "users": "users.jsonl",
    "documents": "documents.jsonl",
    "orders": "orders.jsonl",
    "reviews": "reviews.jsonl",
    "sales": "sales.csv",
    "categories": "categories.json",
    "manifest": "shop.json",
}

EVENT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("user_id", pa.string()),
        ("item_id", pa.string()),
        ("type", pa.string()),
        ("value", pa.float64()),
        ("quantity", pa.int64()),
        ("query", pa.string()),
        ("session_id", pa.string()),
        ("timestamp", pa.timestamp("s", tz="UTC")),
    ]
)


@dataclass
class Shop:
    """The in-memory part of a shop: calendar, catalogue and customers (events are streamed)."""

    config: ShopConfig
    calendar: Calendar
    catalog: Catalog
    users: Users


def build_shop(config: ShopConfig, progress: Progress | None = None) -> Shop:
    calendar = Calendar.build(config)
    catalog = build_catalog(config, calendar)
    if progress:
        progress("catalog", config.n_items, config.n_items)
    sessions_per_user = config.n_events / EVENTS_PER_SESSION / config.n_users
    users = build_users(config, calendar, catalog, sessions_per_user)
    if progress:
        progress("users", config.n_users, config.n_users)
    return Shop(config, calendar, catalog, users)


def iter_event_chunks(config: ShopConfig, shop: Shop | None = None) -> Iterator[pd.DataFrame]:
    """Event frames (columns ``id, user_id, item_id, type, value, quantity, query, session_id,
    timestamp`` with tz-aware UTC timestamps), one per block of ``chunk_users`` customers, sorted by time
    within a block. Memory stays bounded by one block even for the ``large`` preset."""
    shop = shop or build_shop(config)
    for chunk in range(n_chunks(config)):
        yield simulate_chunk(config, shop.calendar, shop.catalog, shop.users, chunk).events


# ---------------------------------------------------------------- stock
STOCK_DEMAND_DAYS = 28
"""Stock is set from the mean daily demand of the last four weeks (what a forecast extrapolates)."""
STOCK_COVER_MEDIAN_DAYS = 30.0
STOCK_COVER_SIGMA = 0.6


def stock_levels(config: ShopConfig, catalog: Catalog, daily_demand: np.ndarray) -> np.ndarray:
    """On-hand units per item at the end of the period, proportional to its recent demand.

    ``stock_i = round(demand_i · cover_i)`` with days of cover ``cover_i ~ LogNormal(ln 30, 0.6)``
    (median a month, about 3 % of items under 10 days — due for reordering — and 3 % over 90 —
    overstocked), at least 1; items that sold nothing lately hold 1–20 units. The out-of-stock items
    are the catalogue's (``catalog.stock == 0``, ``out_of_stock_share``), so search filters and the
    assistant see the same set. Seeded by its own stream: events, orders and sales are unchanged.
    """
    rng = np.random.default_rng([config.seed, 7])
    n = len(catalog)
    cover = np.exp(rng.normal(np.log(STOCK_COVER_MEDIAN_DAYS), STOCK_COVER_SIGMA, n))
    idle = rng.integers(1, 21, n)
    demand = np.asarray(daily_demand, dtype=float)
    stock = np.where(demand > 0, np.maximum(np.rint(demand * cover), 1), idle)
    stock[catalog.stock == 0] = 0
    return stock.astype(np.int64)


# ---------------------------------------------------------------- record builders
def item_records(shop: Shop, stock: np.ndarray | None = None) -> Iterator[dict[str, Any]]:
    """Item rows; ``stock`` (from :func:`stock_levels`) replaces the catalogue's draw when given."""
    cat = shop.catalog
    levels = cat.stock if stock is None else stock
    for i in range(len(cat)):
        spec = LEAVES[cat.leaf[i]]
        yield {
            "id": cat.ids[i],
            "title": cat.title[i],
            "description": cat.description[i],
            "category": list(spec.path_en),
            "brand": BRAND_NAMES[cat.brand[i]],
            "price": float(cat.price[i]),
            "currency": "USD",
            "attributes": cat.attributes[i],
            "stock": int(levels[i]),
            "language": cat.language[i],
            "created_at": iso(int(cat.created_ts[i])),
        }


def user_records(shop: Shop) -> Iterator[dict[str, Any]]:
    users = shop.users
    rng = np.random.default_rng([shop.config.seed, 6])
    first = rng.integers(0, len(FIRST_NAMES_EN), len(users))
    country = rng.integers(0, len(COUNTRIES_EN), len(users))
    # phone numbers from a stream of their own, so adding them changed no other generated value;
    # from ranges used as examples (1380013xxxx, the UK's 07700 900xxx drama range), never real ones
    tails = np.random.default_rng([shop.config.seed, 14]).integers(0, 10_000, len(users))
    for u in range(len(users)):
        zh = users.lang[u] == "zh"
        name = (FIRST_NAMES_ZH if zh else FIRST_NAMES_EN)[first[u]]
        phone = f"1380013{tails[u]:04d}" if zh else f"+44 7700 900{tails[u] % 1000:03d}"
        yield {
            "id": users.ids[u],
            "email": f"{name}.{users.ids[u].lower()}@example.com",
            "attributes": {
                "language": str(users.lang[u]),
                "country": (COUNTRIES_ZH if zh else COUNTRIES_EN)[country[u]],
                "phone": phone,
            },
            "created_at": iso(int(users.created_ts[u])),
        }


def category_tree() -> list[dict[str, Any]]:
    """Leaf categories with English and Chinese paths (the tree is implied by the paths)."""
    return [
        {
            "path": list(leaf.path_en),
            "path_zh": list(leaf.path_zh),
            "brands": [{"name": b, "name_zh": BRANDS[b][0]} for b in leaf.brands],
            "consumable": leaf.consumable,
            "complement": leaf.complement,
        }
        for leaf in LEAVES
    ]


def _write_jsonl(fh: IO[str], records) -> int:
    n = 0
    for rec in records:
        fh.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
        fh.write("\n")
        n += 1
    return n


class _EventWriter:
    """Streams event frames to ``events.csv`` (ISO timestamps) or ``events.parquet``."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self._writer: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, schema=EVENT_SCHEMA, preserve_index=False)
        if self.fmt == "parquet":
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, EVENT_SCHEMA, compression="zstd")
            self._writer.write_table(table)
            return
        ts = frame["timestamp"].to_numpy(dtype="datetime64[s]")
        table = table.set_column(8, "timestamp", pa.array(iso_array(ts), pa.string()))
        if self._writer is None:
            self._writer = pacsv.CSVWriter(self.path, table.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        elif self.fmt == "csv":  # no events at all: still write the header
            self.path.write_text(",".join(f'"{c}"' for c in EVENT_COLUMNS) + "\n", encoding="utf-8")
        else:
            pq.write_table(EVENT_SCHEMA.empty_table(), self.path)


@dataclass
class GenerateResult:
    out_dir: Path
    counts: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def generate(config: ShopConfig, out_dir: str | Path, progress: Progress | None = None) -> GenerateResult:
    """Write the shop to ``out_dir``: ``items.jsonl, users.jsonl, events.csv|parquet, orders.jsonl,
    reviews.jsonl, documents.jsonl, sales.csv`` (schema field names), plus ``categories.json`` (the
    bilingual category tree) and ``shop.json`` (config and counts). Events, orders and reviews are
    written block by block; daily sales last, from the accumulated online purchases."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError("output path is a file", value=str(out), expected="a folder")
    out.mkdir(parents=True, exist_ok=True)
    shop = build_shop(config, progress)
    result = GenerateResult(out_dir=out)
    files = dict(FILES, events=f"events.{config.events_format}")
    result.files = {k: str(out / v) for k, v in files.items()}

    (out / FILES["categories"]).write_text(json.dumps(category_tree(), ensure_ascii=False, indent=1), "utf-8")
    with open(out / FILES["users"], "w", encoding="utf-8") as fh:
        result.counts["users"] = _write_jsonl(fh, user_records(shop))
    with open(out / FILES["documents"], "w", encoding="utf-8") as fh:
        result.counts["documents"] = _write_jsonl(fh, help_documents(config))

    s_items = sales_items(config, shop.catalog)
    row_of = np.full(config.n_items, -1, dtype=np.int64)
    row_of[s_items] = np.arange(len(s_items))
    online = np.zeros((len(s_items), config.days), dtype=np.int64)
    recent_from = config.days - STOCK_DEMAND_DAYS
    recent = np.zeros(config.n_items, dtype=np.int64)  # units sold in the last four weeks, per item

    events_w = _EventWriter(out / files["events"], config.events_format)
    total = n_chunks(config)
    counts = {"events": 0, "orders": 0, "reviews": 0}
    with (
        open(out / FILES["orders"], "w", encoding="utf-8") as orders_fh,
        open(out / FILES["reviews"], "w", encoding="utf-8") as reviews_fh,
    ):
        try:
            for chunk in range(total):
                res = simulate_chunk(config, shop.calendar, shop.catalog, shop.users, chunk)
                events_w.write(res.events)
                counts["events"] += len(res.events)
                counts["orders"] += _write_jsonl(orders_fh, res.orders)
                counts["reviews"] += _write_jsonl(reviews_fh, res.reviews)
                rows = row_of[res.purchase_item]
                keep = rows >= 0
                np.add.at(online, (rows[keep], res.purchase_day[keep]), res.purchase_qty[keep])
                late = res.purchase_day >= recent_from
                np.add.at(recent, res.purchase_item[late], res.purchase_qty[late])
                if progress:
                    progress("events", chunk + 1, total)
        finally:
            events_w.close()
    result.counts.update(counts)

    n_sales = 0
    id_index = pd.Index(shop.catalog.ids)
    recent_start = config.end_date - timedelta(days=STOCK_DEMAND_DAYS - 1)
    writer = None
    blocks = max(1, -(-len(s_items) // 200))
    try:
        for b, frame in enumerate(iter_sales(config, shop.calendar, shop.catalog, s_items, online)):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pacsv.CSVWriter(out / FILES["sales"], table.schema)
            writer.write_table(table)
            n_sales += len(frame)
            # sales items: their sales units (online purchases included) replace the online count
            last = frame[frame["date"] >= recent_start]
            units = last.groupby("item_id", sort=False)["units"].sum()
            recent[id_index.get_indexer(units.index)] = units.to_numpy()
            if progress:
                progress("sales", b + 1, blocks)
    finally:
        if writer is not None:
            writer.close()
        else:
            (out / FILES["sales"]).write_text('"item_id","date","units","price","promo"\n', encoding="utf-8")
    result.counts["sales"] = n_sales
    # items last: their stock follows the demand just simulated
    stock = stock_levels(config, shop.catalog, recent / STOCK_DEMAND_DAYS)
    with open(out / FILES["items"], "w", encoding="utf-8") as fh:
        result.counts["items"] = _write_jsonl(fh, item_records(shop, stock))
    result.seconds = time.perf_counter() - t0
    manifest = {
        "generator": "shopmind.datasets.synthetic",
        "config": config.model_dump(mode="json"),
        "period": {"start": config.start_date.isoformat(), "end": config.end_date.isoformat()},
        "counts": result.counts,
        "files": {k: Path(v).name for k, v in result.files.items()},
    }
    (out / FILES["manifest"]).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    log.info("generated %s shop in %s (%.1f s): %s", config.size, out, result.seconds, result.counts)
    return result
