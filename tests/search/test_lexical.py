"""LexicalIndex: the library API the assistant also uses (signature must stay stable)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from shopmind.errors import ArtifactError, ConfigError, DataError
from shopmind.search.lexical import LexicalIndex

DOCS = [
    {"id": "d1", "title": "Returns and refunds", "body": "How to return an item within 30 days"},
    {"id": "d2", "title": "Shipping times", "body": "Orders ship in 2 days; returns are free"},
    {"id": "d3", "title": "订单待处理怎么办", "body": "订单状态说明"},
]


def test_signature_is_stable():
    sig = inspect.signature(LexicalIndex.build)
    assert list(sig.parameters)[:3] == ["docs", "fields", "id_field"]
    assert sig.parameters["id_field"].default == "id"
    assert list(inspect.signature(LexicalIndex.search).parameters)[:3] == ["self", "query", "k"]


def test_field_boost_orders_results():
    idx = LexicalIndex.build(DOCS, {"title": 3.0, "body": 1.0})
    got = idx.search("returns", 5)
    assert [d for d, _ in got] == ["d1", "d2"]  # title match beats body match
    assert all(isinstance(s, float) for _, s in got)
    flipped = LexicalIndex.build(DOCS, {"title": 0.1, "body": 5.0})
    assert flipped.search("returns", 5)[0][0] in {"d1", "d2"}


def test_chinese_and_k():
    idx = LexicalIndex.build(DOCS, {"title": 2.0, "body": 1.0})
    assert idx.search("处理", 3)[0][0] == "d3"
    assert len(idx.search("days", 1)) == 1
    assert idx.search("nothing-matches-this", 5) == []
    assert idx.search("days", 0) == []


def test_require_all():
    idx = LexicalIndex.build(DOCS, {"title": 1.0, "body": 1.0})
    assert {d for d, _ in idx.search("returns days", 5)} == {"d1", "d2"}
    assert {d for d, _ in idx.search("returns free", 5, require_all=True)} == {"d2"}


def test_delta_scores_equal_a_rebuild():
    idx = LexicalIndex.build(DOCS, {"title": 2.0, "body": 1.0})
    copy = dict(DOCS[0], id="d1-copy")
    idx.upsert([copy])
    got = dict(idx.search("refunds return", 5))
    # the delta row is scored with the main index statistics: same score as its twin
    assert got["d1-copy"] == pytest.approx(got["d1"], rel=1e-5)


def test_update_delete_and_roundtrip(tmp_path):
    idx = LexicalIndex.build(DOCS, {"title": 2.0, "body": 1.0})
    idx.upsert([{"id": "d2", "title": "Delivery times", "body": "Parcels arrive fast"}])
    assert "d2" not in dict(idx.search("shipping", 5))
    assert idx.search("parcels", 5)[0][0] == "d2"
    assert idx.delete(["d1", "nope"]) == 1
    assert idx.search("refunds", 5) == []
    idx.save(tmp_path / "lex")
    again = LexicalIndex.load(tmp_path / "lex")
    for q in ("parcels", "refunds", "shipping", "订单"):
        assert again.search(q, 5) == idx.search(q, 5)
    assert again.n_rows == idx.n_rows
    assert np.array_equal(again.alive, idx.alive)


def test_errors(tmp_path):
    with pytest.raises(ConfigError):
        LexicalIndex.build(DOCS, {})
    with pytest.raises(ConfigError):
        LexicalIndex.build(DOCS, {"title": 0})
    with pytest.raises(DataError):
        LexicalIndex.build([{"id": "a"}, {"id": "a"}], {"title": 1})
    with pytest.raises(DataError):
        LexicalIndex.build([{"title": "x"}], {"title": 1})
    with pytest.raises(ArtifactError):
        LexicalIndex.load(tmp_path)


def test_other_id_field_and_list_fields():
    docs = [
        {"slug": "a", "tags": ["red", "shoe"], "meta": {"colour": "blue"}},
        {"slug": "b", "tags": ["blue"]},
    ]
    idx = LexicalIndex.build(docs, {"tags": 1.0, "meta": 1.0}, id_field="slug")
    assert idx.search("shoe", 2)[0][0] == "a"
    assert {d for d, _ in idx.search("blue", 2)} == {"a", "b"}
