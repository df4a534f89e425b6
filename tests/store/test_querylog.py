"""The batched search/click log writer: off the request path, one transaction per batch, no loss on close."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from shopmind.store import open_store
from shopmind.store.querylog import QueryLogWriter


class FakeStore:
    """Records each batch the writer hands over; can be told to fail like a store that is down."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[dict], list[dict]]] = []
        self.down = False
        self.lock = threading.Lock()

    def write(self, searches: list[dict], clicks: list[dict]) -> None:
        if self.down:
            raise ConnectionError("store is down")
        with self.lock:
            self.batches.append((list(searches), list(clicks)))

    def rows(self) -> int:
        with self.lock:
            return sum(len(s) + len(c) for s, c in self.batches)


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_rows_are_batched_by_the_background_thread() -> None:
    fake = FakeStore()
    w = QueryLogWriter(fake.write, flush_interval_s=0.05, max_batch=100, max_queue=1000)
    for i in range(250):
        w.add("search", {"search_id": f"s{i}"})
        if i % 2:
            w.add("click", {"search_id": f"s{i}", "position": 1})
    wait_for(lambda: fake.rows() == 375)
    assert len(fake.batches) <= 8  # a handful of transactions, not 375
    assert max(len(s) + len(c) for s, c in fake.batches) <= 100
    searches = [r["search_id"] for s, _ in fake.batches for r in s]
    assert searches == [f"s{i}" for i in range(250)]  # queue order kept
    w.close()


def test_flush_writes_in_the_callers_thread_and_close_loses_nothing() -> None:
    fake = FakeStore()
    w = QueryLogWriter(fake.write, flush_interval_s=60, max_batch=500, max_queue=1000)
    for i in range(10):
        w.add("search", {"search_id": f"s{i}"})
    assert w.pending == 10 and fake.rows() == 0  # the thread waits for its 60 s tick
    w.flush()
    assert fake.rows() == 10 and w.pending == 0 and w.written == 10
    for i in range(5):
        w.add("click", {"search_id": "s1", "position": i + 1})
    w.close()
    assert fake.rows() == 15
    w.add("search", {"search_id": "late"})  # after close: written at once
    assert fake.rows() == 16


def test_store_down_keeps_rows_for_retry_and_drops_beyond_the_bound() -> None:
    fake = FakeStore()
    fake.down = True
    dropped: list[int] = []
    w = QueryLogWriter(fake.write, flush_interval_s=0.02, max_batch=5, max_queue=20, on_drop=dropped.append)
    for i in range(25):
        w.add("search", {"search_id": f"s{i}"})
    assert w.pending == 20 and w.dropped == 5 and sum(dropped) == 5
    with pytest.raises(ConnectionError):
        w.flush()
    assert w.pending == 20  # the failed batch went back to the head of the queue
    wait_for(lambda: w.failed_batches >= 2)  # the thread keeps trying
    fake.down = False
    wait_for(lambda: fake.rows() == 20)
    assert [r["search_id"] for s, _ in fake.batches for r in s] == [f"s{i}" for i in range(20)]
    w.close()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="flush_interval_s"):
        QueryLogWriter(FakeStore().write, flush_interval_s=0)
    with pytest.raises(ValueError, match="max_batch"):
        QueryLogWriter(FakeStore().write, max_batch=10, max_queue=5)


def test_sql_store_reads_its_own_queued_rows_and_writes_them_on_close(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    store = open_store(url)
    store.query_log.flush_interval_s = 60.0  # only explicit flushes in this test
    sid = store.log_search(query="red shoe", user_id="u1", n_results=2, result_ids=["a", "b"])
    store.log_click(search_id=sid, item_id="b", position=2)
    raw = sa.create_engine(url)
    with raw.connect() as conn:  # another connection (another worker) does not see queued rows yet
        assert conn.execute(sa.text("select count(*) from search_log")).scalar_one() == 0
    # this process reads its own writes: the log readers flush first
    assert store.search_log_frame()["search_id"].tolist() == [sid]
    assert store.click_log_frame()["position"].tolist() == [2]
    assert store.counts()["search_log"] == 1
    for i in range(7):
        store.log_search(query=f"q{i}", user_id=None, n_results=0, result_ids=[])
    store.close()  # the server's shutdown: everything queued is written
    with raw.connect() as conn:
        assert conn.execute(sa.text("select count(*) from search_log")).scalar_one() == 8
        assert conn.execute(sa.text("select count(*) from click_log")).scalar_one() == 1
    raw.dispose()
