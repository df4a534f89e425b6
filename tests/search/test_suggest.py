"""Autocomplete from catalogue names and mined queries."""

from __future__ import annotations

from collections import Counter

from shopmind.search.suggest import Suggester


def test_prefix_completion_and_mined_queries(tmp_path):
    s = Suggester.build(
        ["Apple AirPods Pro", "Apple iPhone 15", "Anker Charger"],
        [100.0, 5.0, 1.0],
        ["Apple", "Apple", "Anker"],
        [["Audio"], ["Phones"], ["Phones", "Chargers"]],
        queries=Counter({"airpods case": 12, "apple watch": 3}),
    )
    got = s.suggest("a", k=20)
    texts = [g["text"] for g in got]
    assert texts[0] == "Apple AirPods Pro"  # the most popular product
    assert texts.index("airpods case") < texts.index("apple watch")  # more searched query first
    assert {"Apple", "Anker", "Apple AirPods Pro", "apple watch", "Audio"} <= set(texts)
    # word-start completion inside a title
    assert "Apple AirPods Pro" in [g["text"] for g in s.suggest("airp")]
    assert [g["kind"] for g in s.suggest("cha")] == ["category", "product"]
    assert s.suggest("zzz") == []
    s.save(tmp_path / "s.json")
    assert Suggester.load(tmp_path / "s.json").suggest("a", k=20) == got


def test_added_titles_are_inserted_in_order():
    s = Suggester.build(["Apple AirPods Pro", "Anker Charger"], [1.0, 1.0], [None, None], [[], []])
    s.add_titles(["Acme Lamp", "Zeta Fan", ""])
    assert s.keys == sorted(s.keys) and s.entries == sorted(s.entries)
    assert [g["text"] for g in s.suggest("acme")] == ["Acme Lamp"]
    s.add_titles([f"Bulk item {i}" for i in range(1001)])  # many: one re-sort
    assert s.keys == sorted(s.keys) and len(s.suggest("bulk item 10", k=20)) == 12
