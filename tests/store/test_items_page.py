"""Store contract (every backend): keyset pages of the catalogue and the shared secret."""

from __future__ import annotations

import threading
from typing import Any

from shopmind.data.schema import Item


def _items(n: int) -> list[Item]:
    cats = [["Electronics", "Audio"], ["Home", "Kitchen"], ["Audio"]]
    return [
        Item(id=f"it-{i:03d}", title=f"item {i}", category=cats[i % 3], attributes={"n": i}, stock=i)
        for i in range(n)
    ]


def test_items_page_walks_the_catalogue_once_in_id_order(store: Any) -> None:
    items = _items(25)
    store.upsert_items(items)
    seen: list[str] = []
    after = None
    while True:
        page = store.items_page(after=after, limit=7)
        if not page:
            break
        assert len(page) <= 7
        seen += [r["id"] for r in page]
        after = page[-1]["id"]
    assert seen == sorted(i.id for i in items)
    row = store.items_page(limit=1)[0]
    assert row["attributes"] == {"n": 0} and row["category"] == ["Electronics", "Audio"]
    assert Item.model_validate(row) == items[0]  # rows carry Item's fields as stored
    assert all(type(k) is str for k in row)  # plain str keys (orjson refuses str subclasses)
    assert store.count_items() == 25


def test_items_page_filters_on_one_category_level_and_offsets(store: Any) -> None:
    items = _items(12)
    store.upsert_items(items)
    audio = [r["id"] for r in store.items_page(limit=100, category="Audio")]
    assert audio == sorted(i.id for i in items if "Audio" in i.category)
    assert store.items_page(limit=100, category="Aud") == []  # a whole level, not a substring
    kitchen = store.items_page(after="it-004", limit=2, category="Kitchen")
    assert [r["id"] for r in kitchen] == ["it-007", "it-010"]
    assert [r["id"] for r in store.items_page(limit=2, offset=3)] == ["it-003", "it-004"]


def test_shared_secret_is_created_once_and_agreed_on(store: Any) -> None:
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(store.shared_secret("t"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 1 and len(got[0]) >= 40
    assert store.shared_secret("other") != got[0]
