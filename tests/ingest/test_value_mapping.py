"""Value mapping of enumerations, and a run that rejects every row: grouped reasons, a hint, exit 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopmind.cli import app
from shopmind.data.schema import Item, User
from shopmind.errors import ConfigError, DataError
from shopmind.ingest import ingest_file
from shopmind.store.sql import SqlStore

EVENTS = """event,customer,sku,action,ts
e1,u1,A,add_to_basket,2024-01-01T10:00:00Z
e2,u1,A,buy,2024-01-01T10:05:00Z
e3,u1,A,view,2024-01-01T10:06:00Z
e4,u1,A,save_for_later,2024-01-01T10:07:00Z
"""
MAP = {"event": "id", "customer": "user_id", "sku": "item_id", "action": "type", "ts": "timestamp"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = SqlStore(f"sqlite:///{tmp_path / 'shop.db'}")
    s.upsert_items([Item(id="A", title="a")])
    s.upsert_users([User(id="u1")])
    yield s
    s.close()


def test_values_mapped_before_validation(store: SqlStore, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(EVENTS, encoding="utf-8")
    plain = ingest_file(store, "events", path, mapping=MAP)
    assert plain.rejected == 3 and plain.error_counts["type: unknown event type"] == 3
    report = ingest_file(
        store,
        "events",
        path,
        mapping=MAP,
        # keyed by the source column ("action") or the field ("type"): both name the same column
        value_mapping={"action": {"add_to_basket": "cart"}, "type": {"buy": "purchase"}},
    )
    assert report.rejected == 1 and report.inserted == 2  # save_for_later stays unknown, 'view' untouched
    assert any("values mapped in type" in n for n in report.notes)
    types = store.events_frame().set_index("id")["type"].to_dict()
    assert types == {"e1": "cart", "e2": "purchase", "e3": "view"}


def test_value_mapping_errors(store: SqlStore, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(EVENTS, encoding="utf-8")
    with pytest.raises(DataError, match="not in the file: colour") as err:
        ingest_file(store, "events", path, mapping=MAP, value_mapping={"colour": {"red": "blue"}})
    assert "action" in str(err.value) or "type" in str(err.value)
    with pytest.raises(DataError, match="mapped twice"):
        ingest_file(
            store, "events", path, mapping=MAP, value_mapping={"action": {"x": "cart"}, "type": {"x": "view"}}
        )
    assert store.counts()["events"] == 0  # nothing stored by a refused run


def test_cli_map_values(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    (tmp_path / "items.csv").write_text("id,title\nA,a\n", encoding="utf-8")
    (tmp_path / "users.csv").write_text("id\nu1\n", encoding="utf-8")
    events = tmp_path / "events.csv"
    events.write_text(EVENTS, encoding="utf-8")
    for kind in ("items", "users"):
        assert (
            runner.invoke(app, ["--store", url, "ingest", kind, str(tmp_path / f"{kind}.csv")]).exit_code == 0
        )
    cols = ["--map", ",".join(f"{s}={d}" for s, d in MAP.items())]
    res = runner.invoke(
        app,
        ["--store", url, "ingest", "events", str(events), *cols, "--map-values",
         "type:add_to_basket=cart,type:buy=purchase", "--map-values", "action:save_for_later=wishlist",
         "--json", str(tmp_path / "r.json")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "r.json").read_text())
    assert (rep["inserted"], rep["rejected"]) == (4, 0)
    res = runner.invoke(
        app, ["--store", url, "ingest", "events", str(events), *cols, "--map-values", "add=cart"]
    )
    assert res.exit_code != 0 and isinstance(res.exception, ConfigError)
    assert "COLUMN:SOURCE_VALUE=VALUE" in str(res.exception)
    res = runner.invoke(
        app, ["--store", url, "ingest", "events", str(events), *cols, "--map-values", "kind:a=b"]
    )
    assert res.exit_code != 0 and isinstance(res.exception, DataError)


def test_every_row_rejected_exits_1_with_one_line_and_hint(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    (tmp_path / "items.csv").write_text("id,title\nA,a\n", encoding="utf-8")
    assert runner.invoke(app, ["--store", url, "ingest", "items", str(tmp_path / "items.csv")]).exit_code == 0
    events = tmp_path / "events.csv"
    rows = [f"e{i},stranger{i % 7},A,view,2024-01-01T10:{i:02d}:00Z" for i in range(30)]
    events.write_text("id,user_id,item_id,type,timestamp\n" + "\n".join(rows) + "\n", encoding="utf-8")
    res = runner.invoke(app, ["--store", url, "ingest", "events", str(events)])
    assert res.exit_code == 1
    out = " ".join(res.output.split())  # rich wraps long lines
    assert out.count("every row of") == 1
    assert "user_id: unknown user id ×30" in out and "--accept-unknown-users" in out
    assert out.count("stranger") <= 2  # one grouped reason (with its first value), not 20 rows
    res = runner.invoke(app, ["--store", url, "ingest", "events", str(events), "--accept-unknown-users"])
    assert res.exit_code == 0, res.output
    # ingest-dir: a folder whose events are all rejected also fails, after ingesting the rest
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "events.csv").write_text(events.read_text().replace(",e", ",x").replace("\ne", "\nx"))
    res = runner.invoke(app, ["--store", url, "ingest-dir", str(folder)])
    assert res.exit_code == 1 and "--accept-unknown-users" in " ".join(res.output.split())
