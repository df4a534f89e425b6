"""``POST/GET /admin/evaluate``: the serving models evaluated on the shop's own data, in the background."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from apishop import auth, catalogue, make_settings, seeded_engine
from fastapi.testclient import TestClient

import shopmind.evaluate.shop as shop_eval
from shopmind.api import create_app
from shopmind.api.auth import ensure_demo_keys
from shopmind.api.evaluation_job import EvaluationJob
from shopmind.data.schema import Event, Item, User
from shopmind.engine import Engine
from shopmind.recommend.base import Recommender

COMPONENTS = ["recommend", "search"]


def wait_evaluation(client: TestClient, headers: dict[str, str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = client.get("/admin/evaluate", headers=headers).json()
        if st["state"] != "running":
            return st
        time.sleep(0.05)
    raise AssertionError("evaluation did not finish")


def later_events(n_users: int = 8, n_items: int = 12) -> list[Event]:
    """A second week of behaviour for apishop's customers: each views two items new to them, so the
    time cut holds out most customers (apishop.events_for alone puts whole customers after it)."""
    start = datetime(2026, 1, 8, tzinfo=UTC)
    out = []
    for u in range(n_users):
        for j in range(2):
            out.append(
                Event(
                    id=f"later-{u}-{j}",
                    user_id=f"u{u}",
                    item_id=f"sku-{(u + 1 + j * 3) % n_items}",
                    type="view",
                    timestamp=start + timedelta(hours=u * 2 + j),
                )
            )
    return out


@pytest.fixture(scope="module")
def evaluated_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, str]]]:
    engine = seeded_engine(tmp_path_factory.mktemp("evaluate"))
    engine.store.add_events(later_events())
    engine.train(COMPONENTS)
    yield engine, ensure_demo_keys(engine.store)
    engine.close()


def test_evaluation_runs_in_the_background_and_writes_reports(
    evaluated_shop: tuple[Engine, dict[str, str]],
) -> None:
    engine, keys = evaluated_shop
    admin = auth(keys["admin"])
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        started = c.post("/admin/evaluate", headers=admin)
        assert started.status_code == 202, started.text
        assert started.json()["state"] == "running" and started.json()["id"]
        st = wait_evaluation(c, admin)
        assert st["state"] == "succeeded", st
        result = st["result"]
        assert result["id"] == started.json()["id"] and result["serving_run"] == engine.bundle.run_id

        rec = result["recommend"]
        serving = engine.bundle.get("recommend").default
        roles = {r["role"]: r for r in rec["rows"]}
        assert rec["rows"][0]["name"] == serving and rec["rows"][0]["role"] == "serving"
        assert roles["baseline"]["name"] == "popularity"
        for row in rec["rows"]:
            assert set(row["metrics"]) == {
                "ndcg@10",
                "precision@10",
                "recall@10",
                "hr@10",
                "map",
                "mrr@10",
                "coverage",
            }
            assert all(v is None or 0 <= v <= 1 for v in row["metrics"].values())
        split = rec["split"]
        # the cut is the 80 % time quantile of the 48 events: the last 10 (u3–u7's second week) are held out
        assert split["train_events"] == 38 and split["test_events"] == 10
        assert split["users_held_out"] == split["users_scored"] == 5
        assert datetime.fromisoformat(split["cut"]) > datetime(2026, 1, 2, tzinfo=UTC)

        search = result["search"]
        assert search["source"]["source"] == "catalogue" and search["n_queries"] == 6
        names = [r["name"] for r in search["rows"]]
        assert names == ["hybrid", "bm25s-title"]
        assert [r["role"] for r in search["rows"]] == ["serving", "baseline"]
        assert {q["query"] for q in search["examples"]} == {
            "audio",
            "phones",
            "kitchen",
            "acme audio",
            "globex phones",
            "initech kitchen",
        }

        # the same results as reports that GET /admin/reports lists
        assert result["reports"] == [
            f"shop-evaluation/{result['id']}/recommend.json",
            f"shop-evaluation/{result['id']}/search.json",
        ]
        listed = {r["name"]: r for r in c.get("/admin/reports", headers=admin).json()["reports"]}
        for name in result["reports"]:
            assert listed[name]["rows"], listed
            assert c.get(f"/admin/reports/{name}", headers=admin).json()["run_id"] == result["id"]
    # a new process (a fresh job) reports the newest run on disk
    assert EvaluationJob(engine).status()["result"]["id"] == result["id"]


def _leak_shop(root: Path) -> Engine:
    """20 customers; before 2026-02-01 sku-3 is the most popular item, seen only by u0–u9, and sku-12
    is untouched. On 2026-02-01 each of u10–u19 views sku-3 and sku-12 (25 % of all events)."""
    settings = make_settings(root).model_copy(
        update={
            "training": make_settings(root).training.model_copy(
                update={"recommenders": ["popularity", "item_knn"], "threads": 1}
            )
        }
    )
    engine = Engine.open(settings)
    store = engine.store
    store.upsert_items([Item.model_validate(r) for r in catalogue(13)])
    store.upsert_users([User(id=f"u{u}") for u in range(20)])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events: list[Event] = []

    def add(u: int, item: int, when: datetime) -> None:
        events.append(
            Event(id=f"e{len(events)}", user_id=f"u{u}", item_id=f"sku-{item}", type="view", timestamp=when)
        )

    for u in range(20):
        before = [3, u % 3, 4 + u % 6] if u < 10 else [u % 3, 4 + u % 6, 10 + u % 2]
        for j, item in enumerate(before):
            add(u, item, start + timedelta(hours=u * 3 + j))
    after = datetime(2026, 2, 1, tzinfo=UTC)
    for u in range(10, 20):
        add(u, 3, after)
        add(u, 12, after)
    store.add_events(events)
    engine.train(COMPONENTS)
    return engine


def test_models_are_fitted_before_the_cut_and_scored_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _leak_shop(tmp_path)
    fitted: list[tuple[str, int, int]] = []
    fit = Recommender.fit

    def spy(self: Recommender, dataset: Any) -> Recommender:
        fitted.append((self.name, dataset.n_events, int(np.max(dataset.timestamp))))
        return fit(self, dataset)

    monkeypatch.setattr(Recommender, "fit", spy)
    try:
        limits = shop_eval.ShopEvalLimits.from_settings(engine.settings)
        out = shop_eval.evaluate_shop(engine.store, engine.bundle.services, engine.settings, limits)
    finally:
        engine.close()
    rec = out["recommend"]
    cut = datetime.fromisoformat(rec["split"]["cut"])
    assert cut == datetime(2026, 2, 1, tzinfo=UTC)
    assert rec["split"]["train_events"] == 60 and rec["split"]["test_events"] == 20
    # every model (the serving one, its components, the baseline) saw only the 60 events before the cut
    assert {"popularity"} <= {name for name, _, _ in fitted}
    assert all(n == 60 and ts < cut.timestamp() for _, n, ts in fitted), fitted
    # known answer: u10–u19 are held out with {sku-3, sku-12}; popularity before the cut ranks sku-3
    # first and cannot know sku-12, so recall@10 is 1/2 (fitted on all events it would be 1)
    base = next(r for r in rec["rows"] if r["role"] == "baseline")
    assert base["users"] == 10
    assert base["metrics"]["hr@10"] == 1.0 and base["metrics"]["recall@10"] == 0.5
    assert base["metrics"]["mrr@10"] == 1.0 and base["metrics"]["precision@10"] == 0.1
    assert base["metrics"]["ndcg@10"] == pytest.approx(1 / (1 + 1 / np.log2(3)), abs=1e-6)
    assert all(r["metrics"]["recall@10"] <= 0.5 for r in rec["rows"])


def test_a_second_start_while_running_is_409(
    evaluated_shop: tuple[Engine, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, keys = evaluated_shop
    admin = auth(keys["admin"])
    release = threading.Event()
    entered = threading.Event()

    def slow(store: Any, services: Mapping[str, Any], settings: Any, limits: Any, progress: Any) -> dict:
        progress("rec_fit", 0.25, {"model": "hybrid", "events": 40})
        entered.set()
        assert release.wait(30)
        return {"recommend": {"skipped": "no_model", "error": "test"}, "search": {"skipped": "no_model"}}

    monkeypatch.setattr(shop_eval, "evaluate_shop", slow)
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        try:
            assert c.post("/admin/evaluate", headers=admin).status_code == 202
            assert entered.wait(10)
            again = c.post("/admin/evaluate", headers=admin)
            assert again.status_code == 409, again.text
            assert again.json()["error"]["type"] == "conflict"
            assert "already running" in again.json()["error"]["message"]
            st = c.get("/admin/evaluate", headers=admin).json()
            assert st["state"] == "running" and st["step"] == "rec_fit" and st["fraction"] == 0.25
            assert st["params"] == {"model": "hybrid", "events": 40}
        finally:
            release.set()
        done = wait_evaluation(c, admin)
        assert done["state"] == "succeeded"
        assert done["result"]["recommend"]["skipped"] == "no_model" and done["result"]["reports"] == []
        # and a new one may start once it is done
        assert c.post("/admin/evaluate", headers=admin).status_code == 202
        release.set()
        assert wait_evaluation(c, admin)["state"] == "succeeded"


def test_failure_is_reported(
    evaluated_shop: tuple[Engine, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, keys = evaluated_shop
    admin = auth(keys["admin"])

    def broken(*args: Any) -> dict:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(shop_eval, "evaluate_shop", broken)
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        assert c.post("/admin/evaluate", headers=admin).status_code == 202
        st = wait_evaluation(c, admin)
    assert st["state"] == "failed" and "disk on fire" in st["error"]


def test_untrained_shop_says_what_is_missing(tmp_path: Path) -> None:
    engine = seeded_engine(tmp_path)
    keys = ensure_demo_keys(engine.store)
    try:
        with TestClient(create_app(engine, watch_interval_s=None)) as c:
            assert c.post("/admin/evaluate", headers=auth(keys["admin"])).status_code == 202
            st = wait_evaluation(c, auth(keys["admin"]))
    finally:
        engine.close()
    assert st["state"] == "succeeded"
    assert st["result"]["recommend"]["skipped"] == "no_model"
    assert st["result"]["search"]["skipped"] == "no_model"
    assert st["result"]["reports"] == []


def test_admin_scope_is_required(evaluated_shop: tuple[Engine, dict[str, str]]) -> None:
    engine, keys = evaluated_shop
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        for method in ("get", "post"):
            assert getattr(c, method)("/admin/evaluate").status_code == 401
            for scope in ("read", "ingest"):
                r = getattr(c, method)("/admin/evaluate", headers=auth(keys[scope]))
                assert r.status_code == 403, (method, scope, r.text)
        assert c.get("/admin/evaluate", headers=auth(keys["admin"])).status_code == 200


def test_search_log_with_clicks_is_used_when_it_has_enough_queries(tmp_path: Path) -> None:
    engine = seeded_engine(tmp_path)
    store = engine.store
    products = store.items_frame()
    limits = shop_eval.ShopEvalLimits()
    at = datetime(2026, 1, 9, tzinfo=UTC)
    # 5 searches with a click: too few, the catalogue's queries are used and the reason is given
    for i in range(5):
        sid = store.log_search(
            query=f"headphones {i}", user_id=None, n_results=3, result_ids=["sku-0"], at=at
        )
        store.log_click(search_id=sid, item_id="sku-0", position=1, at=at)
    judged, source = shop_eval.shop_judged(store, products, limits)
    assert source["source"] == "catalogue" and "only 5 judged queries" in source["log_unused"]
    for i in range(5, shop_eval.MIN_LOG_QUERIES):
        sid = store.log_search(
            query=f"headphones {i}", user_id=None, n_results=3, result_ids=["sku-3"], at=at
        )
        store.log_click(search_id=sid, item_id=f"sku-{i % 12}", position=1, at=at)
    judged, source = shop_eval.shop_judged(store, products, limits)
    assert source["source"] == "search_log" and len(judged.qrels) == shop_eval.MIN_LOG_QUERIES
    q = next(q for q, text in judged.queries.items() if text == "headphones 7")
    assert judged.qrels[q] == {"sku-7": 1}  # a click is grade 1
    engine.close()


def test_a_query_cap_below_the_minimum_still_uses_the_log(tmp_path: Path) -> None:
    engine = seeded_engine(tmp_path)
    store = engine.store
    at = datetime(2026, 1, 9, tzinfo=UTC)
    for i in range(6):
        sid = store.log_search(query=f"case {i}", user_id=None, n_results=1, result_ids=["sku-1"], at=at)
        store.log_click(search_id=sid, item_id="sku-1", position=1, at=at)
    judged, source = shop_eval.shop_judged(
        store, store.items_frame(), shop_eval.ShopEvalLimits(max_queries=5)
    )
    engine.close()
    assert source["source"] == "search_log" and len(judged.qrels) == 5
