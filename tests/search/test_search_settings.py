"""Search settings changed at run time: field weights (query-time boosts, fields indexed in the
background), merchandising rules (normalised queries, hidden products not counted, pins under filters)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from shopmind.config import SearchConfig
from shopmind.errors import ConfigError
from shopmind.search.engine import ProductSearch
from shopmind.search.lexical import LexicalIndex
from shopmind.search.service import SearchService, check_field_weights, write_field_weights

from .conftest import ITEMS

DOCS = [
    {"id": "a", "title": "red shoe", "body": "comfortable leather"},
    {"id": "b", "title": "blue leather bag", "body": "a bag"},
    {"id": "c", "title": "green hat", "body": "leather band, red ribbon"},
]


def ids(res: Any) -> list[str]:
    return [h.item_id for h in res.hits]


# ----------------------------------------------------------------------------- lexical weights
def test_weights_change_ranking_without_reindex() -> None:
    idx = LexicalIndex.build(DOCS, {"title": 3.0, "body": 1.0})
    assert idx.search("leather")[0][0] == "b"  # in b's title
    idx.set_weights({"title": 1.0, "body": 5.0})
    assert idx.search("leather")[0][0] in {"a", "c"}  # in their bodies, body now counts most
    assert idx.fields == {"title": 1.0, "body": 5.0}


def test_weight_zero_field_is_indexed_but_not_searched() -> None:
    idx = LexicalIndex.build(DOCS, {"title": 1.0, "body": 1.0})
    assert {d for d, _ in idx.search("ribbon")} == {"c"}
    idx.set_weights({"title": 1.0, "body": 0.0})
    assert idx.search("ribbon") == []  # only in a body: no match at all, not a match scored 0
    m = idx.match(idx.groups("ribbon"), per_field=True)
    assert m.field_scores["body"][idx.row_of["c"]] > 0  # the learned ranker's feature is unchanged
    idx.set_weights({"body": 2.0})  # a field left out gets 0
    assert idx.fields == {"title": 0.0, "body": 2.0}
    assert idx.search("shoe") == []


def test_weights_errors() -> None:
    idx = LexicalIndex.build(DOCS, {"title": 1.0})
    with pytest.raises(ConfigError, match="does not hold"):
        idx.set_weights({"title": 1.0, "body": 1.0})
    with pytest.raises(ConfigError, match="no field is searched"):
        idx.set_weights({"title": 0.0})
    with pytest.raises(ConfigError, match=">= 0"):
        idx.set_weights({"title": -1.0})
    assert idx.fields == {"title": 1.0}  # a refused change changes nothing


def test_check_field_weights() -> None:
    assert check_field_weights({"title": 2}) == {
        "title": 2.0,
        "brand": 0.0,
        "category": 0.0,
        "attributes": 0.0,
        "description": 0.0,
    }
    for bad in ({"titel": 1}, {"title": 11}, {"title": -1}, {"title": 0}, {"title": "3"}, {"title": True}):
        with pytest.raises(ConfigError):
            check_field_weights(bad)
    assert check_field_weights({"title": 25}, max_weight=float("inf"))["title"] == 25.0


# ----------------------------------------------------------------------------- fields indexed later
def title_only_service(tmp_path: Path) -> SearchService:
    engine = ProductSearch.build(ITEMS, config=SearchConfig(semantic=False, fields={"title": 3.0}))
    return SearchService(engine, None, fields_path=tmp_path / "search" / "fields.json")


def test_missing_field_is_indexed_in_background_then_applied(tmp_path: Path) -> None:
    service = title_only_service(tmp_path)
    # a product added live (delta row) before the build: its description must be indexed too
    service.upsert_items(
        [{"id": "new1", "title": "Desk lamp", "description": "zyxquux dimmable", "category": ["Home"]}]
    )
    assert service.search("external", mode="bm25", log=False).total == 0  # ssd1's description
    release = threading.Event()
    build = service.engine.lexical.build_field

    def slow_build(*a: Any, **k: Any) -> Any:
        release.wait(10)
        return build(*a, **k)

    service.engine.lexical.build_field = slow_build  # type: ignore[method-assign]
    applied = service.set_field_weights({"title": 3.0, "description": 1.0})
    assert applied == "reindexing"
    status = service.field_settings()
    assert status["reindex"]["state"] == "running" and status["reindex"]["fields"] == ["description"]
    assert status["indexed"] == ["title"]
    # until the field is attached the previous weights stay and searches are answered
    assert service.search("external", mode="bm25", log=False).total == 0
    assert service.search("samsung", mode="bm25", log=False).ids == ["ssd1"]
    release.set()
    assert service.wait_for_reindex(10)
    status = service.field_settings()
    assert status["reindex"]["state"] == "done"
    assert status["reindex"]["rows_done"] == status["reindex"]["rows_total"] == len(ITEMS)
    assert status["indexed"] == ["title", "description"]
    assert service.engine.lexical.fields == {"title": 3.0, "description": 1.0}
    assert service.search("external", mode="bm25", log=False).ids == ["ssd1"]
    assert service.search("zyxquux", mode="bm25", log=False).ids == ["new1"]  # the delta row


def test_weights_asked_for_during_a_build_are_the_ones_applied(tmp_path: Path) -> None:
    service = title_only_service(tmp_path)
    release = threading.Event()
    build = service.engine.lexical.build_field
    service.engine.lexical.build_field = lambda *a, **k: (release.wait(10), build(*a, **k))[1]  # type: ignore[method-assign]
    assert service.set_field_weights({"title": 1.0, "description": 1.0}) == "reindexing"
    assert service.set_field_weights({"title": 1.0, "description": 1.0, "brand": 4.0}) == "reindexing"
    release.set()
    assert service.wait_for_reindex(10)
    assert service.engine.lexical.fields == {"title": 1.0, "description": 1.0, "brand": 4.0}
    assert sorted(service.field_settings()["reindex"]["fields"]) == ["brand", "description"]


def test_failed_build_is_reported_and_weights_stay(tmp_path: Path) -> None:
    service = title_only_service(tmp_path)

    def broken(*a: Any, **k: Any) -> Any:
        raise MemoryError("no room")

    service.engine.lexical.build_field = broken  # type: ignore[method-assign]
    service.set_field_weights({"title": 1.0, "description": 1.0})
    assert service.wait_for_reindex(10)
    status = service.field_settings()["reindex"]
    assert status["state"] == "failed" and "MemoryError: no room" in status["error"]
    assert service.engine.lexical.fields == {"title": 3.0}


def test_saved_weights_reach_a_service_and_removal_restores_configured(tmp_path: Path) -> None:
    engine = ProductSearch.build(ITEMS, config=SearchConfig(semantic=False))
    path = tmp_path / "search" / "fields.json"
    service = SearchService(engine, None, fields_path=path, configured_fields=SearchConfig().fields)

    class Settings:
        artifacts_dir = tmp_path / "artifacts"

    write_field_weights(Settings(), {"title": 1.0, "description": 7.0})
    assert json.loads(path.read_text())["description"] == 7.0
    assert service.reload_fields()
    assert engine.lexical.fields["description"] == 7.0
    assert not service.reload_fields()  # unchanged file: nothing to do
    write_field_weights(Settings(), None)
    assert service.reload_fields()
    assert engine.lexical.fields == SearchConfig().fields


# ----------------------------------------------------------------------------- rules
def test_rule_query_is_normalised_en_and_zh(engine: ProductSearch) -> None:
    engine.set_rules([{"query": "Wireless  Headphones", "pin": [{"id": "kb1", "position": 1}]}])
    for q in ("wireless headphones", "ＷＩＲＥＬＥＳＳ   headphones"):
        assert engine.search(q, mode="bm25").ids[0] == "kb1"
    assert engine.search("headphones", mode="bm25").ids[0] != "kb1"
    engine.set_rules([{"query": "蓝牙耳机", "pin": [{"id": "hp2", "position": 1}]}])
    res = engine.search("蓝牙耳机", mode="bm25")
    assert res.ids[0] == "hp2" and res.hits[0].pinned


def test_hidden_products_are_not_counted(engine: ProductSearch) -> None:
    plain = engine.search("headphones", mode="bm25")
    assert "hp1" in plain.ids
    engine.set_rules([{"query": "headphones", "hide": ["hp1"]}])
    res = engine.search("headphones", mode="bm25")
    assert "hp1" not in res.ids
    assert res.total == plain.total - 1
    assert res.facets["brand"].get("Sony", 0) == plain.facets["brand"]["Sony"] - 1
    picked = engine.search("headphones", mode="bm25", filters={"brand": "Bose"})
    assert picked.facets["brand"].get("Sony", 0) == plain.facets["brand"]["Sony"] - 1  # disjunctive count


def test_pins_respect_the_shoppers_filters(engine: ProductSearch) -> None:
    engine.set_rules([{"query": "headphones", "pin": [{"id": "kb1", "position": 1}]}])
    assert engine.search("headphones", mode="bm25").ids[0] == "kb1"
    res = engine.search("headphones", mode="bm25", filters={"category": "Audio"})
    assert "kb1" not in res.ids  # a keyboard pinned for "headphones" stays out of an Audio filter
