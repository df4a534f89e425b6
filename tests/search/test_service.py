"""SearchService: logging, clicks, analytics, live updates, train → load with the real store."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from shopmind.data.schema import Item
from shopmind.errors import ConfigError, DataError
from shopmind.search.service import SearchService, click_training_data, search_analytics

from .conftest import ITEMS


class FakeSearchLogStore:
    """In-memory implementation of just the Store's four search-log methods (+ events_frame)."""

    def __init__(self) -> None:
        self.searches: list[dict] = []
        self.clicks: list[dict] = []
        self.events = pd.DataFrame(columns=["user_id", "item_id", "type"])

    def log_search(self, *, query, user_id, n_results, result_ids, at=None) -> str:
        sid = uuid.uuid4().hex
        self.searches.append(
            {"search_id": sid, "query": query, "user_id": user_id, "n_results": n_results,
             "result_ids": list(result_ids), "at": at or datetime.now(UTC)}
        )  # fmt: skip
        return sid

    def log_click(self, *, search_id, item_id, position, at=None) -> None:
        self.clicks.append({"search_id": search_id, "item_id": item_id, "position": position, "at": at})

    def search_log_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            self.searches, columns=["search_id", "query", "user_id", "n_results", "result_ids", "at"]
        )

    def click_log_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.clicks, columns=["search_id", "item_id", "position", "at"])

    def events_frame(self, *, user_id=None, **_):
        return self.events[self.events["user_id"] == user_id]


@pytest.fixture
def service(engine, tmp_path) -> SearchService:
    return SearchService(engine, FakeSearchLogStore(), rules_path=tmp_path / "search" / "rules.json")


def test_search_is_logged_and_clicks_recorded(service):
    res = service.search("black", k=3)
    assert res.search_id
    logged = service.store.searches[0]
    assert logged["query"] == "black" and logged["n_results"] == res.total >= 4
    assert logged["result_ids"] == res.ids
    service.log_click(res.search_id, res.ids[1], 2)
    assert service.store.clicks == [
        {"search_id": res.search_id, "item_id": res.ids[1], "position": 2, "at": None}
    ]
    with pytest.raises(DataError):
        service.log_click(res.search_id, res.ids[0], 0)
    assert service.search("black", log=False).search_id is None
    assert len(service.store.searches) == 1


def test_analytics():
    from shopmind.config import SearchConfig
    from shopmind.search.engine import ProductSearch

    # keyword-only engine: a nonsense query really has zero results
    service = SearchService(
        ProductSearch.build(ITEMS, config=SearchConfig(semantic=False)), FakeSearchLogStore()
    )
    for q in ("black", "black", "Black ", "qqqqq zzzzz"):
        service.search(q, k=4, mode="bm25")
    s = service.store.searches
    service.log_click(s[0]["search_id"], s[0]["result_ids"][0], 1)
    service.log_click(s[1]["search_id"], s[1]["result_ids"][1], 2)
    a = service.analytics()
    assert a["searches"] == 4 and a["clicks"] == 2
    assert a["top_queries"][0] == {"query": "black", "count": 3}
    assert a["zero_result_queries"] == [{"query": "qqqqq zzzzz", "count": 1}]
    assert a["zero_result_rate"] == 0.25
    # 3 searches showed >= 1 result (and >= 2): one click at each position
    assert a["ctr_by_position"][1] == pytest.approx(1 / 3)
    assert a["ctr_by_position"][2] == pytest.approx(1 / 3)
    assert a["click_rate"] == 0.5
    empty = search_analytics(service.store.search_log_frame().iloc[0:0], service.store.click_log_frame())
    assert empty["searches"] == 0 and empty["top_queries"] == []


def test_user_affinity_from_events(service):
    service.store.events = pd.DataFrame(
        {"user_id": ["u1"] * 3, "item_id": ["tv1", "tv1", "hp2"], "type": ["view"] * 3}
    )
    aff = service.user_affinity("u1")
    assert aff["brand:LG"] == 1.0 and aff["category:TV"] == 1.0 and aff["brand:Bose"] == 0.5
    assert service.search("black", user_id="u1", mode="bm25").ids[0] == "tv1"
    assert service.user_affinity("nobody") == {}


def test_live_updates_and_rules(service, tmp_path):
    service.upsert_items(
        [Item(id="new1", title="Marshall Emberton Bluetooth Speaker", brand="Marshall", price=149.0)]
    )
    service.upsert_items([{"id": "new2", "title": "Tiny Speaker", "price": 5.0}])
    assert "new1" in service.search("bluetooth speaker", mode="bm25").ids
    service.delete_items(["new1"])
    assert "new1" not in service.search("bluetooth speaker", mode="bm25").ids
    service.set_rules([{"query": "speaker", "pin": [{"id": "kb1", "position": 2}]}])
    assert service.search("speaker", mode="bm25").ids[1] == "kb1"
    assert json.loads((tmp_path / "search" / "rules.json").read_text())[0]["query"] == "speaker"
    with pytest.raises(ConfigError):
        service.set_rules([{"pin": []}])
    assert service.suggest("marsh")[0]["text"].startswith("Marshall")


def test_click_training_data_skip_above(engine):
    store = FakeSearchLogStore()
    svc = SearchService(engine, store)
    for _ in range(3):
        res = svc.search("black", mode="bm25")
        svc.log_click(res.search_id, res.ids[2], 3)
    data = click_training_data(engine, store.search_log_frame(), store.click_log_frame())
    # fewer than MIN_CLICK_SEARCHES informative searches: no ranker
    assert data is None


def _real_store(tmp_path: Path):
    pytest.importorskip("shopmind.store.sql", reason="the SQL store backend is not available yet")
    from shopmind.store import open_store

    return open_store(f"sqlite:///{tmp_path / 'shop.db'}")


def test_train_and_serve_with_the_real_store(tmp_path):
    store = _real_store(tmp_path)
    from shopmind.config import Settings
    from shopmind.search import service as svc_mod

    store.upsert_items([Item(**{k: v for k, v in it.items() if k != "created_at"}) for it in ITEMS])
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'shop.db'}",
        artifacts_dir=tmp_path / "artifacts",
        search={"semantic": False},
    )
    sdir = tmp_path / "search"
    sdir.mkdir()
    (sdir / "synonyms.json").write_text(json.dumps({"groups": [["telly", "television"]]}))
    ctx = SimpleNamespace(store=store, settings=settings, progress=lambda m: None)
    ctx.dataset = store.load_dataset()
    info = svc_mod.train(ctx, tmp_path / "artifacts" / "run1" / "search")
    assert info["items"] == len(ITEMS) and info["semantic"] is False
    service = SearchService.load(tmp_path / "artifacts" / "run1" / "search", store, settings=settings)
    res = service.search("telly")
    assert res.ids[0] == "tv1" and res.mode == "bm25"
    service.log_click(res.search_id, "tv1", 1)
    service.search("zzzzqqqq")
    a = service.analytics()
    assert a["searches"] == 2 and a["ctr_by_position"][1] == 1.0
    assert a["zero_result_queries"][0]["query"] == "zzzzqqqq"
    store.close()


def test_cli_search_prints_hits_and_facets(tmp_path, monkeypatch):
    store = _real_store(tmp_path)
    from typer.testing import CliRunner

    from shopmind.cli import app
    from shopmind.config import Settings
    from shopmind.search import service as svc_mod
    from shopmind.store.artifacts import ArtifactStore

    store.upsert_items([Item(**{k: v for k, v in it.items() if k != "created_at"}) for it in ITEMS])
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    settings = Settings(store_url=url, artifacts_dir=tmp_path / "artifacts", search={"semantic": False})
    arts = ArtifactStore(settings.artifacts_dir)
    run = arts.new_run()
    ctx = SimpleNamespace(store=store, settings=settings, progress=lambda m: None)
    ctx.dataset = store.load_dataset()
    svc_mod.train(ctx, run.path / "search")
    arts.publish(run, {})
    store.close()
    monkeypatch.setenv("SHOPMIND_ARTIFACTS_DIR", str(settings.artifacts_dir))
    monkeypatch.chdir(tmp_path)
    out_json = tmp_path / "res.json"
    result = CliRunner().invoke(
        app,
        [
            "--store",
            url,
            "search",
            "black",
            "--filter",
            "category=Audio",
            "--sort",
            "price",
            "--json",
            str(out_json),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 results" in result.output and "JBL Flip 6" in result.output and "brand" in result.output
    data = json.loads(out_json.read_text())
    assert [h["item_id"] for h in data["hits"]] == ["sp1", "hp1"]


def test_updates_reach_every_worker_through_the_store(tmp_path):
    """Two services (two server workers) over one SQLite store: each sees the other's writes."""
    store = _real_store(tmp_path)
    from shopmind.config import Settings
    from shopmind.search import service as svc_mod

    store.upsert_items([Item(**{k: v for k, v in it.items() if k != "created_at"}) for it in ITEMS])
    settings = Settings(
        store_url=f"sqlite:///{tmp_path / 'shop.db'}",
        artifacts_dir=tmp_path / "artifacts",
        search={"semantic": False},
    )
    ctx = SimpleNamespace(store=store, settings=settings, progress=lambda m: None)
    ctx.dataset = store.load_dataset()
    art = tmp_path / "artifacts" / "run1" / "search"
    svc_mod.train(ctx, art)
    # written after training, before the workers start: applied on their first search
    early = Item(id="early", title="Marshall Emberton Bluetooth Speaker", brand="Marshall", price=149.0)
    store.upsert_items([early])
    # poll before every search (served workers poll at most every SYNC_INTERVAL_S)
    a = SearchService.load(art, store, settings=settings, sync_interval_s=0)
    b = SearchService.load(art, store, settings=settings, sync_interval_s=0)
    assert a.search("emberton", mode="bm25", log=False).ids == ["early"]

    def write(worker, items):  # what Engine.upsert_items does: the store first, then its own worker
        store.upsert_items(items)
        worker.upsert_items(items)

    write(a, [Item(id="new1", title="Teufel Rockster Go Speaker", brand="Teufel", price=99.0)])
    assert "new1" in a.search("rockster", mode="bm25", log=False).ids
    rows_a = a.engine.lexical.n_rows
    assert a.sync(force=True) == 0 and a.engine.lexical.n_rows == rows_a  # its own write: not twice
    assert b.search("rockster", mode="bm25", log=False).ids == ["new1"]
    # a change made in b: a sees the new title, not the old one
    write(b, [Item(id="new1", title="Teufel Boomster Radio", brand="Teufel", price=89.0)])
    assert a.search("rockster", mode="bm25", log=False).ids == []
    hit = a.search("boomster", mode="bm25", log=False).hits[0]
    assert hit.item_id == "new1" and hit.price == 89.0
    # a delete in a reaches b; nothing new: the poll applies nothing
    store.delete_items(["new1", "ssd1"])
    a.delete_items(["new1", "ssd1"])
    assert b.search("boomster", mode="bm25", log=False).ids == []
    assert "ssd1" not in b.search("portable ssd", mode="bm25", log=False).ids
    assert b.sync(force=True) == 0 and a.sync(force=True) == 0  # a deleted them itself
    assert a.change_seq == b.change_seq == store.item_change_seq()
    store.close()


def test_sync_applies_a_bulk_import_in_batches(tmp_path):
    store = _real_store(tmp_path)
    from shopmind.config import SearchConfig
    from shopmind.search.engine import ProductSearch

    svc = SearchService(ProductSearch.build(ITEMS, config=SearchConfig(semantic=False)), store, sync_batch=3)
    store.upsert_items([Item(id=f"b{i}", title=f"Bulk lamp {i}") for i in range(7)])
    assert svc.sync(force=True) == 3 and svc.sync(force=True) == 3 and svc.sync(force=True) == 1
    assert svc.sync(force=True) == 0
    assert svc.search("lamp", k=20, mode="bm25", log=False).total == 7
    slow = SearchService(svc.engine, store, sync_interval_s=3600)
    store.upsert_items([Item(id="late", title="Late lamp")])
    slow.sync()  # the first poll runs
    store.upsert_items([Item(id="later", title="Later lamp")])
    assert slow.sync() == 0 and slow.sync(force=True) == 1  # within the interval: no poll
    store.close()


def test_store_change_log_records_real_changes_only(tmp_path):
    store = _real_store(tmp_path)
    assert store.item_change_seq() == 0 and store.item_changes(0) == (0, [])
    a, b = Item(id="a", title="Lamp"), Item(id="b", title="Fan")
    store.upsert_items([a, b])
    store.upsert_items([a])  # identical: nothing written, nothing logged
    store.upsert_items([Item(id="a", title="Desk lamp")])
    store.delete_items(["b", "missing"])
    seq, changes = store.item_changes(0)
    assert seq == store.item_change_seq() == 4
    assert changes == [("a", False), ("b", False), ("a", False), ("b", True)]
    assert store.item_changes(2, limit=1) == (3, [("a", False)])
    assert store.item_changes(seq) == (seq, [])
    store.close()


def test_a_failing_change_log_does_not_fail_searches(engine):
    class DownStore(FakeSearchLogStore):
        def item_change_seq(self):
            return 7

        def item_changes(self, since, limit):
            raise ConnectionError("store down")

    svc = SearchService(engine, DownStore())
    assert svc.search("black", mode="bm25").total >= 4 and svc.change_seq == 7
