"""Admin tools: a customer's history for the recommendation preview; search synonyms through the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apishop import Shop, auth, trained_engine
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shopmind.api.app import create_app
from shopmind.api.schemas import MAX_SYNONYM_GROUPS, SynonymsIn
from shopmind.engine import Engine
from shopmind.search.analyzers import Synonyms


def test_history_newest_first_with_titles(seeded: Shop) -> None:
    r = seeded.client.get("/admin/users/u1/history", params={"limit": 3}, headers=seeded.h("admin"))
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    assert len(events) == 3
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps, reverse=True)
    # u1's events (apishop.events_for): sku-1 purchase, then views of sku-4, sku-7, sku-10
    assert [e["item_id"] for e in events] == ["sku-10", "sku-7", "sku-4"]
    assert events[0]["item"]["title"] == "Smartphone case model 10"
    assert events[0]["type"] == "view"


def test_history_scopes_unknown_user_and_limits(seeded: Shop) -> None:
    c = seeded.client
    for scope in ("read", "ingest"):
        assert c.get("/admin/users/u1/history", headers=seeded.h(scope)).status_code == 403
    assert c.get("/admin/users/u1/history", headers=seeded.bound_key("u1")).status_code == 403
    assert c.get("/admin/users/nobody/history", headers=seeded.h("admin")).status_code == 404
    assert c.get("/admin/users/u1/history", params={"limit": 0}, headers=seeded.h("admin")).status_code == 422
    assert (
        c.get("/admin/users/u1/history", params={"limit": 201}, headers=seeded.h("admin")).status_code == 422
    )


def test_synonyms_saved_for_next_training_without_search(shop: Shop) -> None:
    c = shop.client
    assert c.get("/admin/search/synonyms", headers=shop.h("admin")).json() == {
        "groups": [],
        "one_way": {},
        "applied": None,
    }
    body = {"groups": [["tv", "television"]], "one_way": {"phone": ["smartphone"]}}
    r = c.put("/admin/search/synonyms", json=body, headers=shop.h("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["applied"] == "next_training"
    got = c.get("/admin/search/synonyms", headers=shop.h("admin")).json()
    assert got["groups"] == body["groups"] and got["one_way"] == body["one_way"]


@pytest.mark.parametrize(
    "body",
    [
        {"groups": [["tv"]]},  # a group of one phrase
        {"groups": [["tv", ""]]},  # an empty phrase
        {"groups": [["tv", "x" * 101]]},  # a phrase too long
        {"groups": [["a"] * 51]},  # too many phrases in a group
        {"groups": "tv, television"},  # not a list of groups
        {"one_way": {"phone": []}},  # expands to nothing
        {"groupz": []},  # unknown field
    ],
)
def test_synonyms_validation(shop: Shop, body: dict[str, Any]) -> None:
    r = shop.client.put("/admin/search/synonyms", json=body, headers=shop.h("admin"))
    assert r.status_code == 422, r.text
    assert not (Path(shop.settings.artifacts_dir).parent / "search" / "synonyms.json").exists()


def test_synonyms_group_count_is_limited() -> None:
    # a body this large is refused before validation (413, server.max_body_bytes) in the API tests
    with pytest.raises(ValidationError, match="at most 10000"):
        SynonymsIn.model_validate({"groups": [["a", "b"]] * (MAX_SYNONYM_GROUPS + 1)})


def test_synonyms_scopes(shop: Shop) -> None:
    for scope in ("read", "ingest"):
        h = shop.h(scope)
        assert shop.client.get("/admin/search/synonyms", headers=h).status_code == 403
        assert shop.client.put("/admin/search/synonyms", json={"groups": []}, headers=h).status_code == 403


def test_saved_synonym_changes_live_search_and_a_new_worker(tmp_path: Path) -> None:
    engine, keys = trained_engine(tmp_path, components=["search"])
    admin, read = auth(keys["admin"]), auth(keys["read"])
    query = {"q": "zorblax", "mode": "bm25"}
    try:
        with TestClient(create_app(engine, watch_interval_s=None)) as c:
            assert c.get("/search", params=query, headers=read).json()["total"] == 0
            body = {"groups": [["zorblax", "headphones"]]}
            r = c.put("/admin/search/synonyms", json=body, headers=admin)
            assert r.status_code == 200, r.text
            assert r.json()["applied"] == "live"
            hits = c.get("/search", params=query, headers=read).json()
            assert hits["total"] == 4  # sku-0, 3, 6, 9: "Wireless headphones model i"
            assert all(h["title"].startswith("Wireless headphones") for h in hits["hits"])
        # another server process loads the same run: it reads the saved synonyms too
        other = Engine.open(engine.settings)
        try:
            assert other.search("zorblax", mode="bm25", log=False).total == 4
            # and a later save reaches it on its next sync of the store's changes, without a restart
            engine.set_search_synonyms(Synonyms(groups=[["zorblax", "grinder"]]))
            other.service("search").sync(force=True)
            hits = other.search("zorblax", mode="bm25", log=False)
            assert hits.total == 4 and all(h.title.startswith("Coffee grinder") for h in hits.hits)
        finally:
            other.close()
    finally:
        engine.close()
