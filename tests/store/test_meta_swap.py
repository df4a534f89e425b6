"""The store's shared small state (``meta_value`` / ``set_meta`` / ``swap_meta``) on SQLite and a real
PostgreSQL server: compare-and-set lets exactly one of several concurrent writers through."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from shopmind.errors import DataError
from shopmind.store import open_store


def test_meta_value_set_and_swap(store: Any) -> None:
    assert store.meta_value("k") is None
    assert store.swap_meta("k", None, "a")  # created
    assert not store.swap_meta("k", None, "b")  # exists already: nothing changes
    assert store.meta_value("k") == "a"
    assert not store.swap_meta("k", "stale", "c")
    assert store.swap_meta("k", "a", "c") and store.meta_value("k") == "c"
    store.set_meta("p", "1")
    store.set_meta("p", "2")
    assert store.meta_value("p") == "2"
    with pytest.raises(DataError, match="meta key"):
        store.meta_value("x" * 65)


def test_concurrent_swaps_from_separate_connections_let_one_through(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(6)]
    try:
        stores[0].set_meta("claim", "old")
        gate = threading.Barrier(len(stores))
        won = [False] * len(stores)

        def swap(i: int) -> None:
            gate.wait()
            won[i] = stores[i].swap_meta("claim", "old", f"writer-{i}")

        threads = [threading.Thread(target=swap, args=(i,)) for i in range(len(stores))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(won) == 1, won
        assert stores[0].meta_value("claim") == f"writer-{won.index(True)}"
    finally:
        for s in stores:
            s.close()
