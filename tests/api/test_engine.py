"""The Engine facade: unavailable capabilities, atomic bundles, broken artifacts, JSON logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from apishop import FAST_COMPONENTS, auth, make_settings, trained_engine

from shopmind.api.logs import JsonFormatter, logging_config
from shopmind.engine import Engine
from shopmind.errors import NotFittedError


def test_untrained_engine_reports_every_capability(tmp_path: Path) -> None:
    engine = Engine.open(make_settings(tmp_path))
    try:
        status = engine.status()
        assert status["run_id"] is None
        assert set(status["services"]) >= {"recommend", "search", "assistant", "forecast"}
        assert all(v != "ok" for v in status["services"].values())
        with pytest.raises(NotFittedError, match="recommend is not available"):
            engine.recommend("u1")
        ready, checks = engine.ready()
        assert not ready and checks["store"] == "ok"
    finally:
        engine.close()


def test_in_flight_requests_keep_their_bundle(tmp_path: Path) -> None:
    engine, _ = trained_engine(tmp_path)
    try:
        old = engine.bundle
        new_id = engine.train(FAST_COMPONENTS)
        assert engine.bundle.run_id == new_id != old.run_id
        # a request that took the old bundle before the swap still completes on it
        assert old.get("recommend").recommend("u1", 3).items
        assert old.services is not engine.bundle.services
    finally:
        engine.close()


def test_broken_component_does_not_take_the_others_down(tmp_path: Path) -> None:
    engine, _ = trained_engine(tmp_path)
    try:
        run_path = engine.bundle.run_path
        assert run_path is not None
        (run_path / "recommend" / "manifest.json").write_text("{ not json")
        bundle = engine.build_bundle(engine.artifacts.current())
        assert "recommend" not in bundle.services and bundle.unavailable["recommend"].startswith(
            "load failed"
        )
        assert "search" in bundle.services
        with pytest.raises(NotFittedError, match="load failed"):
            bundle.get("recommend")
    finally:
        engine.close()


def test_json_log_lines_carry_extra_fields() -> None:
    record = logging.LogRecord("shopmind.api.access", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    record.request_id = "abc"
    record.duration_ms = 1.5
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /x" and line["request_id"] == "abc" and line["duration_ms"] == 1.5
    assert line["level"] == "info" and line["logger"] == "shopmind.api.access"
    cfg = logging_config(make_settings(Path("/tmp")).model_copy(update={"log_json": True}))
    assert cfg["formatters"]["default"]["()"].endswith("JsonFormatter")


def test_one_training_at_a_time_across_processes(tmp_path: Path) -> None:
    from shopmind.engine import TrainingInProgress

    a = Engine.open(make_settings(tmp_path))
    b = Engine.open(make_settings(tmp_path))  # another worker process sharing the artifacts folder
    try:
        with a._process_lock(), pytest.raises(TrainingInProgress, match="another process"):
            b.train()
        assert b.training_status()["state"] == "idle"
    finally:
        a.close()
        b.close()


def test_search_analytics_have_one_shape_with_or_without_the_search_service(tmp_path: Path) -> None:
    """The /admin fallback said ``click_through_rate`` where the search service says ``click_rate``."""
    from fastapi.testclient import TestClient

    from shopmind.api import create_app

    engine, keys = trained_engine(tmp_path, components=["search"])
    try:
        store = engine.store
        sid = store.log_search(
            query="Phone", user_id="u1", n_results=3, result_ids=["sku-1", "sku-4", "sku-7"]
        )
        store.log_search(query="zzz", user_id=None, n_results=0, result_ids=[])
        store.log_click(search_id=sid, item_id="sku-4", position=2)
        with TestClient(create_app(engine, watch_interval_s=None)) as client:
            h = auth(keys["admin"])
            assert "search" in engine.bundle.services
            loaded = client.get("/admin/search-analytics", headers=h).json()
            engine._swap(engine.build_bundle(None))  # serve nothing: no search service
            assert "search" not in engine.bundle.services
            fallback = client.get("/admin/search-analytics", headers=h).json()
        assert fallback == loaded
        assert loaded["click_rate"] == 0.5 and "click_through_rate" not in loaded
        assert loaded["zero_result_queries"] == [{"query": "zzz", "count": 1}]
    finally:
        engine.close()


def test_an_engine_opened_for_some_capabilities_loads_only_those(tmp_path: Path) -> None:
    engine, _ = trained_engine(tmp_path)
    engine.close()
    settings = engine.settings
    only = Engine.open(settings, capabilities=("search",))
    try:
        assert set(only.bundle.services) == {"search"}
        assert only.bundle.unavailable["recommend"] == "not requested"
        caps = only.capabilities()
        assert caps["search"]["state"] == "ok" and caps["forecast"]["state"] == "not_requested"
        assert only.search("acme", k=3).total >= 0
        with pytest.raises(NotFittedError, match="not requested"):
            only.recommend("u1")
    finally:
        only.close()
    # the assistant takes search and recommend: asking for it selects them, in load order
    assert Engine(engine.store, engine.artifacts, settings).select(["assistant"]) == {
        "recommend",
        "search",
        "assistant",
    }
    from shopmind.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown capabilities"):
        Engine.open(settings, capabilities=("serach",), load=False)
