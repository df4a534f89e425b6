"""CPU cost of one ``GET /items`` page: the whole-catalogue frame (before issue 21) vs a keyset page.

    python bench/bench_items_listing.py --items 50000

Builds a SQLite store with ``--items`` synthetic products, then measures process CPU time (not wall
time: the machine is shared) of the store work behind one page of 50 — ``items_frame()`` + filter +
slice, as the route did before, and ``items_page()`` (+ ``count_items()`` on the first page) now.
Results: ``bench/results/items_listing.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shopmind.data.schema import Item
from shopmind.store import open_store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--out", type=Path, default=Path("bench/results/items_listing.json"))
    args = ap.parse_args()
    n = args.items
    root = Path(tempfile.mkdtemp(prefix="items-listing-"))
    store = open_store(f"sqlite:///{root / 'shop.db'}")
    cats = [["Electronics", "Audio"], ["Home", "Kitchen"], ["Sports", "Outdoor"]]
    items = [
        Item(
            id=f"sku-{i:07d}",
            title=f"Product {i} wireless",
            description="a product description " * 4,
            category=cats[i % 3],
            brand=f"B{i % 50}",
            price=10 + i % 90,
            stock=i % 20,
            attributes={"color": "red", "size": i % 5},
        )
        for i in range(n)
    ]
    for start in range(0, n, 5000):
        store.upsert_items(items[start : start + 5000])

    def before(category: str | None = None) -> Any:  # the route before issue 21
        frame = store.items_frame()
        if category and len(frame):
            frame = frame[frame["category"].map(lambda c: category in (c or []))]
        page = frame.iloc[0:50]
        return len(frame), [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
            for rec in page.to_dict(orient="records")
        ]

    def after(cursor: str | None = None, category: str | None = None) -> Any:
        rows = store.items_page(after=cursor, limit=51, category=category)
        total = store.count_items() if cursor is None and category is None else None
        return total, rows[:50]

    def cpu_ms(f: Callable[..., Any], reps: int, **kw: Any) -> float:
        f(**kw)
        t = time.process_time()
        for _ in range(reps):
            f(**kw)
        return round((time.process_time() - t) / reps * 1000, 3)

    mid = f"sku-{n // 2:07d}"
    result = {
        "items": n,
        "before_first_page_ms": cpu_ms(before, 3),
        "before_category_ms": cpu_ms(before, 3, category="Audio"),
        "after_first_page_ms": cpu_ms(after, 50),
        "after_mid_cursor_ms": cpu_ms(after, 50, cursor=mid),
        "after_category_ms": cpu_ms(after, 50, category="Audio"),
    }
    store.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    for key, value in result.items():
        print(f"{key:24s} {value}")


if __name__ == "__main__":
    main()
