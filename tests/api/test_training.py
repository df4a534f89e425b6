"""Training through the API: background run, atomic swap under load, failures, rollback, fold-in."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from apishop import FAST_COMPONENTS, LiveServer, auth, trained_engine
from fastapi.testclient import TestClient

from shopmind.api import create_app
from shopmind.api.schemas import RankedListOut, RecommendationOut
from shopmind.engine import Engine


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, str]]]:
    engine, keys = trained_engine(tmp_path_factory.mktemp("trained"))
    yield engine, keys
    engine.close()


def wait_training(client: TestClient | httpx.Client, headers: dict[str, str], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = client.get("/admin/training", headers=headers).json()
        if st["state"] != "running":
            return st
        time.sleep(0.1)
    raise AssertionError("training did not finish")


def test_recommendations_with_reasons(trained: tuple[Engine, dict[str, str]]) -> None:
    engine, keys = trained
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        r = c.get("/recommendations/users/u1?k=5&details=true", headers=auth(keys["read"]))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["run_id"] == engine.bundle.run_id and body["items"]
        assert all(x["reason"] for x in body["items"])
        assert all(x["item"]["title"] for x in body["items"])
        seen = {e for e in ("sku-1", "sku-4", "sku-7", "sku-10")}  # u1's events
        assert not seen & {x["item_id"] for x in body["items"]}
        assert (
            c.get("/recommendations/items/sku-1/similar?k=3", headers=auth(keys["read"])).status_code == 200
        )
        together = c.get("/recommendations/items/sku-1/bought-together", headers=auth(keys["read"])).json()
        assert together["items"][0]["item_id"] == "sku-4" and "bought" in together["items"][0]["reason"]
        trend = c.get("/recommendations/trending?k=3&category=Home", headers=auth(keys["read"])).json()
        assert trend["items"] and all(
            x["item_id"] in {"sku-2", "sku-5", "sku-8", "sku-11"} for x in trend["items"]
        )
        assert c.get("/recommendations/items/nope/similar", headers=auth(keys["read"])).status_code == 404
        r = c.get("/recommendations/users/u1?min_price=50&max_price=10", headers=auth(keys["read"]))
        assert r.status_code in (400, 422) and "price" in r.json()["error"]["message"]
        assert c.get("/health/ready").status_code == 200
        assert f'shopmind_model_version_info{{run_id="{engine.bundle.run_id}"}} 1.0' in c.get("/metrics").text


def test_hot_route_bodies_match_their_documented_models(trained: tuple[Engine, dict[str, str]]) -> None:
    """The hot routes return orjson bytes, not pydantic output: the bodies must still fit the models."""
    engine, keys = trained
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        for path in (
            "/recommendations/users/u1?k=5&details=true",
            "/recommendations/items/sku-1/similar?k=3",
            "/recommendations/items/sku-1/bought-together",
            "/recommendations/trending?k=3",
        ):
            r = c.get(path, headers=auth(keys["read"]))
            assert r.status_code == 200 and r.headers["content-type"] == "application/json", path
            body = RankedListOut.model_validate_json(r.content)
            assert body.items and body.run_id == engine.bundle.run_id
            assert set(r.json()) <= set(RankedListOut.model_fields)  # nothing undocumented
            for item in r.json()["items"]:
                assert set(item) <= set(RecommendationOut.model_fields)
        r = c.get("/search?q=lamp&k=3", headers=auth(keys["read"]))
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        page = r.json()
        assert {"query", "hits", "total", "facets", "search_id", "mode", "run_id"} <= set(page)
        assert page["query"] == "lamp" and page["search_id"]
        assert all({"item_id", "score", "title", "highlight", "position"} <= set(h) for h in page["hits"])
        suggest = c.get("/search/suggest?q=la", headers=auth(keys["read"])).json()
        assert suggest["suggestions"] == engine.suggest("la", 8)[:8]


def test_logged_searches_reach_analytics_at_once(trained: tuple[Engine, dict[str, str]]) -> None:
    """Search logging is queued (batched off the request path); analytics still see every search."""
    engine, keys = trained
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        before = c.get("/admin/search-analytics", headers=auth(keys["admin"])).json()["searches"]
        sids = [
            c.get("/search?q=zzzqqq-analytics&k=3", headers=auth(keys["read"])).json()["search_id"]
            for _ in range(3)
        ]
        assert len(set(sids)) == 3
        r = c.post("/search/clicks", json={"search_id": sids[0], "item_id": "sku-1", "position": 1},
                   headers=auth(keys["read"]))  # fmt: skip
        assert r.status_code == 204
        data = c.get("/admin/search-analytics", headers=auth(keys["admin"])).json()
        assert data["searches"] == before + 3
        assert engine.store.click_log_frame()["search_id"].tolist().count(sids[0]) == 1


def test_in_stock_filter_drops_out_of_stock_items(trained: tuple[Engine, dict[str, str]]) -> None:
    engine, keys = trained
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        for u in range(8):
            items = c.get(f"/recommendations/users/u{u}?k=12", headers=auth(keys["read"])).json()["items"]
            assert "sku-5" not in {x["item_id"] for x in items}  # stock 0


def test_new_events_are_folded_in(trained: tuple[Engine, dict[str, str]]) -> None:
    engine, keys = trained
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        cold = c.get("/recommendations/users/newcomer?k=3", headers=auth(keys["read"])).json()
        assert cold["items"][0]["explanation"]["path"] == "cold_start"
        ev = [
            {
                "id": "nc-1",
                "user_id": "newcomer",
                "item_id": "sku-2",
                "type": "purchase",
                "timestamp": "2026-02-01T00:00:00Z",
            }
        ]
        assert c.post("/events", json=ev, headers=auth(keys["ingest"])).json()["inserted"] == 1
        warm = c.get("/recommendations/users/newcomer?k=3", headers=auth(keys["read"])).json()
        assert warm["items"][0]["explanation"]["path"] == "fold_in"
        assert "sku-2" not in {x["item_id"] for x in warm["items"]}


def test_swap_under_concurrent_requests_has_zero_failures(tmp_path: Path) -> None:
    """Threads hammer /recommendations while /admin/train runs and swaps; nothing may fail."""
    engine, keys = trained_engine(tmp_path)
    first = engine.bundle.run_id
    stop = threading.Event()
    statuses: Counter[int] = Counter()
    runs_seen: set[str] = set()
    errors: list[str] = []
    lock = threading.Lock()
    with LiveServer(create_app(engine, watch_interval_s=None)) as live:

        def hammer(i: int) -> None:
            with httpx.Client(base_url=live.url, headers=auth(keys["read"]), timeout=30) as client:
                n = 0
                while not stop.is_set():
                    path = (
                        f"/recommendations/users/u{n % 8}?k=5"
                        if i % 2
                        else "/recommendations/items/sku-3/similar"
                    )
                    try:
                        r = client.get(path)
                        with lock:
                            statuses[r.status_code] += 1
                            if r.status_code == 200:
                                runs_seen.add(r.json()["run_id"])
                            else:
                                errors.append(r.text[:200])
                    except httpx.HTTPError as exc:
                        with lock:
                            errors.append(repr(exc))
                    n += 1

        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        with httpx.Client(base_url=live.url, headers=auth(keys["admin"]), timeout=30) as admin:
            assert admin.post("/admin/train", json={"components": FAST_COMPONENTS}).status_code == 202
            # a second request while the first runs is refused, not queued
            again = admin.post("/admin/train", json={"components": FAST_COMPONENTS})
            assert again.status_code in (202, 409)
            st = wait_training(admin, {})
            assert st["state"] == "succeeded", st
            time.sleep(0.3)
            assert admin.post("/admin/rollback").json()["serving"] == first
            time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join()
    engine.close()
    assert not errors, errors[:3]
    assert statuses[200] > 20 and set(statuses) == {200}
    assert runs_seen == {first, st["run_id"]}


def test_failed_training_leaves_serving_untouched(tmp_path: Path) -> None:
    engine, keys = trained_engine(tmp_path)
    serving = engine.bundle.run_id
    bad = engine.settings.training.model_copy(update={"event_weights": {"teleport": 1.0}})
    engine.settings = engine.settings.model_copy(update={"training": bad})
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        h = auth(keys["admin"])
        assert c.post("/admin/train", headers=h, json={"components": FAST_COMPONENTS}).status_code == 202
        st = wait_training(c, h)
        assert st["state"] == "failed" and "teleport" in st["error"]
        assert engine.bundle.run_id == serving
        assert c.get("/recommendations/users/u1", headers=auth(keys["read"])).status_code == 200
        runs = c.get("/admin/models", headers=h).json()
        assert runs["serving"] == serving
        assert [r["status"] for r in runs["runs"]][:2] == ["failed", "ok"]
        assert "teleport" in c.get("/admin/status", headers=h).json()["training"]["error"]
        assert 'shopmind_training_runs_total{outcome="failed"} 1.0' in c.get("/metrics").text
    engine.close()


def test_versions_activate_and_rollback(tmp_path: Path) -> None:
    engine, keys = trained_engine(tmp_path)
    first = engine.bundle.run_id
    second = engine.train(FAST_COMPONENTS)
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        h = auth(keys["admin"])
        models = c.get("/admin/models", headers=h).json()
        assert models["serving"] == second and [r["id"] for r in models["runs"]] == [second, first]
        assert c.post("/admin/rollback", headers=h).json()["serving"] == first
        assert c.post(f"/admin/models/{second}/activate", headers=h).json()["serving"] == second
        assert c.post("/admin/models/nope/activate", headers=h).status_code == 404
        # the oldest run has nothing before it
        c.post(f"/admin/models/{first}/activate", headers=h)
        r = c.post("/admin/rollback", headers=h)
        assert r.status_code == 409 and "roll back" in r.json()["error"]["message"]
    engine.close()


def test_watch_follows_runs_published_elsewhere(tmp_path: Path) -> None:
    engine, _ = trained_engine(tmp_path)
    other = Engine.open(engine.settings)  # a second worker process, in miniature
    try:
        new = engine.train(FAST_COMPONENTS)
        assert other.bundle.run_id != new
        assert other.reload_if_changed() and other.bundle.run_id == new
        assert not other.reload_if_changed()
    finally:
        other.close()
        engine.close()
