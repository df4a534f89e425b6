"""GET /admin/recommend-choice: the automatic recommender choice of the serving run (admin only)."""

from __future__ import annotations

from pathlib import Path

from apishop import auth, trained_engine
from fastapi.testclient import TestClient

from shopmind.api import create_app


def test_recommend_choice_is_exposed_to_admins(tmp_path: Path) -> None:
    engine, keys = trained_engine(tmp_path, components=["recommend"])
    try:
        with TestClient(create_app(engine, watch_interval_s=None)) as c:
            assert c.get("/admin/recommend-choice", headers=auth(keys["read"])).status_code in (401, 403)
            body = c.get("/admin/recommend-choice", headers=auth(keys["admin"])).json()
    finally:
        engine.close()
    assert body["run"] == engine.bundle.run_id
    tuning = body["tuning"]
    assert tuning is not None, "the test shop trains with the default time budget, so a choice is recorded"
    assert tuning["trials"][0]["name"] == "popularity"
    assert tuning["chosen"]["algorithm"] == body["default"]
    assert {"gain_over_popularity", "gain_over_default", "budget_s", "elapsed_s", "split"} <= set(tuning)
