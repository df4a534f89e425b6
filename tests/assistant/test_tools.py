"""Order tools behind identity checks, catalogue questions, recommendations in chat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopmind.assistant.tools import (
    MAX_VERIFY_FAILURES,
    Client,
    Identity,
    OrderTools,
    ProductTools,
    RecommendTool,
    VerificationGuard,
    VerifyLimits,
    extract_emails,
    extract_order_ids,
)
from shopmind.data.schema import OrderStatus
from shopmind.errors import ConfigError, PermissionDenied
from shopmind.types import RankedList, Recommendation


def _pick(store, status: OrderStatus):
    frame = store.orders_frame()
    oid = frame.loc[frame["status"] == status.value, "order_id"].iloc[0]
    return store.get_order(oid)


def _other_user_order(store, not_user: str):
    frame = store.orders_frame()
    oid = frame.loc[frame["user_id"] != not_user, "order_id"].iloc[0]
    return store.get_order(oid)


def test_entity_extraction():
    text = "order ORD-0001-000123 and #A12345, mail me at Jo.Doe@example.com. price 12.99"
    assert extract_order_ids(text) == ["ORD-0001-000123", "A12345"]
    assert extract_emails(text) == ["Jo.Doe@example.com"]
    assert extract_order_ids("订单ORD-0001-000123的物流") == ["ORD-0001-000123"]


def test_owner_sees_status_and_tracking(store):
    order = _pick(store, OrderStatus.SHIPPED)
    res = OrderTools(store).order_status(Identity(user_id=order.user_id), order.id)
    assert res.ok and order.id in res.text and order.tracking_number in res.text
    assert res.facts["tracking_number"] == order.tracking_number


def test_other_customer_is_refused_like_unknown(store):
    tools = OrderTools(store)
    order = _pick(store, OrderStatus.SHIPPED)
    intruder = _other_user_order(store, order.user_id).user_id
    refused = tools.order_status(Identity(user_id=intruder), order.id)
    unknown = tools.order_status(Identity(user_id=intruder), "ORD-9999-999999")
    assert not refused.ok and refused.text == unknown.text  # no existence oracle
    assert order.id not in refused.text and order.tracking_number not in refused.text
    with pytest.raises(PermissionDenied):
        tools.authorize(Identity(user_id=intruder), order.id)


def test_email_verification_for_anonymous(store):
    tools = OrderTools(store)
    order = _pick(store, OrderStatus.DELIVERED)
    owner = store.get_user(order.user_id)
    other = next(u for u in store.users_frame()["email"] if u and u != owner.email)
    anon = Identity()
    assert not tools.order_status(anon, order.id).ok
    assert not tools.verify(anon, order.id, other)
    assert tools.verify(anon, order.id, owner.email.upper())  # case-insensitive
    assert tools.order_status(anon, order.id).ok
    # an authenticated customer is never upgraded to someone else's order by e-mail
    me = Identity(user_id="someone-else")
    assert not tools.verify(me, order.id, owner.email)


def test_email_bruteforce_is_capped(store):
    tools = OrderTools(store)
    order = _pick(store, OrderStatus.DELIVERED)
    owner = store.get_user(order.user_id)
    anon = Identity()
    for i in range(MAX_VERIFY_FAILURES):
        assert not tools.verify(anon, order.id, f"guess{i}@example.com")
    assert not tools.verify(anon, order.id, owner.email)  # locked out even with the right address


class _Clock:
    """A settable clock for the guard's sliding window."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _guarded(store, **limits):
    clock = _Clock()
    guard = VerificationGuard(store, VerifyLimits(**limits), clock=clock)
    return OrderTools(store, guard), clock


def test_failures_are_limited_per_order_across_conversations(store):
    tools, clock = _guarded(store, window_s=600, max_per_order=3, max_per_ip=100, max_per_key=100)
    order = _pick(store, OrderStatus.SHIPPED)
    owner = store.get_user(order.user_id)
    # every guess in a new conversation (a fresh Identity), from a new address: only the order counts
    for i in range(3):
        anon = Identity(client=Client("k1", f"10.0.0.{i}"), conversation_id=f"c{i}")
        assert not tools.verify(anon, order.id, f"guess{i}@example.com")
        clock.now += timedelta(seconds=10)
    late = Identity(client=Client("k1", "10.9.9.9"), conversation_id="c-late")
    assert not tools.verify(late, order.id, owner.email)  # the right address, but locked
    assert late.lockout is not None and late.lockout.reason == "order" and not late.verified_orders
    # locked until the 3rd most recent failure (the first, at +0 s) is 600 s old
    assert late.lockout.until == datetime(2026, 3, 1, 12, 10, tzinfo=UTC)
    assert late.lockout.retry_after_s(clock.now) == 570
    # an unknown order id is limited exactly the same way (no existence oracle)
    for i in range(3):
        tools.verify(Identity(client=Client("k1", f"10.1.0.{i}")), "ORD-9999-999999", "x@example.com")
    nobody = Identity(client=Client("k1", "10.1.0.9"))
    assert not tools.verify(nobody, "ORD-9999-999999", "x@example.com") and nobody.lockout.reason == "order"
    clock.now = datetime(2026, 3, 1, 12, 10, 1, tzinfo=UTC)  # the window has passed
    fresh = Identity(client=Client("k1", "10.9.9.9"))
    assert tools.verify(fresh, order.id, owner.email) and fresh.lockout is None
    audit = store.identity_checks()
    assert [c.outcome for c in audit if c.order_id == order.id] == [
        "failed",
        "failed",
        "failed",
        "locked_out",
        "refused",
        "verified",
    ]
    assert {c.reason for c in audit if c.outcome != "failed" and c.order_id == order.id} == {"order", ""}
    assert audit[0].conversation_id == "c0" and audit[0].key_id == "k1" and audit[0].client_ip == "10.0.0.0"
    # the audit log never holds the e-mail addresses tried
    assert not any("@" in str(v) for c in audit for v in vars(c).values())


def test_failures_are_limited_per_ip_and_per_key(store):
    tools, _clock = _guarded(store, window_s=600, max_per_order=100, max_per_ip=4, max_per_key=6)
    orders = list(store.orders_frame()["order_id"].unique()[:12])
    for i, oid in enumerate(orders[:4]):
        assert not tools.verify(Identity(client=Client("k1", "10.0.0.1")), oid, f"g{i}@example.com")
    same_ip = Identity(client=Client("k2", "10.0.0.1"))  # another key does not help
    assert not tools.verify(same_ip, orders[4], "g@example.com") and same_ip.lockout.reason == "ip"
    # other addresses with the same (public) key: the per-key circuit breaker after 6 failures
    for i, oid in enumerate(orders[5:7]):
        assert not tools.verify(Identity(client=Client("k1", f"10.0.1.{i}")), oid, "g@example.com")
    spread = Identity(client=Client("k1", "10.0.2.1"))
    assert not tools.verify(spread, orders[8], "g@example.com") and spread.lockout.reason == "key"
    other_key = Identity(client=Client("k3", "10.0.2.1"))
    assert not tools.verify(other_key, orders[8], "g@example.com") and other_key.lockout is None
    reasons = [c.reason for c in store.identity_checks() if c.outcome == "locked_out"]
    assert reasons == ["ip", "key"]


def test_verification_limits_are_validated():
    with pytest.raises(ConfigError, match="max_per_order"):
        VerifyLimits(max_per_order=0)


def test_cancel_own_pending_order_and_refuse_shipped(store):
    tools = OrderTools(store)
    paid = _pick(store, OrderStatus.PAID)
    res = tools.cancel(Identity(user_id=paid.user_id), paid.id, confirmed=True)
    assert res.ok and store.get_order(paid.id).status is OrderStatus.CANCELLED
    shipped = _pick(store, OrderStatus.SHIPPED)
    res = tools.cancel(Identity(user_id=shipped.user_id), shipped.id, confirmed=True)
    assert not res.ok and store.get_order(shipped.id).status is OrderStatus.SHIPPED


def test_writes_without_confirmation_only_propose(store):
    tools = OrderTools(store)
    paid = _pick(store, OrderStatus.PAID)
    res = tools.cancel(Identity(user_id=paid.user_id), paid.id)
    assert (
        not res.ok and res.needs == "confirm" and res.data == {"order_id": paid.id, "action": "cancel_order"}
    )
    assert "Reply yes to confirm cancelling order " + paid.id in res.text
    delivered = _pick(store, OrderStatus.DELIVERED)
    res = tools.request_return(Identity(user_id=delivered.user_id), delivered.id, language="zh")
    assert res.needs == "confirm" and "回复“是”" in res.text and "退货" in res.text
    assert store.get_order(paid.id).status is OrderStatus.PAID
    assert store.get_order(delivered.id).status is OrderStatus.DELIVERED
    # a change that is not allowed is refused at once (nothing to confirm)
    shipped = _pick(store, OrderStatus.SHIPPED)
    res = tools.cancel(Identity(user_id=shipped.user_id), shipped.id)
    assert not res.ok and res.needs is None


def test_cancel_someone_elses_order_changes_nothing(store):
    paid = _pick(store, OrderStatus.PAID)
    intruder = _other_user_order(store, paid.user_id).user_id
    res = OrderTools(store).cancel(Identity(user_id=intruder), paid.id, confirmed=True)
    assert not res.ok and store.get_order(paid.id).status is OrderStatus.PAID


def test_return_request_for_delivered_order(store):
    order = _pick(store, OrderStatus.DELIVERED)
    res = OrderTools(store).request_return(
        Identity(user_id=order.user_id), order.id, language="zh", confirmed=True
    )
    assert res.ok and "退货" in res.text
    assert store.get_order(order.id).status is OrderStatus.RETURN_REQUESTED


def test_list_orders_only_own(store):
    order = _pick(store, OrderStatus.DELIVERED)
    res = OrderTools(store).list_orders(Identity(user_id=order.user_id))
    own = {o.id for o in store.orders_for_user(order.user_id)}
    assert res.ok and {o["order_id"] for o in res.facts["orders"]} <= own


def _item_with_bool_attr(store, key: str):
    frame = store.items_frame()
    for row in frame.itertuples():
        if isinstance(row.attributes, dict) and key in row.attributes and row.language == "en":
            return store.get_item(row.id)
    pytest.skip(f"no English item with attribute {key}")


def test_product_question_from_attributes(store):
    item = _item_with_bool_attr(store, "bluetooth")
    res = ProductTools(store).answer(f"Does the {item.title} support bluetooth?")
    assert res.ok and res.data["item_id"] == item.id
    expected = "yes" if item.attributes["bluetooth"] else "no"
    assert f"bluetooth: {expected}" in res.text
    assert res.facts["attributes.bluetooth"] == item.attributes["bluetooth"]
    assert f"{item.price:.2f}" in res.text


def test_product_question_by_item_id_in_chinese(store):
    item = _item_with_bool_attr(store, "bluetooth")
    res = ProductTools(store).answer(f"{item.id} 支持蓝牙吗？有货吗", language="zh")
    assert res.ok and res.data["item_id"] == item.id
    assert ("有货" in res.text) == item.in_stock


def test_unknown_product_asks_back(store):
    res = ProductTools(store).answer("does the flux capacitor 9000 have wheels")
    assert not res.ok and res.needs == "product"


class _FakeRecommender:
    """A stand-in RecommendService returning the first catalogue items (the real one is tested elsewhere)."""

    def __init__(self, ids):
        self.ids = ids

    def recommend(self, user_id, k):
        return RankedList(user_id, [Recommendation(i, 1.0 / (r + 1)) for r, i in enumerate(self.ids[:k])])


def test_recommendations_in_chat(store):
    ids = sorted(store.item_ids())[:5]
    res = RecommendTool(store, _FakeRecommender(ids)).recommend(Identity(user_id="U00001"), k=3)
    assert res.ok and len(res.facts["items"]) == 3
    assert all(store.get_item(i).title in res.text for i in ids[:3])
    anon = RecommendTool(store, _FakeRecommender(ids)).recommend(Identity(), k=3)
    assert not anon.ok
