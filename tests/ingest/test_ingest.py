"""Ingest: validation with line/field/value/expected, rejects files, idempotency, formats, mapping, CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from shopmind.cli import app
from shopmind.data.schema import Item, User
from shopmind.errors import DataError, StoreError
from shopmind.ingest import IngestAborted, IngestRejected, find_inputs, ingest_directory, ingest_file
from shopmind.ingest.validate import parse_timestamps
from shopmind.store.sql import SqlStore

ITEMS_CSV = """id,title,category,price,attr_color
sku1,Red shoe,Shoes > Running,59.9,red
sku2,Blue tee,Clothing/Tops,-3,blue
sku3,Broken,row,1,2,3
sku4,Green cap,Hats,12.5,green
"""

EVENTS_CSV = """id,user_id,item_id,type,value,timestamp
e1,u1,sku1,view,,2024-01-01T10:00:00Z
e2,u1,sku1,purchase,,1704103200
e3,u1,sku999,view,,2024-01-01T10:00:00
e4,u2,sku4,rating,5,2024-01-02
e1,u2,sku4,view,,2024-01-02
e5,u2,sku4,view,,2024-01-02,extra
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = SqlStore(f"sqlite:///{tmp_path / 'shop.db'}")
    yield s
    s.close()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _rejects(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_done_when_via_cli(tmp_path: Path) -> None:
    """Malformed row, unknown item id, negative price, duplicate event: each reported with line and field,
    good rows stored, rejects written, exit 0 (1 with --strict), and a second run ingests nothing new."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    items = _write(tmp_path / "items.csv", ITEMS_CSV)
    users = _write(tmp_path / "users.csv", "id\nu1\nu2\n")
    events = _write(tmp_path / "events.csv", EVENTS_CSV)
    runner = CliRunner()
    res = runner.invoke(
        app, ["--store", url, "ingest", "items", str(items), "--json", str(tmp_path / "i.json")]
    )
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "i.json").read_text())
    assert (rep["rows"], rep["inserted"], rep["rejected"]) == (4, 2, 2)
    rej = _rejects(tmp_path / "items.rejects.jsonl")
    assert [(r["line"], r["field"]) for r in rej] == [(3, "price"), (4, None)]
    assert rej[0]["value"] == "-3" and rej[0]["expected"] == "a number >= 0.0"
    assert rej[0]["raw"]["title"] == "Blue tee"
    assert rej[1]["expected"] == "5 fields" and "6 fields" in rej[1]["message"]
    assert runner.invoke(app, ["--store", url, "ingest", "users", str(users)]).exit_code == 0

    res = runner.invoke(
        app, ["--store", url, "ingest", "events", str(events), "--json", str(tmp_path / "e.json")]
    )
    assert res.exit_code == 0, res.output
    assert "rejected rows with reasons" in res.output  # the path itself may be wrapped by rich
    rep = json.loads((tmp_path / "e.json").read_text())
    assert (rep["rows"], rep["inserted"], rep["duplicates"], rep["rejected"]) == (6, 3, 0, 3)
    rej = _rejects(tmp_path / "events.rejects.jsonl")
    assert [(r["line"], r["field"]) for r in rej] == [(4, "item_id"), (6, "id"), (7, None)]
    assert rej[0]["value"] == "sku999" and rej[0]["message"] == "unknown item id"
    assert "first on line 2" in rej[1]["message"]
    assert rej[2]["raw"] == "e5,u2,sku4,view,,2024-01-02,extra"

    res = runner.invoke(
        app,
        ["--store", url, "ingest", "events", str(events), "--strict", "--json", str(tmp_path / "e2.json")],
    )
    assert res.exit_code == 1
    rep = json.loads((tmp_path / "e2.json").read_text())
    assert rep["inserted"] == 0 and rep["duplicates"] == 3 and rep["rejected"] == 3  # nothing new

    s = SqlStore(url)
    try:
        assert s.counts()["events"] == 3 and s.counts()["items"] == 2
        assert s.get_item("sku1").attributes == {"color": "red"}
        assert s.get_item("sku1").category == ["Shoes", "Running"]
        ev = s.events_frame().set_index("id")
        assert ev.loc["e2", "timestamp"] == pd.Timestamp(1704103200, unit="s", tz="UTC")
        assert ev.loc["e4", "value"] == 5.0
    finally:
        s.close()


def test_cli_errors_and_mapping(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    items = _write(tmp_path / "catalog.csv", "sku,name,cost\nA1,Lamp,10\n")
    res = runner.invoke(
        app, ["--store", url, "ingest", "items", str(items), "--map", "sku=id,name=title", "-m", "cost=price"]
    )
    assert res.exit_code == 0, res.output
    s = SqlStore(url)
    try:
        assert s.get_item("A1").price == 10.0 and s.get_item("A1").title == "Lamp"
    finally:
        s.close()
    res = runner.invoke(app, ["--store", url, "ingest", "things", str(items)])
    assert res.exit_code != 0 and isinstance(res.exception, DataError)
    res = runner.invoke(app, ["--store", url, "ingest", "items", str(items), "--map", "nope"])
    assert res.exit_code != 0


def test_jsonl_parquet_mapping_and_timestamps(store: SqlStore, tmp_path: Path) -> None:
    store.upsert_items([Item(id="A", title="a"), Item(id="B", title="b")])
    store.upsert_users([User(id="c1"), User(id="c2")])
    rows = [
        {"event_id": "j1", "customer": "c1", "sku": "A", "kind": "view", "ts": "2024-03-01T12:00:00+02:00"},
        {"event_id": "j2", "customer": "c1", "sku": "B", "kind": "cart", "ts": 1709294400, "qty": 2},
        {
            "event_id": "j3",
            "customer": "c2",
            "sku": None,
            "kind": "search",
            "ts": 1709294400000,
            "query": "lamp",
        },
        {"event_id": "j4", "customer": "c2", "sku": "A", "kind": "view", "ts": "yesterday"},
    ]
    jl = tmp_path / "ev.jsonl"
    jl.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n[1, 2]\n", encoding="utf-8")
    mapping = {
        "event_id": "id",
        "customer": "user_id",
        "sku": "item_id",
        "kind": "type",
        "ts": "timestamp",
        "qty": "quantity",
    }
    rep = ingest_file(store, "events", jl, mapping=mapping)
    assert (rep.inserted, rep.rejected) == (3, 3)
    assert [(e.line, e.field) for e in rep.errors] == [(4, "timestamp"), (5, None), (6, None)]
    ev = store.events_frame().set_index("id")
    assert ev.loc["j1", "timestamp"] == pd.Timestamp("2024-03-01T10:00:00Z")
    assert ev.loc["j2", "quantity"] == 2 and ev.loc["j2", "timestamp"] == ev.loc["j3", "timestamp"]
    assert ev.loc["j3", "query"] == "lamp" and pd.isna(ev.loc["j3", "item_id"])

    pq_path = tmp_path / "ev.parquet"
    pd.DataFrame(
        {
            "id": ["p1", "p2", "p3"],
            "user_id": ["c1", "c1", "c2"],
            "item_id": ["A", "B", "A"],
            "type": ["rating", "rating", "view"],
            "value": [4.0, 11.0, None],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]).tz_localize("UTC"),
        }
    ).to_parquet(pq_path)
    rep = ingest_file(store, "events", pq_path)
    assert (rep.inserted, rep.rejected) == (2, 1)
    assert rep.errors[0].line == 2 and rep.errors[0].field == "value"  # Parquet "line" = row number
    assert store.counts()["events"] == 5


def test_orders_grouped_by_line_and_json_lines(store: SqlStore, tmp_path: Path) -> None:
    store.upsert_items([Item(id="A", title="a"), Item(id="B", title="b")])
    store.upsert_users([User(id="u1"), User(id="u2")])
    csv = _write(
        tmp_path / "orders.csv",
        "order_id,user_id,status,created_at,item_id,quantity,unit_price\n"
        "o1,u1,paid,2024-01-01,A,1,10\n"
        "o2,u2,shipped,2024-01-02,A,1,10\n"
        "o1,u1,paid,2024-01-01,B,2,5.5\n"
        "o2,u2,shipped,2024-01-02,ZZZ,1,3\n",
    )
    rep = ingest_file(store, "orders", csv)
    assert rep.inserted == 1 and rep.rejected == 2  # both rows of o2 go, the unknown item on line 5
    o1 = store.get_order("o1")
    assert [(line.item_id, line.quantity) for line in o1.lines] == [("A", 1), ("B", 2)] and o1.total == 21.0
    rej = _rejects(tmp_path / "orders.rejects.jsonl")
    assert [(r["line"], r["field"]) for r in rej] == [(3, None), (5, "lines.1.item_id")]
    assert "because of line" in rej[0]["message"]

    jl = tmp_path / "orders2.jsonl"
    jl.write_text(
        json.dumps(
            {
                "id": "o3",
                "user_id": "u1",
                "created_at": "2024-02-01T00:00:00Z",
                "lines": [{"item_id": "B", "quantity": 1, "unit_price": 2}],
            }
        )
        + "\n"
        + json.dumps({"id": "o4", "user_id": "u1", "created_at": "2024-02-01", "lines": "[]"})
        + "\n",
        encoding="utf-8",
    )
    rep = ingest_file(store, "orders", jl)
    assert rep.inserted == 1 and rep.errors[0].field == "lines" and rep.errors[0].line == 2


def test_small_kinds_attributes_and_upsert_counts(store: SqlStore, tmp_path: Path) -> None:
    items = _write(
        tmp_path / "items.csv",
        "id,title,attributes,attr_size,created_at,stock\n"
        'a,A,"{""material"": ""oak""}",42,2024-01-01T00:00:00Z,3\n'
        "b,B,{broken,,,\n"
        "c,C,,,1704067200,x\n",
    )
    rep = ingest_file(store, "items", items)
    assert rep.inserted == 1 and rep.rejected == 2
    assert [(e.line, e.field) for e in rep.errors] == [(3, "attributes"), (4, "stock")]
    assert store.get_item("a").attributes == {"material": "oak", "size": 42}
    again = ingest_file(store, "items", items)
    assert again.inserted == 0 and again.duplicates == 1  # identical row: nothing written
    docs = _write(
        tmp_path / "documents.csv", 'id,title,body,tags\nd1,Returns,Send it back,"returns, refunds"\nd2,,x,\n'
    )
    rep = ingest_file(store, "documents", docs)
    assert rep.inserted == 1 and rep.errors[0].field == "title"
    assert store.documents()[0].tags == ["returns", "refunds"]
    sales = _write(
        tmp_path / "sales.csv",
        "item_id,date,units,promo\na,2024-01-01,3,yes\na,2024-01-01,4,no\nzz,2024-01-01,1,no\n",
    )
    rep = ingest_file(store, "sales", sales)
    assert rep.inserted == 1 and [(e.line, e.field) for e in rep.errors] == [
        (3, "item_id+date"),
        (4, "item_id"),
    ]
    users = _write(tmp_path / "users.csv", "id,email,attr_tier\nu1,a@b.co,gold\nu2,not-an-email,\n")
    rep = ingest_file(store, "users", users)
    assert rep.inserted == 1 and rep.errors[0].field == "email"
    reviews = _write(
        tmp_path / "reviews.csv",
        "id,user_id,item_id,rating,text,created_at\nr1,u1,a,5,great,2024-01-01\nr2,u1,a,6,x,2024-01-01\nr3,ghost,a,1,x,2024-01-01\n",
    )
    rep = ingest_file(store, "reviews", reviews)
    assert rep.inserted == 1 and [(e.line, e.field) for e in rep.errors] == [(3, "rating"), (4, "user_id")]
    rep = ingest_file(store, "reviews", reviews, unknown_users="accept", rejects=tmp_path / "out" / "r.jsonl")
    assert rep.inserted == 1 and rep.duplicates == 1 and rep.rejects_path == str(tmp_path / "out" / "r.jsonl")


def test_chunks_are_transactions_and_listed(store: SqlStore, tmp_path: Path) -> None:
    store.upsert_items([Item(id="A", title="a")])
    store.upsert_users([User(id="u")])
    lines = ["id,user_id,item_id,type,timestamp"] + [f"e{i},u,A,view,{1_700_000_000 + i}" for i in range(10)]
    lines.append("e3,u,A,view,1700000000")  # duplicate of a row in an earlier chunk
    path = _write(tmp_path / "events.csv", "\n".join(lines) + "\n")
    rep = ingest_file(store, "events", path, chunk_rows=4)
    assert [(c.first_line, c.last_line, c.inserted, c.rejected) for c in rep.chunks] == [
        (2, 5, 4, 0),
        (6, 9, 4, 0),
        (10, 12, 2, 1),
    ]
    assert rep.errors[0].line == 12 and "first on line 5" in rep.errors[0].message

    class Flaky:
        """Fails on the second chunk, like a database that goes away mid-file."""

        def __init__(self, inner: SqlStore) -> None:
            self.inner, self.calls = inner, 0

        def __getattr__(self, name: str):
            return getattr(self.inner, name)

        def add_events_frame(self, frame):
            self.calls += 1
            if self.calls == 2:
                raise StoreError("connection lost")
            return self.inner.add_events_frame(frame)

    path2 = _write(
        tmp_path / "more.csv",
        "\n".join(
            ["id,user_id,item_id,type,timestamp"] + [f"m{i},u,A,view,{1_700_000_000 + i}" for i in range(8)]
        )
        + "\n",
    )
    with pytest.raises(IngestAborted, match=r"chunk 1 \(lines 6-9\) was not stored") as info:
        ingest_file(Flaky(store), "events", path2, chunk_rows=4)
    assert [c.index for c in info.value.report.chunks] == [0]
    assert store.existing_event_ids([f"m{i}" for i in range(8)]) == {"m0", "m1", "m2", "m3"}


def test_strict_library_and_event_ids_from_content(store: SqlStore, tmp_path: Path) -> None:
    store.upsert_items([Item(id="A", title="a")])
    path = _write(
        tmp_path / "events.tsv",
        "user_id\titem_id\ttype\ttimestamp\nx\tA\tview\t2024-01-01\ny\tA\tview\t2024-01-01\n",
    )
    with pytest.raises(IngestRejected) as info:
        ingest_file(store, "events", path, strict=True)
    assert info.value.report.inserted == 0 and info.value.report.rejected == 2  # unknown users
    rep = ingest_file(store, "events", path, unknown_users="accept")
    assert rep.inserted == 2 and any("content hashes" in n for n in rep.notes)
    assert ingest_file(store, "events", path, unknown_users="accept").duplicates == 2
    assert not (tmp_path / "events.rejects.jsonl").exists()  # stale rejects removed on a clean run


def test_ingest_directory_order(store: SqlStore, tmp_path: Path) -> None:
    _write(tmp_path / "events.csv", "id,user_id,item_id,type,timestamp\ne1,u1,sku1,view,2024-01-01\n")
    _write(tmp_path / "users.jsonl", json.dumps({"id": "u1"}) + "\n")
    _write(tmp_path / "items.csv", "id,title\nsku1,Shoe\n")
    _write(tmp_path / "notes.txt.bak", "ignored")
    assert [k for k, _ in find_inputs(tmp_path)] == ["items", "users", "events"]
    reports = ingest_directory(store, tmp_path)
    assert [(r.kind, r.inserted, r.rejected) for r in reports] == [
        ("items", 1, 0),
        ("users", 1, 0),
        ("events", 1, 0),
    ]
    with pytest.raises(DataError, match="no known input files"):
        find_inputs(tmp_path / "nothing") if (tmp_path / "nothing").mkdir() is None else None


def test_parse_timestamps_mixed() -> None:
    col = pd.Series(
        [
            "2024-01-01",
            "2024-01-01T10:00:00+02:00",
            "2024-01-01T10:00:00.5",
            1704067200,
            "1704067200000",
            None,
            "x",
        ],
        dtype=object,
    )
    parsed, bad = parse_timestamps(col)
    assert parsed.iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert parsed.iloc[1] == pd.Timestamp("2024-01-01T08:00:00Z")
    assert parsed.iloc[2] == pd.Timestamp("2024-01-01T10:00:00.5Z")  # naive = UTC, not the neighbour's offset
    assert parsed.iloc[3] == parsed.iloc[4] == pd.Timestamp(datetime(2024, 1, 1, tzinfo=UTC))
    assert bad.tolist() == [False, False, False, False, False, False, True]


def test_csv_line_numbers_with_multiline_fields(store: SqlStore, tmp_path: Path) -> None:
    """A quoted description spanning lines shifts later line numbers, as an editor shows them."""
    path = _write(
        tmp_path / "items.csv",
        'id,title,description,price\na,A,"first line\nsecond line",1\n\nb,B,plain,-1\nc,C,"x, y",2,extra\n',
    )
    rep = ingest_file(store, "items", path)
    assert rep.inserted == 1
    assert [(e.line, e.field) for e in rep.errors] == [(5, "price"), (6, None)]
    assert store.get_item("a").description == "first line\nsecond line"


def test_entry_point_exit_codes(tmp_path: Path) -> None:
    """The real ``shopmind`` entry point: 0 with rejects, 1 with --strict and rejects, 2 on bad input."""
    import subprocess
    import sys

    items = _write(tmp_path / "items.csv", ITEMS_CSV)
    base = [
        sys.executable,
        "-c",
        "from shopmind.cli import main; main()",
        "-q",
        "--store",
        f"sqlite:///{tmp_path / 'ep.db'}",
    ]

    def run(*args: str) -> int:
        return subprocess.run([*base, *args], capture_output=True, text=True, timeout=120).returncode

    assert run("ingest", "items", str(items)) == 0
    assert run("ingest", "items", str(items), "--strict") == 1
    assert run("ingest", "nonsense", str(items)) == 2
