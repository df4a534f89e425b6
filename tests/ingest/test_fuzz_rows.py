"""Arbitrary CSV rows through ingest (hypothesis): each row is stored or rejected with its line, nothing
crashes, and no valid row is lost."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopmind.data.schema import Item, User
from shopmind.ingest import ingest_file
from shopmind.store.sql import SqlStore

ANY_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", " ", "-3", "1e309", "nan", "inf", "0", "12.50", "abc", "中文", "\u200b", "a" * 5000]
    ),
    st.text(alphabet="0123456789.,-+eE ", max_size=12),
)
VALID = st.fixed_dictionaries(
    {
        "title": st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=30),
        "price": st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: f"{x:.2f}"),
        "category": st.sampled_from(["Shoes > Running", "Audio", "家居 > 厨房", ""]),
    }
)
ARBITRARY = st.fixed_dictionaries({"title": ANY_TEXT, "price": ANY_TEXT, "category": ANY_TEXT})
ROWS = st.lists(st.tuples(st.booleans(), VALID, ARBITRARY), min_size=1, max_size=25)


@settings(
    max_examples=50, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(rows=ROWS)
def test_arbitrary_item_rows(tmp_path_factory, rows) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / "items.csv"
    written = []
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "title", "price", "category"])
        for n, (is_valid, good, anything) in enumerate(rows):
            fields = good if is_valid else anything
            # csv cannot carry NUL; surrogates cannot be written as UTF-8
            clean = {
                k: v.replace("\x00", "").encode("utf-8", "replace").decode("utf-8") for k, v in fields.items()
            }
            written.append((f"sku{n}", is_valid, clean))
            w.writerow([f"sku{n}", clean["title"], clean["price"], clean["category"]])
    store = SqlStore(f"sqlite:///{tmp / 'shop.db'}")
    try:
        report = ingest_file(store, "items", path, rejects=tmp / "rejects.jsonl")
        stored = store.item_ids()
    finally:
        store.close()
    rejects = (
        [json.loads(line) for line in (tmp / "rejects.jsonl").read_text(encoding="utf-8").splitlines()]
        if (tmp / "rejects.jsonl").exists()
        else []
    )
    assert report.rows == len(rows)
    assert report.inserted + report.updated + report.duplicates + report.rejected == report.rows
    rejected_lines = {r["line"] for r in rejects}
    assert len(rejects) == report.rejected
    for line, (sku, is_valid, _) in enumerate(written, start=2):
        if is_valid:
            assert sku in stored, (sku, rejects)  # nothing valid is lost
        # every row is accounted for: stored, or rejected with its line and a message
        assert (sku in stored) != (line in rejected_lines), (sku, line)
    for r in rejects:
        assert r["message"] and r["line"] >= 2


# ---------------------------------------------------------------------------- events and orders
FUZZ = settings(
    max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
KNOWN_ITEMS = ("A", "B")
KNOWN_USERS = ("u1", "u2")
SOMETIMES_KNOWN = st.one_of(st.sampled_from([*KNOWN_ITEMS, *KNOWN_USERS]), ANY_TEXT)
TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda d: d.isoformat() + "Z"
)


_LINE_BREAKS = str.maketrans("", "", "\x00\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def _clean(value: str) -> str:
    # csv cannot carry NUL; surrogates cannot be written as UTF-8. Characters some readers take for a
    # line break are left out so that "its line" is unambiguous ("\n" inside a quoted field stays).
    return value.translate(_LINE_BREAKS).encode("utf-8", "replace").decode("utf-8")


def _store_with_refs(tmp) -> SqlStore:
    store = SqlStore(f"sqlite:///{tmp / 'shop.db'}")
    store.upsert_items([Item(id=i, title=i) for i in KNOWN_ITEMS])
    store.upsert_users([User(id=u) for u in KNOWN_USERS])
    return store


def _ingest(tmp, kind: str, header: list[str], rows: list[list[str]]) -> tuple[list[int], set[int], Any]:
    """Write ``rows`` as CSV, ingest them; returns each row's first line, the rejected lines and the store."""
    path = tmp / f"{kind}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows([[_clean(v) for v in row] for row in rows])
    # A quoted field may hold line breaks: the line where each row starts, counting "\n" only (as the
    # reader does; a bare "\r" inside a field is not a new line).
    starts = []
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="\n"))
    next(reader)
    while True:
        start = reader.line_num + 1
        if next(reader, None) is None:
            break
        starts.append(start)
    assert len(starts) == len(rows)
    store = _store_with_refs(tmp)
    report = ingest_file(store, kind, path, rejects=tmp / "rejects.jsonl")
    rejects_file = tmp / "rejects.jsonl"
    rejects = (
        # split on "\n" only: JSON text may hold U+2028 and other characters str.splitlines() breaks at
        [json.loads(line) for line in rejects_file.read_text(encoding="utf-8").split("\n") if line]
        if rejects_file.exists()
        else []
    )
    assert len(rejects) == report.rejected and all(r["message"] and r["line"] >= 2 for r in rejects)
    assert report.rows == len(rows)
    if kind != "orders":  # grouped orders count orders, not rows, as written
        assert report.inserted + report.updated + report.duplicates + report.rejected == report.rows
    return starts, {r["line"] for r in rejects}, store


VALID_EVENT = st.fixed_dictionaries(
    {
        "user_id": st.sampled_from(KNOWN_USERS),
        "item_id": st.sampled_from(KNOWN_ITEMS),
        "type": st.sampled_from(["view", "click", "cart", "purchase", "wishlist"]),
        "timestamp": TIMES,
        "value": st.one_of(st.just(""), st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.3f}")),
    }
)
ARBITRARY_EVENT = st.fixed_dictionaries(
    {
        "user_id": SOMETIMES_KNOWN,
        "item_id": SOMETIMES_KNOWN,
        "type": st.one_of(st.sampled_from(["view", "rating", "search", "purchase", "VIEW"]), ANY_TEXT),
        "timestamp": st.one_of(TIMES, ANY_TEXT, st.sampled_from(["1e20", "-1", "9999-99-99", "1700000000"])),
        "value": ANY_TEXT,
    }
)
EVENT_FIELDS = ["user_id", "item_id", "type", "timestamp", "value"]


@FUZZ
@given(rows=st.lists(st.tuples(st.booleans(), VALID_EVENT, ARBITRARY_EVENT), min_size=1, max_size=25))
def test_arbitrary_event_rows(tmp_path_factory, rows) -> None:
    tmp = tmp_path_factory.mktemp("fuzz-events")
    table = [
        [f"ev{n}"] + [(good if ok else anything)[f] for f in EVENT_FIELDS]
        for n, (ok, good, anything) in enumerate(rows)
    ]
    starts, rejected_lines, store = _ingest(tmp, "events", ["id", *EVENT_FIELDS], table)
    try:
        frame = store.events_frame()  # the training reader: what was stored also reads back
        stored = set(frame["id"])
        assert not frame.attrs.get("set_aside"), frame.attrs
    finally:
        store.close()
    for line, (n, (is_valid, _, _)) in zip(starts, enumerate(rows), strict=True):
        if is_valid:
            assert f"ev{n}" in stored, (n, table[n])  # nothing valid is lost
        assert (f"ev{n}" in stored) != (line in rejected_lines), (line, table[n])


ORDER_FIELDS = ["user_id", "status", "created_at", "item_id", "quantity", "unit_price"]
VALID_LINE = st.fixed_dictionaries(
    {
        "item_id": st.sampled_from(KNOWN_ITEMS),
        "quantity": st.integers(1, 100).map(str),
        "unit_price": st.floats(0, 1e5, allow_nan=False).map(lambda x: f"{x:.2f}"),
    }
)
ARBITRARY_LINE = st.fixed_dictionaries(
    {"item_id": SOMETIMES_KNOWN, "quantity": ANY_TEXT, "unit_price": ANY_TEXT}
)
ORDER_HEAD = st.fixed_dictionaries(
    {
        "user_id": st.sampled_from(KNOWN_USERS),
        "status": st.sampled_from(["paid", "shipped", "delivered"]),
        "created_at": TIMES,
    }
)
ARBITRARY_HEAD = st.fixed_dictionaries(
    {
        "user_id": SOMETIMES_KNOWN,
        "status": st.one_of(st.just("paid"), ANY_TEXT),
        "created_at": st.one_of(TIMES, ANY_TEXT),
    }
)
ORDERS = st.lists(
    st.tuples(
        st.booleans(),
        ORDER_HEAD,
        ARBITRARY_HEAD,
        st.lists(st.tuples(st.booleans(), VALID_LINE, ARBITRARY_LINE), min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=10,
)


@FUZZ
@given(orders=ORDERS)
def test_arbitrary_order_rows(tmp_path_factory, orders) -> None:
    """One row per order line, grouped by order id: an order is stored whole, or every one of its rows
    is rejected with its line (the bad line names the field, the others name the bad line)."""
    tmp = tmp_path_factory.mktemp("fuzz-orders")
    table: list[list[str]] = []
    owner: list[tuple[str, bool]] = []  # per row: its order id, and whether the whole order is valid
    for n, (head_ok, head, bad_head, lines) in enumerate(orders):
        order_ok = head_ok and all(ok for ok, _, _ in lines)
        for ok, good, anything in lines:
            h, line = (head if head_ok else bad_head), (good if ok else anything)
            # every row of an order repeats the same head (as an export does)
            table.append([f"o{n}", *[h[f] for f in ORDER_FIELDS[:3]], *[line[f] for f in ORDER_FIELDS[3:]]])
            owner.append((f"o{n}", order_ok))
    starts, rejected_lines, store = _ingest(tmp, "orders", ["order_id", *ORDER_FIELDS], table)
    try:
        frame = store.orders_frame()
        assert not frame.attrs.get("set_aside"), frame.attrs
        stored_lines = frame.groupby("order_id").size().to_dict()
    finally:
        store.close()
    for n, (line, (oid, order_ok)) in enumerate(zip(starts, owner, strict=True)):
        if order_ok:
            assert oid in stored_lines, (oid, rejected_lines)  # nothing valid is lost
        assert (oid in stored_lines) != (line in rejected_lines), (line, table[n])
    for oid, n_lines in stored_lines.items():  # a stored order keeps every one of its lines
        assert n_lines == sum(1 for o, _ in owner if o == oid)
