"""Search settings through the API: merchandising rules (pinned and hidden results) and BM25 field
weights — validated, saved for other workers and new processes, applied to the live search."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from apishop import Shop, auth, seeded_engine, trained_engine
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shopmind.api.app import create_app
from shopmind.api.auth import ensure_demo_keys
from shopmind.api.schemas import MAX_RULES, RulesIn
from shopmind.config import SearchConfig
from shopmind.engine import Engine

PIN = {"query": "headphones", "pin": [{"id": "sku-2", "position": 1}], "hide": ["sku-3"]}


def data_file(settings: Any, name: str) -> Path:
    return Path(settings.artifacts_dir).parent / "search" / name


def hits(c: TestClient, h: dict[str, str], q: str, **params: Any) -> dict[str, Any]:
    r = c.get("/search", params={"q": q, "mode": "bm25", **params}, headers=h)
    assert r.status_code == 200, r.text
    return dict(r.json())


# ----------------------------------------------------------------------------- rules
def test_rules_saved_for_next_training_without_search(seeded: Shop) -> None:
    c, admin = seeded.client, seeded.h("admin")
    assert c.get("/admin/search/rules", headers=admin).json() == {"rules": [], "applied": None}
    body = {"rules": [{"query": "  Wireless   HEADPHONES ", "pin": [{"id": "sku-2", "position": 3}]}]}
    r = c.put("/admin/search/rules", json=body, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] == "next_training"
    got = c.get("/admin/search/rules", headers=admin).json()["rules"]
    assert got == [
        {
            "query": "wireless headphones",  # normalised: case, spaces (and NFKC width)
            "match": "exact",
            "pin": [{"id": "sku-2", "position": 3}],
            "hide": [],
            "boost": [],
            "bury": [],
        }
    ]


def test_unknown_items_are_named_and_nothing_is_saved(seeded: Shop) -> None:
    c, admin = seeded.client, seeded.h("admin")
    assert c.put("/admin/search/rules", json={"rules": [PIN]}, headers=admin).status_code == 200
    before = data_file(seeded.settings, "rules.json").read_text()
    body = {"rules": [PIN, {"query": "grinder", "pin": [{"id": "sku-404", "position": 1}], "hide": ["nope"]}]}
    r = c.put("/admin/search/rules", json=body, headers=admin)
    assert r.status_code == 422, r.text
    msg = r.json()["error"]["message"]
    assert "'sku-404' (rules[1].pin[0])" in msg and "'nope' (rules[1].hide[0])" in msg
    assert data_file(seeded.settings, "rules.json").read_text() == before


@pytest.mark.parametrize(
    "rule",
    [
        {"query": "", "hide": ["sku-1"]},  # empty query
        {"query": "   ", "hide": ["sku-1"]},  # empty after normalisation
        {"query": "x" * 201, "hide": ["sku-1"]},  # query too long
        {"query": "tv"},  # does nothing
        {"query": "tv", "pin": [{"id": "sku-1", "position": 0}]},  # positions start at 1
        {"query": "tv", "pin": [{"id": "sku-1", "position": 101}]},
        {"query": "tv", "pin": [{"id": "sku-1"}]},  # no position
        {"query": "tv", "pin": [{"id": f"sku-{i}", "position": i + 1} for i in range(21)]},  # too many pins
        {"query": "tv", "pin": [{"id": "sku-1", "position": 1}, {"id": "sku-2", "position": 1}]},
        {"query": "tv", "pin": [{"id": "sku-1", "position": 1}], "hide": ["sku-1"]},  # pinned and hidden
        {"query": "tv", "hide": ["sku-1", "sku-1"]},
        {"query": "tv", "hide": [" bad id"]},  # not an id
        {"query": "tv", "hide": ["sku-1"], "match": "regex"},
        {"query": "tv", "hide": ["sku-1"], "pinned": []},  # unknown key
    ],
)
def test_rule_validation(seeded: Shop, rule: dict[str, Any]) -> None:
    r = seeded.client.put("/admin/search/rules", json={"rules": [rule]}, headers=seeded.h("admin"))
    assert r.status_code == 422, r.text
    assert not data_file(seeded.settings, "rules.json").exists()


def test_rule_queries_must_differ_after_normalisation(seeded: Shop) -> None:
    body = {"rules": [{"query": "TV", "hide": ["sku-1"]}, {"query": "ｔｖ", "hide": ["sku-2"]}]}
    r = seeded.client.put("/admin/search/rules", json=body, headers=seeded.h("admin"))
    assert r.status_code == 422
    assert "rules[1] repeats the query 'tv' of rules[0]" in r.text


def test_rule_count_is_limited() -> None:
    with pytest.raises(ValidationError, match=f"at most {MAX_RULES}"):
        RulesIn.model_validate({"rules": [{"query": f"q{i}", "hide": ["a"]} for i in range(MAX_RULES + 1)]})


@pytest.mark.parametrize(
    "method,path",
    [("get", "rules"), ("put", "rules"), ("get", "fields"), ("put", "fields"), ("delete", "fields")],
)
def test_scopes(shop: Shop, method: str, path: str) -> None:
    body: dict[str, Any] = {"rules": []} if path == "rules" else {"weights": {"title": 1}}
    for scope in ("read", "ingest"):
        kwargs: dict[str, Any] = {"headers": shop.h(scope)}
        if method == "put":
            kwargs["json"] = body
        assert getattr(shop.client, method)(f"/admin/search/{path}", **kwargs).status_code == 403
    assert getattr(shop.client, method)(f"/admin/search/{path}").status_code == 401


# ----------------------------------------------------------------------------- field weights
def test_fields_without_search(shop: Shop) -> None:
    c, admin = shop.client, shop.h("admin")
    got = c.get("/admin/search/fields", headers=admin).json()
    defaults = SearchConfig().fields
    assert got["weights"] == defaults and got["configured"] == defaults and got["source"] == "config"
    assert got["indexed"] is None and got["reindex"] is None
    r = c.put("/admin/search/fields", json={"weights": {"title": 4, "description": 0.25}}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] == "next_training" and r.json()["source"] == "saved"
    assert r.json()["weights"] == {
        "title": 4,
        "brand": 0,
        "category": 0,
        "attributes": 0,
        "description": 0.25,
    }
    r = c.delete("/admin/search/fields", headers=admin)
    assert r.json()["source"] == "config" and r.json()["weights"] == defaults
    assert not data_file(shop.settings, "fields.json").exists()


@pytest.mark.parametrize(
    "body",
    [
        {"weights": {"titel": 1}},  # unknown field
        {"weights": {"title": 10.5}},  # above 10
        {"weights": {"title": -1}},
        {"weights": {"title": 0, "brand": 0}},  # nothing searched
        {"weights": {}},
        {"weights": {"title": "heavy"}},
        {"weights": {"title": 1}, "k1": 2},  # unknown key
        {"title": 1},  # not wrapped in weights
    ],
)
def test_field_validation(shop: Shop, body: dict[str, Any]) -> None:
    r = shop.client.put("/admin/search/fields", json=body, headers=shop.h("admin"))
    assert r.status_code == 422, r.text
    assert not data_file(shop.settings, "fields.json").exists()


# ----------------------------------------------------------------------------- live, saved, other workers
def test_rules_and_weights_apply_live_and_reach_a_new_worker(tmp_path: Path) -> None:
    engine, keys = trained_engine(tmp_path, components=["search"])
    admin, read = auth(keys["admin"]), auth(keys["read"])
    try:
        with TestClient(create_app(engine, watch_interval_s=None)) as c:
            plain = hits(c, read, "headphones")
            assert [h["item_id"] for h in plain["hits"]] == ["sku-0", "sku-3", "sku-6", "sku-9"]
            r = c.put("/admin/search/rules", json={"rules": [PIN]}, headers=admin)
            assert r.status_code == 200 and r.json()["applied"] == "live"
            got = hits(c, read, "Headphones")
            assert [(h["item_id"], h["pinned"]) for h in got["hits"][:2]] == [
                ("sku-2", True),
                ("sku-0", False),
            ]
            assert "sku-3" not in [h["item_id"] for h in got["hits"]]
            assert got["total"] == 4  # 4 matches - 1 hidden + 1 pinned
            # title weight 0: "headphones" (only in titles) no longer matches a keyword
            r = c.put("/admin/search/fields", json={"weights": {"brand": 2, "description": 1}}, headers=admin)
            assert r.status_code == 200 and r.json()["applied"] == "live", r.text
            assert hits(c, read, "wireless")["fallback"] is not None
            assert hits(c, read, "acme")["total"] == 4  # the brand of sku-0, 3, 6, 9
        # another server process loads the same run: it reads the saved rules and weights
        other = Engine.open(engine.settings)
        try:
            assert other.search("headphones", mode="bm25", log=False).ids[0] == "sku-2"
            assert other.search("wireless", mode="bm25", log=False).fallback is not None
            assert other.search_fields()["source"] == "saved"
            # later saves reach it on its next sync, without a restart
            engine.set_search_rules([{"query": "grinder", "hide": ["sku-2"]}])
            engine.set_search_fields(None)  # back to shopmind.toml's weights
            other.service("search").sync(force=True)
            assert other.search("headphones", mode="bm25", log=False).ids[0] == "sku-0"
            assert "sku-2" not in other.search("grinder", mode="bm25", log=False).ids
            assert other.search("wireless", mode="bm25", log=False).fallback is None
        finally:
            other.close()
        # the next training keeps the saved rules and builds with the saved weights
        engine.set_search_fields({"title": 5, "brand": 1, "category": 1, "attributes": 1, "description": 1})
        engine.train(["search"])
        assert engine.search("headphones", mode="bm25", log=False).ids[0] == "sku-0"
        assert "sku-2" not in engine.search("grinder", mode="bm25", log=False).ids
        assert engine.service("search").engine.config.fields["title"] == 5
    finally:
        engine.close()


def test_a_field_the_index_lacks_is_indexed_in_the_background(tmp_path: Path) -> None:
    seeded = seeded_engine(tmp_path)
    settings = seeded.settings.model_copy(
        update={"search": SearchConfig(semantic=False, fields={"title": 3.0})}
    )
    seeded.close()
    engine = Engine.open(settings)
    try:
        engine.train(["search"])
        keys = auth(ensure_demo_keys(engine.store)["admin"])
        with TestClient(create_app(engine, watch_interval_s=None)) as c:
            assert engine.search("fine", mode="bm25", log=False).total == 0  # only in descriptions
            r = c.put("/admin/search/fields", json={"weights": {"title": 3, "description": 1}}, headers=keys)
            assert r.status_code == 200, r.text
            body = r.json()
            # a 12-product field may be built before the reply: either way the status says which
            assert body["applied"] in ("reindexing", "live")
            assert body["reindex"]["fields"] == ["description"] and body["reindex"]["rows_total"] == 12
            deadline = time.monotonic() + 30
            while c.get("/admin/search/fields", headers=keys).json()["reindex"]["state"] == "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            got = c.get("/admin/search/fields", headers=keys).json()
            assert got["reindex"]["state"] == "done" and got["indexed"] == ["title", "description"]
            assert engine.search("fine", mode="bm25", log=False).total == 12
        # a new worker on the same run (built without descriptions) indexes the field at load
        other = Engine.open(settings)
        try:
            service = other.service("search")
            assert service.wait_for_reindex(30)
            assert other.search("fine", mode="bm25", log=False).total == 12
        finally:
            other.close()
    finally:
        engine.close()
