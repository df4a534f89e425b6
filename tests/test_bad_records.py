"""One bad stored record never takes a capability down (issue 21): training sets it aside and says so.

Records are written straight into the SQLite store with SQL, bypassing validation — as an older
version with looser limits, or a hand edit, would leave them. ``train_all`` must still train search,
recommend and forecast, leave exactly those records out, and report them in the run manifest, the
services' summaries and ``GET /admin/status``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent / "api"))
from apishop import FAST_COMPONENTS, auth, seeded_engine

from shopmind.api import create_app
from shopmind.api.auth import ensure_demo_keys
from shopmind.engine import Engine


def _deep(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels):
        value = {"k": value}
    return value


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    # orders on seven different days, so that forecasting has a sales history
    engine = seeded_engine(tmp_path, order_date=lambda u: f"2026-01-0{u % 7 + 1}T10:00:00Z")
    yield engine
    engine.close()


def _corrupt(engine: Engine, statements: list[tuple[str, dict]]) -> None:
    with engine.store.engine.begin() as conn:  # type: ignore[attr-defined]
        for sql, params in statements:
            conn.execute(sa.text(sql), params)


ITEM_SQL = (
    "INSERT INTO items (id, title, description, category, currency, attributes, language) "
    "VALUES (:id, 'Broken', '', :category, 'USD', :attributes, 'en')"
)


def test_train_all_sets_bad_records_aside(engine: Engine) -> None:
    _corrupt(
        engine,
        [
            # nested 500 deep (the finding-3 item) is readable: it must simply be trained on
            (ITEM_SQL, {"id": "deep", "category": '["Home"]', "attributes": json.dumps(_deep(500))}),
            (ITEM_SQL, {"id": "bad-json", "category": '["Home"]', "attributes": "{not json"}),
            (ITEM_SQL, {"id": "bad-category", "category": "5", "attributes": "{}"}),
            ("UPDATE items SET stock = 'lots' WHERE id = 'sku-7'", {}),
            ("UPDATE events SET type = 'bogus' WHERE id = 'e-1-1'", {}),
            ("UPDATE events SET type = 'rating', value = :v WHERE id = 'e-2-1'", {"v": float("inf")}),
            ("UPDATE events SET timestamp = 'yesterday' WHERE id = 'e-3-2'", {}),
            ("UPDATE orders SET lines = '[{\"sku\": 1}]' WHERE id = 'o1'", {}),
        ],
    )
    engine.train(FAST_COMPONENTS)  # before the fix: JSONDecodeError / DataError / KeyError, no run

    run = engine.artifacts.current()
    assert run is not None
    manifest = run.manifest()["components"]
    items = {"bad-json", "bad-category", "sku-7"}
    expected = {
        "search": {"item": items},
        "recommend": {"item": items, "event": {"e-1-1", "e-2-1", "e-3-2"}, "order": {"o1"}},
        "forecast": {"item": items, "order": {"o1"}},
    }
    for name, kinds in expected.items():
        summary = manifest[name]["set_aside"]
        got: dict[str, set[str]] = {}
        for r in summary["items"]:
            got.setdefault(r["kind"], set()).add(r["id"])
        assert got == kinds, (name, summary)
        assert summary["count"] == sum(len(v) for v in kinds.values())
        assert all(r["reason"] for r in summary["items"])

    # what was trained: every good record, none of the bad ones, the deep item included
    rec = engine.service("recommend")
    assert {"deep", "sku-0", "sku-11"} <= set(rec.items.ids)
    assert not {"bad-json", "bad-category"} & set(rec.items.ids)
    assert rec.x.sum() > 0 and bool((rec.x.data == rec.x.data).all())  # no inf/NaN from the bad rating
    assert engine.search("broken", k=20).total >= 1  # the deep item is searchable
    ids = set(engine.search("model", k=50).ids)
    assert "sku-6" in ids and "sku-7" not in ids
    assert engine.service("forecast").data.info["n_items"] > 0

    keys = ensure_demo_keys(engine.store)
    with TestClient(create_app(engine, watch_interval_s=None)) as client:
        status = client.get("/admin/status", headers=auth(keys["admin"])).json()
    aside = status["set_aside"]
    assert aside["recommend"]["count"] == 7 and aside["forecast"]["count"] == 4
    assert {r["id"] for r in aside["search"]["items"]} == items


def test_bad_sales_rows_are_set_aside(engine: Engine) -> None:
    rows = ", ".join(
        f"('sku-{i % 4}', '2026-01-{d:02d}', {i % 5 + d % 3}, 0)" for i in range(4) for d in range(1, 29)
    )
    _corrupt(
        engine,
        [
            (f"INSERT INTO sales (item_id, date, units, promo) VALUES {rows}", {}),
            ("INSERT INTO sales (item_id, date, units, promo) VALUES ('sku-5', 'not a date', 3, 0)", {}),
            ("INSERT INTO sales (item_id, date, units, promo) VALUES ('sku-5', '2026-01-02', 'x', 0)", {}),
            (
                "INSERT INTO sales (item_id, date, units, promo) VALUES ('sku-5', '2026-01-03', :u, 0)",
                {"u": -1.0},
            ),
        ],
    )
    frame = engine.store.sales_frame()
    assert len(frame) == 4 * 28 and set(frame["item_id"]) == {"sku-0", "sku-1", "sku-2", "sku-3"}
    assert {r["id"] for r in frame.attrs["set_aside"]} == {
        "sku-5/not a date",
        "sku-5/2026-01-02",
        "sku-5/2026-01-03",
    }
    engine.train(["forecast"])
    summary = engine.service("forecast").set_aside_summary()
    assert summary["count"] == 3 and summary["by_kind"] == {"sale": 3}
