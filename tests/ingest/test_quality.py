"""Data-quality report: planted bot, planted shilling account, unknown ids, out-of-range values, CLI."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from rich.console import Console
from typer.testing import CliRunner

from shopmind.cli import app
from shopmind.data.schema import Event, Item, Order, OrderLine, Review, User
from shopmind.ingest.quality import detect_bots, detect_shilling, quality_report, render_quality
from shopmind.store.sql import SqlStore

T = datetime(2024, 5, 1, tzinfo=UTC)


def _planted_store(url: str) -> SqlStore:
    s = SqlStore(url)
    rng = random.Random(7)
    s.upsert_items(
        [Item(id=f"i{k}", title=f"Item {k}", price=10.0 + k, category=["c"]) for k in range(20)]
        + [Item(id="free", title="Free thing", price=0.0, category=["c"])]
    )
    s.upsert_users([User(id=f"u{k}") for k in range(30)] + [User(id="bot"), User(id="shill")])
    events: list[Event] = []
    for u in range(30):  # humans: a view every few minutes, some fast bursts but far below a bot
        t = T + timedelta(minutes=u)
        for j in range(40):
            t += timedelta(seconds=rng.randint(5, 600))
            events.append(
                Event(
                    id=f"h{u}-{j}", user_id=f"u{u}", item_id=f"i{rng.randrange(20)}", type="view", timestamp=t
                )
            )
        events.append(
            Event(
                id=f"r{u}",
                user_id=f"u{u}",
                item_id=f"i{rng.randrange(20)}",
                type="rating",
                value=rng.choice([1, 3, 4, 5]),
                timestamp=t,
            )
        )
    for j in range(400):  # bot: two views a second for 200 seconds
        events.append(
            Event(
                id=f"b{j}",
                user_id="bot",
                item_id=f"i{j % 20}",
                type="view",
                timestamp=T + timedelta(seconds=j / 2),
            )
        )
    s.add_events(events)
    # shilling: eight 5-star reviews/ratings on two items within three hours
    s.upsert_reviews(
        [
            Review(
                id=f"s{j}",
                user_id="shill",
                item_id=f"i{j % 2}",
                rating=5,
                text="best!!!",
                created_at=T + timedelta(minutes=20 * j),
            )
            for j in range(8)
        ]
        + [Review(id="ok1", user_id="u1", item_id="i3", rating=5, text="nice", created_at=T)]
    )
    s.add_events(
        [
            Event(id="ghost", user_id="u1", item_id="deleted-sku", type="view", timestamp=T),
            Event(id="future", user_id="u2", item_id="i1", type="view", timestamp=T + timedelta(days=400)),
            Event(
                id="ancient",
                user_id="u2",
                item_id="i1",
                type="view",
                timestamp=datetime(1995, 1, 1, tzinfo=UTC),
            ),
            Event(id="dup-a", user_id="u3", item_id="i2", type="cart", timestamp=T),
            Event(id="dup-b", user_id="u3", item_id="i2", type="cart", timestamp=T),
        ]
    )
    s.upsert_orders(
        [
            Order(
                id="o1",
                user_id="nobody",
                created_at=T,
                lines=[OrderLine(item_id="i1", quantity=1, unit_price=11.0)],
            )
        ]
    )
    return s


def test_quality_finds_planted_problems(tmp_path: Path) -> None:
    s = _planted_store(f"sqlite:///{tmp_path / 'q.db'}")
    try:
        rep = quality_report(s, now=T + timedelta(days=2))
    finally:
        s.close()
    json.dumps(rep)  # JSON-serialisable
    assert [b["user_id"] for b in rep["bots"]] == ["bot"]
    assert rep["bots"][0]["max_events_per_minute"] == 120
    assert [x["user_id"] for x in rep["shilling"]] == ["shill"]
    assert rep["shilling"][0]["items"] == ["i0", "i1"] and rep["shilling"][0]["direction"] == "push"
    assert rep["unknown_references"]["event_items"] == 1
    assert rep["unknown_references"]["order_users"] == 1
    assert rep["out_of_range"]["item_price"] == 1
    assert rep["out_of_range"]["events_in_future"] == 1 and rep["out_of_range"]["events_before_2000"] == 1
    assert rep["duplicates"]["events_same_content"] == 1
    assert rep["missing"]["items"]["brand"]["missing"] == 21
    codes = {f["code"]: f for f in rep["findings"]}
    assert codes["unknown_event_items"]["severity"] == "error"
    assert codes["unknown_event_items"]["examples"] == ["ghost → deleted-sku"]
    assert {
        "bot_like_users",
        "suspected_shilling",
        "item_price_out_of_range",
        "events_time_in_future",
    } <= set(codes)
    assert rep["findings"][0]["severity"] == "error"  # errors first
    console = Console(record=True, width=160)
    render_quality(rep, console)
    text = console.export_text()
    assert "Bot-like users" in text and "shill" in text


def test_detectors_thresholds() -> None:
    ts = pd.to_datetime([T + timedelta(seconds=i) for i in range(50)], utc=True)
    ev = pd.DataFrame({"user_id": ["fast"] * 50, "timestamp": ts})
    assert detect_bots(ev, per_minute=30, min_events=40)[0]["max_events_per_minute"] == 50
    assert detect_bots(ev, per_minute=30, min_events=100) == []  # not sustained long enough
    assert detect_bots(ev, per_minute=51, min_events=10) == []
    ratings = pd.DataFrame(
        {
            "user_id": ["a"] * 6,
            "item_id": [f"x{i}" for i in range(6)],
            "rating": [5.0] * 6,
            "timestamp": [T + timedelta(hours=i) for i in range(6)],
        }
    )
    assert detect_shilling(ratings, min_ratings=5, max_items=3) == []  # six different items: not "few"
    assert detect_shilling(ratings, min_ratings=5, max_items=6)[0]["extreme_ratings_in_window"] == 6
    spread = ratings.assign(timestamp=[T + timedelta(days=2 * i) for i in range(6)], item_id="x0")
    assert detect_shilling(spread, min_ratings=5, max_items=3, window_hours=24) == []  # not in a short window


def test_quality_cli_writes_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    _planted_store(url).close()
    out = tmp_path / "reports" / "quality.json"
    res = CliRunner().invoke(app, ["--store", url, "quality", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "Data-quality findings" in res.output
    data = json.loads(out.read_text())
    assert data["bots"][0]["user_id"] == "bot" and data["counts"]["events"] > 1000
