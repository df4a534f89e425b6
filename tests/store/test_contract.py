"""The one Store contract suite: every test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from shopmind.data.dataset import EventWeights
from shopmind.data.schema import (
    Document,
    Event,
    Item,
    Order,
    OrderLine,
    OrderStatus,
    Review,
    SalesPoint,
    User,
)
from shopmind.errors import DataError, PermissionDenied, UnknownIdError
from shopmind.store import Store, open_store
from shopmind.store.base import (
    TICKET_MAX_TURN_CHARS,
    TICKET_MAX_TURNS,
    ApiKeyRecord,
    IdentityCheck,
    Ticket,
    WriteResult,
)

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _items() -> list[Item]:
    return [
        Item(
            id="sku-1",
            title="Red shoe",
            category="Shoes > Running",
            brand="Acme",
            price=59.9,
            attributes={"color": "red", "size": [40, 41]},
            stock=3,
            created_at=T0,
        ),
        Item(id="sku-2", title="蓝色 T恤 blue tee", category=["Clothing", "Tops"], price=9.5, language="zh"),
        Item(id="sku-3", title="Untouched", price=1.0),
    ]


def _events() -> list[Event]:
    return [
        Event(id="e1", user_id="u1", item_id="sku-1", type="view", timestamp=T0),
        Event(
            id="e2",
            user_id="u1",
            item_id="sku-1",
            type="purchase",
            quantity=2,
            timestamp=T0 + timedelta(hours=1),
        ),
        Event(
            id="e3", user_id="u2", item_id="sku-2", type="rating", value=4, timestamp=T0 + timedelta(hours=2)
        ),
        Event(id="e4", user_id="u2", type="search", query="red shoe", timestamp=T0 + timedelta(hours=3)),
    ]


def test_is_a_store(store) -> None:
    assert isinstance(store, Store)
    assert store.counts()["items"] == 0


def test_items_roundtrip_and_upsert_counts(store) -> None:
    res = store.upsert_items(_items())
    assert res == WriteResult(inserted=3)
    got = store.get_item("sku-1")
    assert got == _items()[0]
    assert got.created_at == T0 and got.created_at.tzinfo is not None
    assert got.category == ["Shoes", "Running"] and got.attributes == {"color": "red", "size": [40, 41]}
    assert store.get_item("nope") is None
    assert [i.id for i in store.get_items(["sku-2", "nope", "sku-1"])] == ["sku-2", "sku-1"]
    # identical rows are duplicates, changed rows are updates, a batch naming an id twice keeps the last
    changed = _items()[1].model_copy(update={"price": 7.0})
    res = store.upsert_items([_items()[0], changed, Item(id="sku-4", title="x"), Item(id="sku-4", title="y")])
    assert res == WriteResult(inserted=1, updated=1, duplicates=2)
    assert store.get_item("sku-2").price == 7.0
    assert store.get_item("sku-4").title == "y"
    assert store.item_ids() == {"sku-1", "sku-2", "sku-3", "sku-4"}
    frame = store.items_frame()
    assert list(frame["id"]) == ["sku-1", "sku-2", "sku-3", "sku-4"]
    row = frame.set_index("id").loc["sku-1"]
    assert row["category"] == ["Shoes", "Running"] and row["attributes"]["color"] == "red"
    assert row["created_at"] == pd.Timestamp(T0)
    assert store.delete_items(["sku-4", "zzz"]) == WriteResult(deleted=1)
    assert store.item_ids() == {"sku-1", "sku-2", "sku-3"}


def test_users(store) -> None:
    users = [User(id="u1", email="a@b.co", attributes={"tier": "gold"}, created_at=T0), User(id="u2")]
    assert store.upsert_users(users).inserted == 2
    assert store.upsert_users(users).duplicates == 2
    assert store.get_user("u1") == users[0]
    assert store.get_user("zz") is None
    assert store.user_ids() == {"u1", "u2"}
    frame = store.users_frame()
    assert list(frame["id"]) == ["u1", "u2"] and frame.loc[0, "attributes"] == {"tier": "gold"}


def test_events_idempotent_and_filters(store) -> None:
    assert store.add_events(_events()) == WriteResult(inserted=4)
    assert store.add_events(_events()) == WriteResult(duplicates=4)
    frame = store.events_frame()
    assert list(frame["id"]) == ["e1", "e2", "e3", "e4"]
    assert list(frame.columns) == [
        "id",
        "user_id",
        "item_id",
        "type",
        "value",
        "quantity",
        "query",
        "session_id",
        "timestamp",
    ]
    assert frame["timestamp"].iloc[0] == pd.Timestamp(T0)
    assert str(frame["timestamp"].dtype) == "datetime64[us, UTC]" or "UTC" in str(frame["timestamp"].dtype)
    assert frame.loc[1, "quantity"] == 2 and frame.loc[2, "value"] == 4.0
    assert pd.isna(frame.loc[3, "item_id"]) and frame.loc[3, "query"] == "red shoe"
    assert list(store.events_frame(user_id="u1")["id"]) == ["e1", "e2"]
    assert list(store.events_frame(types=["purchase", "rating"])["id"]) == ["e2", "e3"]
    since = store.events_frame(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3))
    assert list(since["id"]) == ["e2", "e3"]
    assert store.existing_event_ids(["e1", "e9", "e4"]) == {"e1", "e4"}


def test_events_frame_bulk_path(store) -> None:
    n = 2_000
    frame = pd.DataFrame(
        {
            "id": [f"b{i}" for i in range(n)],
            "user_id": [f"u{i % 7}" for i in range(n)],
            "item_id": [f"sku-{i % 3 + 1}" for i in range(n)],
            "type": ["view"] * n,
            "timestamp": pd.to_datetime(1_700_000_000 + np.arange(n), unit="s", utc=True),
        }
    )
    # the same id twice in one frame is stored once
    doubled = pd.concat([frame, frame.head(10)], ignore_index=True)
    assert store.add_events_frame(doubled) == WriteResult(inserted=n, duplicates=10)
    assert store.add_events_frame(frame.head(100)) == WriteResult(duplicates=100)
    back = store.events_frame()
    assert len(back) == n
    assert (back["quantity"] == 1).all() and back["value"].isna().all()
    assert back["timestamp"].iloc[-1] == pd.Timestamp(1_700_000_000 + n - 1, unit="s", tz="UTC")
    # unix seconds are accepted as well as datetimes
    secs = frame.head(1).assign(id="s1", timestamp=1_700_000_000)
    assert store.add_events_frame(secs).inserted == 1
    assert store.add_events_frame(frame.iloc[:0]) == WriteResult()


def test_event_batch_is_all_or_nothing(store) -> None:
    good = pd.DataFrame(
        {
            "id": ["ok1", "ok2"],
            "user_id": ["u1", None],
            "item_id": ["sku-1", "sku-1"],
            "type": ["view", "view"],
            "timestamp": [T0, T0],
        }
    )  # user_id NULL violates NOT NULL in the second row
    with pytest.raises(Exception):  # noqa: B017 - DataError or StoreError depending on the driver
        store.add_events_frame(good)
    assert store.counts()["events"] == 0


def test_load_dataset(store) -> None:
    store.upsert_items(_items())
    store.upsert_users([User(id="u1"), User(id="u9")])
    store.add_events(_events())
    ds = store.load_dataset(EventWeights(weights={"view": 1.0, "purchase": 5.0, "rating": 1.0}))
    assert ds.n_events == 3  # the search event names no item
    assert list(ds.items.ids[:3]) == ["sku-1", "sku-2", "sku-3"]  # untouched catalogue item included
    assert "u9" in ds.users and "u2" in ds.users
    m = ds.matrix()
    assert m[ds.users.index(["u1"])[0], ds.items.index(["sku-1"])[0]] == pytest.approx(6.0)
    assert m[ds.users.index(["u2"])[0], ds.items.index(["sku-2"])[0]] == pytest.approx(4.0)
    assert ds.item_table.loc["sku-1", "title"] == "Red shoe"
    assert int(ds.timestamp.min()) == int(T0.timestamp())


def _order(oid: str, user: str, status: OrderStatus = OrderStatus.PAID) -> Order:
    return Order(
        id=oid,
        user_id=user,
        lines=[
            OrderLine(item_id="sku-1", quantity=1, unit_price=59.9),
            OrderLine(item_id="sku-2", quantity=2, unit_price=9.5),
        ],
        status=status,
        created_at=T0,
        carrier="DHL",
        tracking_number="TRK1",
    )


def test_orders_and_permission(store) -> None:
    assert store.upsert_orders([_order("o1", "u1"), _order("o2", "u2")]).inserted == 2
    assert store.upsert_orders([_order("o1", "u1")]).duplicates == 1
    assert store.get_order("o1") == _order("o1", "u1")
    assert store.get_order("o1").total == pytest.approx(78.9)
    assert store.get_order("zz") is None
    assert [o.id for o in store.orders_for_user("u1")] == ["o1"]
    assert store.orders_for_user("nobody") == []
    with pytest.raises(PermissionDenied):
        store.set_order_status("o2", OrderStatus.CANCELLED, user_id="u1")
    assert store.get_order("o2").status is OrderStatus.PAID  # untouched
    with pytest.raises(UnknownIdError):
        store.set_order_status("nope", OrderStatus.CANCELLED, user_id="u1")
    shipped = store.set_order_status("o1", OrderStatus.SHIPPED, user_id="u1")
    assert shipped.status is OrderStatus.SHIPPED and shipped.shipped_at is not None
    assert shipped.updated_at is not None and shipped.updated_at.tzinfo is not None
    frame = store.orders_frame()
    assert list(frame.columns) == [
        "order_id",
        "user_id",
        "item_id",
        "quantity",
        "unit_price",
        "status",
        "created_at",
    ]
    assert len(frame) == 4
    assert frame.loc[frame["order_id"] == "o1", "status"].iloc[0] == "shipped"


def test_documents(store) -> None:
    docs = [
        Document(id="d1", title="Shipping", body="We ship in 2 days.", tags="shipping, delivery"),
        Document(id="d2", title="退货", body="七天无理由退货", language="zh", tags=["returns"]),
    ]
    assert store.upsert_documents(docs).inserted == 2
    assert [d.id for d in store.documents()] == ["d1", "d2"]
    assert store.documents("zh") == [docs[1]]
    assert store.documents()[0].tags == ["shipping", "delivery"]


def test_sales_upsert_on_item_and_date(store) -> None:
    pts = [
        SalesPoint(item_id="sku-1", date=date(2024, 1, 2), units=3, price=9.5, promo=True),
        SalesPoint(item_id="sku-1", date=date(2024, 1, 1), units=1),
        SalesPoint(item_id="sku-2", date=date(2024, 1, 1), units=0),
    ]
    assert store.add_sales(pts).inserted == 3
    res = store.add_sales([SalesPoint(item_id="sku-1", date=date(2024, 1, 1), units=5)])
    assert res == WriteResult(updated=1)
    frame = store.sales_frame()
    assert list(frame.columns) == ["item_id", "date", "units", "price", "promo"]
    assert list(frame["units"]) == [5.0, 3.0, 0.0]
    assert frame.loc[1, "promo"] and frame.loc[1, "price"] == 9.5
    assert list(store.sales_frame(["sku-2"])["item_id"]) == ["sku-2"]


def test_reviews(store) -> None:
    rv = [
        Review(id="r1", user_id="u1", item_id="sku-1", rating=5, text="great", created_at=T0),
        Review(
            id="r2", user_id="u2", item_id="sku-2", rating=1, title="bad", created_at=T0 + timedelta(days=1)
        ),
    ]
    assert store.upsert_reviews(rv).inserted == 2
    frame = store.reviews_frame()
    assert list(frame["id"]) == ["r1", "r2"] and frame.loc[0, "created_at"] == pd.Timestamp(T0)
    assert list(store.reviews_frame("sku-2")["rating"]) == [1]


def test_search_and_click_log(store) -> None:
    sid = store.log_search(query="red shoe", user_id="u1", n_results=2, result_ids=["sku-1", "sku-2"], at=T0)
    sid2 = store.log_search(query="tee", user_id=None, n_results=0, result_ids=[])
    assert sid != sid2
    store.log_click(search_id=sid, item_id="sku-2", position=2, at=T0 + timedelta(seconds=5))
    log = store.search_log_frame()
    assert list(log.columns) == ["search_id", "query", "user_id", "n_results", "result_ids", "at"]
    assert log.loc[0, "result_ids"] == ["sku-1", "sku-2"] and log.loc[0, "at"] == pd.Timestamp(T0)
    clicks = store.click_log_frame()
    assert list(clicks.columns) == ["search_id", "item_id", "position", "at"]
    assert clicks.loc[0, "position"] == 2 and clicks.loc[0, "search_id"] == sid


def test_conversations_and_tickets(store) -> None:
    store.append_message("c1", user_id="u1", role="user", text="where is my order?")
    store.append_message(
        "c1", user_id="u1", role="assistant", text="Order o1 shipped.", meta={"intent": "order"}
    )
    store.append_message("c2", user_id=None, role="user", text="hi")
    conv = store.conversation("c1")
    assert [m["role"] for m in conv] == ["user", "assistant"]
    assert conv[1]["meta"] == {"intent": "order"} and conv[0]["at"].tzinfo is not None
    assert store.conversation("none") == []
    t = store.create_ticket(
        Ticket(id="t1", conversation_id="c1", user_id="u1", reason="angry", transcript=conv)
    )
    assert t.created_at is not None
    store.create_ticket(Ticket(id="t2", conversation_id="c2", user_id=None, reason="x", status="closed"))
    assert [x.id for x in store.tickets()] == ["t1", "t2"]
    open_ = store.tickets("open")
    assert [x.id for x in open_] == ["t1"] and open_[0].transcript[0]["text"] == "where is my order?"


def test_api_keys(store) -> None:
    rec = ApiKeyRecord(
        id="k1", name="shop", scopes=("read", "write"), key_hash="h", prefix="sm_abc", created_at=T0
    )
    store.add_api_key(rec)
    store.add_api_key(
        ApiKeyRecord(id="k2", name="cust", scopes=("chat",), key_hash="h2", prefix="sm_def", user_id="u1")
    )
    assert store.api_keys()[0] == rec
    assert [k.id for k in store.api_key_by_prefix("sm_abc")] == ["k1"]
    assert store.revoke_api_key("k1") is True
    assert store.revoke_api_key("k1") is False
    assert store.revoke_api_key("zz") is False
    assert [k.id for k in store.api_keys()] == ["k2"]
    assert {k.id for k in store.api_keys(include_revoked=True)} == {"k1", "k2"}
    assert store.api_key_by_prefix("sm_abc") == []


def test_identity_check_log_and_failure_windows(store) -> None:
    t = [T0 + timedelta(minutes=m) for m in range(6)]
    for i, at in enumerate(t[:4]):
        store.log_identity_check(
            IdentityCheck("failed", order_id="o1", key_id="k1", client_ip=f"10.0.0.{i % 2}", at=at)
        )
    store.log_identity_check(
        IdentityCheck("failed", order_id="o2", key_id="k2", client_ip="10.0.0.0", at=t[4])
    )
    store.log_identity_check(
        IdentityCheck("locked_out", order_id="o1", key_id="k1", client_ip="10.0.0.1", reason="order", at=t[4])
    )
    store.log_identity_check(
        IdentityCheck("refused", order_id="o1", conversation_id="c9", reason="order", at=t[5])
    )
    got = store.identity_failure_times(since=t[1], limit=10, order_id="o1", key_id="k1", client_ip="10.0.0.0")
    # only `failed` rows count, newest first, from `since` on (inclusive)
    assert got == {"order_id": [t[3], t[2], t[1]], "key_id": [t[3], t[2], t[1]], "client_ip": [t[4], t[2]]}
    assert store.identity_failure_times(since=t[0], limit=2, order_id="o1") == {"order_id": [t[3], t[2]]}
    assert store.identity_failure_times(since=t[0], limit=5) == {}
    assert store.identity_failure_times(since=t[0], limit=5, order_id="nope") == {"order_id": []}
    audit = store.identity_checks()
    assert [c.outcome for c in audit] == ["failed"] * 5 + ["locked_out", "refused"]
    assert audit[-1] == IdentityCheck("refused", order_id="o1", conversation_id="c9", reason="order", at=t[5])
    assert [c.at for c in store.identity_checks(since=t[4], limit=2)] == [t[4], t[4]]
    assert store.prune_identity_checks(t[2]) == 2
    assert len(store.identity_checks()) == 5


def test_counts(store) -> None:
    store.upsert_items(_items())
    store.add_events(_events())
    counts = store.counts()
    assert counts["items"] == 3 and counts["events"] == 4 and counts["orders"] == 0
    assert {
        "users",
        "documents",
        "sales",
        "reviews",
        "search_log",
        "click_log",
        "tickets",
        "api_keys",
    } <= set(counts)


def test_reopen_keeps_data_and_concurrent_writers(store_url: str) -> None:
    s = open_store(store_url)
    s.upsert_items(_items())
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for j in range(5):
                s.add_events(
                    [Event(id=f"t{k}-{j}", user_id=f"u{k}", item_id="sku-1", type="view", timestamp=T0)]
                )
                s.log_search(query=f"q{k}", user_id=None, n_results=0, result_ids=[])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    s.close()
    again = open_store(store_url)
    try:
        assert again.counts()["events"] == 20 and again.counts()["items"] == 3
    finally:
        again.close()


def test_sales_bulk_frame(store) -> None:
    """``add_sales_frame`` (the bulk path ingest uses) counts like ``add_sales``."""
    frame = pd.DataFrame(
        {
            "item_id": ["a", "a", "b", "b"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01"]),
            "units": [1.0, 2.0, 3.0, 4.0],
            "price": [9.5, np.nan, 1.0, 1.0],
            "promo": [True, False, False, True],
        }
    )
    assert store.add_sales_frame(frame) == WriteResult(inserted=3, duplicates=1)  # b@01-01 twice: last wins
    again = frame.iloc[:3].copy()
    again.loc[1, "units"] = 7.0
    assert store.add_sales_frame(again) == WriteResult(updated=2, duplicates=1)
    got = store.sales_frame()
    assert (
        list(got["units"]) == [1.0, 7.0, 3.0] and pd.isna(got.loc[1, "price"]) and bool(got.loc[0, "promo"])
    )
    assert store.add_sales(
        [SalesPoint(item_id="a", date=date(2024, 1, 1), units=1, price=9.5, promo=True)]
    ) == WriteResult(duplicates=1)


def test_many_processes_open_the_same_new_store(store_url: str) -> None:
    """Web workers starting together all create tables on a fresh database without failing."""
    import subprocess
    import sys

    code = "import sys; from shopmind.store.sql import SqlStore; SqlStore(sys.argv[1]).close()"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, store_url], stderr=subprocess.PIPE) for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors


# ---------------------------------------------------------------------------- privacy (shopmind.privacy)
def _customer_data(store) -> None:
    """u1 and u2 with events, orders, a review, searches with clicks, conversations, tickets and keys."""
    store.upsert_items(_items())
    store.upsert_users([User(id="u1", email="u1@example.com"), User(id="u2", email="u2@example.com")])
    store.add_events(_events())
    store.upsert_orders([_order("o1", "u1"), _order("o2", "u2")])
    store.upsert_reviews(
        [
            Review(id=f"r-{u}", user_id=u, item_id="sku-1", rating=5, title="ok", text="fine", created_at=T0)
            for u in ("u1", "u2")
        ]
    )
    s1 = store.log_search(query="red shoe", user_id="u1", n_results=1, result_ids=["sku-1"], at=T0)
    store.log_click(search_id=s1, item_id="sku-1", position=1, at=T0)
    s2 = store.log_search(query="tee", user_id="u2", n_results=1, result_ids=["sku-2"], at=T0)
    store.log_click(search_id=s2, item_id="sku-2", position=1, at=T0)
    store.append_message("c-u1", user_id="u1", role="user", text="where is o1?")
    store.append_message("c-u1", user_id="u1", role="assistant", text="shipped", meta={"state": {}})
    # anonymous: verified o1 by e-mail; and an unrelated anonymous one naming u2's order
    store.append_message("c-anon", user_id=None, role="user", text="o1 please")
    store.append_message(
        "c-anon", user_id=None, role="assistant", text="ok", meta={"state": {"verified_orders": ["o1"]}}
    )
    store.append_message("c-other", user_id=None, role="user", text="o2")
    store.append_message(
        "c-other", user_id=None, role="assistant", text="ok", meta={"state": {"order_id": "o2"}}
    )
    store.append_message("c-u2", user_id="u2", role="user", text="hi")
    store.create_ticket(Ticket(id="t1", conversation_id="c-u1", user_id="u1", reason="x"))
    store.create_ticket(Ticket(id="t2", conversation_id="c-anon", user_id=None, reason="x"))
    store.create_ticket(Ticket(id="t3", conversation_id="c-u2", user_id="u2", reason="x"))
    store.add_api_key(
        ApiKeyRecord(id="k1", name="c", scopes=("read",), key_hash="h", prefix="p1", user_id="u1")
    )
    store.add_api_key(
        ApiKeyRecord(id="k2", name="c", scopes=("read",), key_hash="h", prefix="p2", user_id="u2")
    )


def test_erase_user_deletes_one_customer_and_anonymises_orders(store) -> None:
    from shopmind.privacy import ERASED_USER_PREFIX

    _customer_data(store)
    before = store.counts()
    counts = store.erase_user("u1")
    assert counts == {
        "users": 1,
        "events": 2,
        "reviews": 1,
        "searches": 1,
        "clicks": 1,
        "messages": 4,
        "tickets": 2,
        "conversations": 2,
        "orders_anonymised": 1,
        "api_keys": 1,
        "identity_checks": 0,
    }
    assert store.customer_erased_at("u1") is not None and store.customer_erased_at("u2") is None
    assert store.get_user("u1") is None and store.get_user("u2") is not None
    assert store.events_frame(user_id="u1").empty and len(store.events_frame(user_id="u2")) == 2
    assert store.conversation("c-u1") == [] and store.conversation("c-anon") == []
    assert len(store.conversation("c-other")) == 2 and len(store.conversation("c-u2")) == 1
    assert [t.id for t in store.tickets()] == ["t3"]
    assert [k.id for k in store.api_keys(include_revoked=True)] == ["k2"]
    assert list(store.search_log_frame()["user_id"]) == ["u2"] and len(store.click_log_frame()) == 1
    assert list(store.reviews_frame()["user_id"]) == ["u2"]
    # the order stays for sales aggregates, without the customer link or the tracking number
    o1 = store.get_order("o1")
    assert o1.user_id.startswith(ERASED_USER_PREFIX) and o1.tracking_number is None and o1.carrier is None
    assert o1.lines == _order("o1", "u1").lines and store.orders_for_user("u1") == []
    assert store.get_order("o2") == _order("o2", "u2")
    assert store.counts()["orders"] == before["orders"]
    # the next training forgets them
    assert "u1" not in set(store.load_dataset().users.ids) and "u2" in set(store.load_dataset().users.ids)
    # erasing again finds nothing
    assert not any(store.erase_user("u1").values())


def test_erase_customer_audit_has_no_personal_data(store) -> None:
    from shopmind.errors import UnknownIdError as Unknown
    from shopmind.privacy import erase_customer, subject_hash

    _customer_data(store)
    report = erase_customer(store, "u1", requested_by="cli:ops")
    assert report.counts["events"] == 2
    (record,) = store.privacy_audit()
    assert record["id"] == report.audit_id and record["action"] == "erase"
    assert record["requested_by"] == "cli:ops" and record["details"] == report.counts
    assert record["subject_hash"] == subject_hash(store, "u1") != subject_hash(store, "u2")
    assert len(record["subject_hash"]) == 64 and "u1" not in str(record)
    assert record["at"].tzinfo is not None
    with pytest.raises(Unknown):
        erase_customer(store, "u1", requested_by="cli:ops")  # nothing left: unknown, not audited twice
    assert len(store.privacy_audit()) == 1
    assert store.meta_secret("privacy_audit_salt") == store.meta_secret("privacy_audit_salt")


def test_purge_before_keeps_recent_data_and_whole_conversations(store) -> None:
    store.upsert_items(_items())
    store.add_events(_events())  # T0 .. T0+3h
    old = store.log_search(query="old", user_id="u1", n_results=1, result_ids=["sku-1"], at=T0)
    store.log_click(search_id=old, item_id="sku-1", position=1, at=T0 + timedelta(hours=5))
    new = store.log_search(
        query="new", user_id="u1", n_results=1, result_ids=["sku-1"], at=T0 + timedelta(days=9)
    )
    store.log_click(search_id=new, item_id="sku-1", position=1, at=T0 + timedelta(days=9))
    for cid in ("c-old", "c-live"):
        store.append_message(cid, user_id="u1", role="user", text="hi")
    store.create_ticket(Ticket(id="t-old", conversation_id="c-old", user_id="u1", reason="x"))
    now = datetime.now(UTC)
    # nothing old enough yet: a conversation counts by its LAST message
    assert store.purge_before(conversations_before=now - timedelta(days=1)) == {
        "conversations": 0,
        "messages": 0,
        "tickets": 0,
    }
    counts = store.purge_before(
        events_before=T0 + timedelta(hours=2), conversations_before=now + timedelta(seconds=1)
    )
    assert counts["events"] == 2 and counts["searches"] == 1 and counts["clicks"] == 1
    assert counts["conversations"] == 2 and counts["messages"] == 2 and counts["tickets"] == 1
    assert list(store.events_frame()["id"]) == ["e3", "e4"]
    assert list(store.search_log_frame()["search_id"]) == [new]
    assert list(store.click_log_frame()["search_id"]) == [new]  # the click on the old search went too
    assert store.conversation("c-old") == [] and store.tickets() == []
    assert store.purge_before() == {}


def test_conversation_turns_and_tickets_are_stored_redacted(store) -> None:
    store.append_message(
        "c1", user_id=None, role="user", text="my e-mail is jane@example.com, call 13812345678"
    )
    store.create_ticket(
        Ticket(
            id="t1",
            conversation_id="c1",
            user_id=None,
            reason="angry",
            transcript=[
                {
                    "role": "user",
                    "text": "寄到上海市浦东新区世纪大道100号 卡号 4111 1111 1111 1111",
                    "at": "x",
                }
            ],
        )
    )
    (msg,) = store.conversation("c1")
    assert msg["text"] == "my e-mail is [email], call [phone]"
    assert store.tickets()[0].transcript == [{"role": "user", "text": "寄到[address] 卡号 [card]", "at": "x"}]


def _tickets(store, n: int = 5) -> None:
    for i in range(n):
        store.create_ticket(
            Ticket(
                id=f"t{i}",
                conversation_id=f"c{i}",
                user_id=f"u{i}",
                reason="asked for a person",
                transcript=[{"role": "user", "text": f"help {i}", "at": "x"}],
                created_at=T0 + timedelta(minutes=i),
            )
        )


def test_tickets_page_newest_first_with_status_filter(store) -> None:
    _tickets(store)
    assert [t.id for t in store.tickets_page(limit=2)] == ["t4", "t3"]
    assert [t.id for t in store.tickets_page(limit=2, offset=2)] == ["t2", "t1"]
    assert [t.id for t in store.tickets_page(limit=10, offset=4)] == ["t0"]
    assert store.tickets_page(offset=5) == [] and store.count_tickets() == 5
    store.update_ticket("t1", status="in_progress")
    store.update_ticket("t3", status="resolved")
    assert [t.id for t in store.tickets_page(status="open")] == ["t4", "t2", "t0"]
    assert [t.id for t in store.tickets_page(status="resolved")] == ["t3"]
    assert store.count_tickets("open") == 3 and store.count_tickets("closed") == 0
    page = store.tickets_page(status="in_progress")
    assert page[0].updated_at is not None and page[0].transcript[0]["text"] == "help 1"


def test_ticket_update_life_cycle_and_history(store) -> None:
    _tickets(store, 1)
    t = store.get_ticket("t0")
    assert t is not None and t.status == "open" and t.history == [] and t.updated_at is None
    assert store.get_ticket("nope") is None and store.update_ticket("nope", status="closed") is None

    t = store.update_ticket("t0", status="in_progress", assignee="ana", note="calling back", by="key-1")
    assert t is not None and (t.status, t.assignee, t.note) == ("in_progress", "ana", "calling back")
    t = store.update_ticket("t0", note="mail me at jane@example.com")  # note only: status and assignee kept
    assert t is not None and (t.status, t.assignee, t.note) == ("in_progress", "ana", "mail me at [email]")
    t = store.update_ticket("t0", status="resolved", assignee="")  # "" clears the assignee
    assert t is not None and t.status == "resolved" and t.assignee is None
    assert [(h["previous_status"], h["status"], h["changed_by"]) for h in t.history] == [
        ("open", "in_progress", "key-1"),
        ("in_progress", "in_progress", None),
        ("in_progress", "resolved", None),
    ]
    assert all(h["at"].tzinfo is not None for h in t.history)

    # not allowed by the life cycle, or unknown: nothing is written
    with pytest.raises(DataError, match="resolved cannot become in_progress"):
        store.update_ticket("t0", status="in_progress")
    with pytest.raises(DataError, match="unknown ticket status"):
        store.update_ticket("t0", status="done")
    with pytest.raises(DataError, match="note too long"):
        store.update_ticket("t0", note="x" * 5000)
    after = store.get_ticket("t0")
    assert after is not None and after.status == "resolved" and len(after.history) == 3
    closed = store.update_ticket("t0", status="closed")
    reopened = store.update_ticket("t0", status="open")
    assert (
        closed is not None
        and closed.status == "closed"
        and reopened is not None
        and reopened.status == "open"
    )


def test_ticket_transcript_is_bounded_and_history_goes_with_the_ticket(store) -> None:
    turns = [{"role": "user", "text": f"turn {i}", "at": "x"} for i in range(TICKET_MAX_TURNS + 7)]
    turns[-1]["text"] = "y" * (TICKET_MAX_TURN_CHARS + 10)
    stored = store.create_ticket(
        Ticket(id="t1", conversation_id="c1", user_id="u1", reason="r", transcript=turns)
    )
    got = store.get_ticket("t1")
    assert got is not None and got.transcript == stored.transcript
    assert got.transcript[0] == {"role": "omitted", "text": "", "count": 7}
    assert got.transcript[1]["text"] == "turn 7" and len(got.transcript) == TICKET_MAX_TURNS + 1
    assert len(got.transcript[-1]["text"]) == TICKET_MAX_TURN_CHARS
    store.update_ticket("t1", status="closed", note="done")
    store.append_message("c1", user_id="u1", role="user", text="hi")
    assert store.erase_user("u1")["tickets"] == 1  # the change history goes with the ticket
    assert store.get_ticket("t1") is None and store.count_tickets() == 0


def test_conversations_page_most_recent_first_with_tickets(store) -> None:
    store.append_message("c-a", user_id="u1", role="user", text="first in a")
    store.append_message("c-b", user_id=None, role="user", text="first in b")
    store.append_message("c-a", user_id="u1", role="assistant", text="reply in a")  # a is now the newest
    store.create_ticket(Ticket(id="t-a", conversation_id="c-a", user_id="u1", reason="r"))
    page = store.conversations_page()
    assert [c["conversation_id"] for c in page] == ["c-a", "c-b"] and store.count_conversations() == 2
    a, b = page
    assert (a["user_id"], a["turns"], a["first_text"], a["ticket_ids"]) == ("u1", 2, "first in a", ["t-a"])
    assert (b["user_id"], b["turns"], b["ticket_ids"]) == (None, 1, [])
    assert a["started_at"] <= a["last_at"] and a["last_at"].tzinfo is not None
    assert [c["conversation_id"] for c in store.conversations_page(limit=1, offset=1)] == ["c-b"]
