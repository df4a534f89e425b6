"""Judged queries from a shop's own search log: what each searching session did next."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from shopmind.errors import ConfigError, DataError
from shopmind.evaluate.search import judged_from_events, read_events

PRODUCTS = [
    {"id": "a", "title": "Red running shoe"},
    {"id": "b", "title": "Blue cotton shirt"},
    {"id": "c", "title": "Red cotton shirt"},
    {"id": "e", "title": "Wool socks"},
    {"id": "f", "title": "Cotton socks red"},
]

# (user, item, type, query, session, minute)
LOG = [
    ("u1", "", "search", " Red Shirt ", "s1", 0),
    ("u1", "c", "click", "", "s1", 1),
    ("u1", "c", "cart", "", "s1", 2),
    ("u1", "", "search", "socks", "s1", 3),
    ("u1", "f", "purchase", "", "s1", 4),  # credited to "socks", not to "red shirt"
    ("u1", "zz", "purchase", "", "s1", 5),  # not in the catalogue: left out
    ("u2", "a", "click", "", "s2", 0),  # before the session's search: not credited
    ("u2", "", "search", "red shirt", "s2", 1),
    ("u2", "b", "purchase", "", "s2", 2),
    ("u2", "a", "view", "", "s2", 3),  # a view is not a judgement
    ("u3", "e", "click", "", "s3", 0),  # no search in the session
    ("u4", "", "search", "sweater", "s4", 0),  # nothing follows: the query is dropped
    ("u5", "", "search", "SOCKS", "s5", 0),
    ("u5", "f", "click", "", "s5", 1),  # max over sessions: f stays 3
    ("u5", "e", "wishlist", "", "s5", 2),
    ("u6", "", "search", "socks", "s6", 0),
    ("u6", "e", "click", "", "s6", 1),
    ("u7", "", "search", "socks", "", 0),  # no session: skipped
]


def write_events(
    path: Path, rows: list[tuple[str, str, str, str, str, int]], *, with_id: bool = True
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        head = ["user_id", "item_id", "type", "query", "session_id", "timestamp"]
        w.writerow((["id"] if with_id else []) + head)
        for n, (user, item, kind, query, session, minute) in enumerate(rows):
            stamp = f"2024-05-01T10:{minute:02d}:00Z"
            w.writerow(([f"e{n}"] if with_id else []) + [user, item, kind, query, session, stamp])
    return path


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Path, Path]:
    items = tmp_path / "items.jsonl"
    items.write_text("\n".join(json.dumps(p) for p in PRODUCTS) + "\n")
    return items, write_events(tmp_path / "events.csv", LOG)


def products() -> pd.DataFrame:
    return pd.DataFrame(PRODUCTS)


def test_sessions_judge_their_latest_search(shop: tuple[Path, Path]) -> None:
    judged = judged_from_events(products(), read_events(shop[1]))
    # "socks" was searched 3 times (with a session), "red shirt" twice, "sweater" had no follow-up
    assert judged.queries == {"q0001": "socks", "q0002": "red shirt"}
    assert judged.qrels == {"q0001": {"f": 3, "e": 2}, "q0002": {"c": 2, "b": 3}}
    top = judged_from_events(products(), read_events(shop[1]), max_queries=1)
    assert top.queries == {"q0001": "socks"} and set(top.qrels) == {"q0001"}
    with pytest.raises(ConfigError):
        judged_from_events(products(), read_events(shop[1]), max_queries=0)


def test_equal_times_keep_file_order_and_ids_are_optional(tmp_path: Path) -> None:
    rows = [("u1", "", "search", "shirt", "s1", 0), ("u1", "b", "click", "", "s1", 0)]
    ev = read_events(write_events(tmp_path / "e.csv", rows, with_id=False))
    assert judged_from_events(products(), ev).qrels == {"q0001": {"b": 1}}
    # the click first, then the search (same second): nothing follows the search
    with pytest.raises(DataError, match="no search in the log"):
        judged_from_events(products(), read_events(write_events(tmp_path / "r.csv", rows[::-1])))


def test_bad_rows_name_the_line_and_column(tmp_path: Path) -> None:
    bad_type = write_events(tmp_path / "t.csv", [LOG[0], ("u1", "c", "hover", "", "s1", 1)])
    with pytest.raises(DataError) as err:
        read_events(bad_type)
    assert err.value.location is not None
    assert (err.value.location.line, err.value.location.field) == (3, "type")
    bad_time = tmp_path / "ts.csv"
    bad_time.write_text("id,user_id,type,query,session_id,timestamp\ne1,u1,search,socks,s1,yesterday\n")
    with pytest.raises(DataError, match="timestamp"):
        read_events(bad_time)


def test_cli_scores_the_search_log(shop: tuple[Path, Path], tmp_path: Path) -> None:
    from shopmind.cli import app

    items, events = shop
    out = tmp_path / "out.json"
    args = ["evaluate", "search", "--items", str(items), "--events", str(events), "--mode", "bm25"]
    result = CliRunner().invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["n_queries"] == 2 and doc["dataset"] == "events.csv search log"
    assert [r["name"] for r in doc["rows"]] == ["bm25s-title", "bm25"]
    assert 0 < doc["rows"][1]["metrics"]["ndcg@10"] <= 1
    broken = write_events(tmp_path / "broken.csv", [LOG[0], ("u1", "c", "click", "", "s1", 99)])
    result = CliRunner().invoke(app, ["evaluate", "search", "--items", str(items), "--events", str(broken)])
    assert isinstance(result.exception, DataError)  # ``shopmind`` prints it as one red line, exit 2
    msg = str(result.exception)
    assert "\n" not in msg and "broken.csv line 3 field 'timestamp'" in msg
    result = CliRunner().invoke(app, ["evaluate", "search", "--events", str(events)])
    assert isinstance(result.exception, ConfigError) and "--items and --events" in str(result.exception)
