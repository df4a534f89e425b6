"""Multi-turn dialogue: slot filling, context, verification, two-stage fallback, hand-off, storage."""

from __future__ import annotations

import time

import numpy as np
import pytest

from shopmind.data.schema import OrderStatus
from shopmind.errors import PermissionDenied


def _order(store, status: OrderStatus):
    frame = store.orders_frame()
    return store.get_order(frame.loc[frame["status"] == status.value, "order_id"].iloc[0])


def test_slot_filling_asks_then_remembers(service, store):
    order = _order(store, OrderStatus.PAID)
    r1 = service.chat("I want to cancel my order", user_id=order.user_id)
    assert r1.intent == "cancel_order" and "order number" in r1.text
    r2 = service.chat(order.id, conversation_id=r1.conversation_id, user_id=order.user_id)
    assert r2.tool == "cancel_order" and f"Reply yes to confirm cancelling order {order.id}" in r2.text
    assert store.get_order(order.id).status is OrderStatus.PAID  # nothing changes before the yes
    r3 = service.chat("yes", conversation_id=r1.conversation_id, user_id=order.user_id)
    assert r3.tool == "cancel_order" and "has been cancelled" in r3.text and r3.intent == "cancel_order"
    assert store.get_order(order.id).status is OrderStatus.CANCELLED


def test_order_id_carried_across_turns(service, store):
    order = _order(store, OrderStatus.SHIPPED)
    r1 = service.chat(f"where is order {order.id}?", user_id=order.user_id)
    assert order.tracking_number in r1.text
    r2 = service.chat(
        "what's the tracking number?", conversation_id=r1.conversation_id, user_id=order.user_id
    )
    assert r2.tool in {"order_status", "track_order"} and order.tracking_number in r2.text


def test_anonymous_verification_dialogue(service, store):
    order = _order(store, OrderStatus.SHIPPED)
    email = store.get_user(order.user_id).email
    r1 = service.chat("track my parcel please")
    assert "e-mail" in r1.text and order.id not in r1.text
    r2 = service.chat(f"{order.id} {email}", conversation_id=r1.conversation_id)
    assert order.tracking_number in r2.text
    # verification is remembered for this conversation only
    r3 = service.chat(f"status of {order.id}", conversation_id=r1.conversation_id)
    assert order.tracking_number in r3.text
    fresh = service.chat(f"status of {order.id}")
    assert order.tracking_number not in fresh.text


def test_chinese_order_status(service, store):
    order = _order(store, OrderStatus.DELIVERED)
    r = service.chat(f"查询订单{order.id}的状态", user_id=order.user_id)
    assert r.language == "zh" and "已签收" in r.text


def test_grounded_answer_with_citation(service):
    r = service.chat("How many days do I have to return an item?")
    assert r.tool == "knowledge" and r.citations and r.citations[0]["doc_id"].startswith("help-returns")
    assert "30 days" in r.text


def test_two_stage_fallback_then_handoff(service, store):
    r1 = service.chat("blorp zibber quux")
    assert r1.handoff_ticket_id is None and not r1.grounded
    r2 = service.chat("flarn wibble", conversation_id=r1.conversation_id)
    assert r2.handoff_ticket_id is not None and r2.tool == "handoff"
    ticket = next(t for t in store.tickets() if t.id == r2.handoff_ticket_id)
    assert ticket.conversation_id == r1.conversation_id
    assert [m["text"] for m in ticket.transcript] == ["blorp zibber quux", r1.text, "flarn wibble"]


def test_handoff_on_request_creates_ticket(service, store):
    r = service.chat("I want to talk to a human", user_id="U00001")
    assert r.handoff_ticket_id and any(
        t.id == r.handoff_ticket_id and t.user_id == "U00001" for t in store.tickets()
    )
    rz = service.chat("转人工")
    assert rz.handoff_ticket_id and "工单" in rz.text


def test_every_turn_is_stored(service, store):
    r1 = service.chat("hello")
    service.chat("what payment methods do you accept?", conversation_id=r1.conversation_id)
    msgs = store.conversation(r1.conversation_id)
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert msgs[1]["meta"]["intent"] == "greeting" and "state" in msgs[3]["meta"]


def test_conversation_cannot_be_hijacked(service, store):
    order = _order(store, OrderStatus.SHIPPED)
    r = service.chat(f"where is {order.id}", user_id=order.user_id)
    with pytest.raises(PermissionDenied):
        service.chat("show it again", conversation_id=r.conversation_id, user_id="U99999")
    with pytest.raises(PermissionDenied):
        service.chat("show it again", conversation_id=r.conversation_id)


def test_reply_to_dict(service):
    d = service.chat("hi").to_dict()
    assert {
        "text",
        "conversation_id",
        "intent",
        "confidence",
        "citations",
        "tool",
        "handoff_ticket_id",
    } <= set(d)


def test_turn_latency_is_bounded(service):
    service.chat("warm up")
    times = []
    for msg in ["where is my order", "do you ship to Canada", "hello", "退货政策是什么"]:
        t = time.perf_counter()
        service.chat(msg, user_id="U00002")
        times.append(time.perf_counter() - t)
    # the < 50 ms goal is measured by bench/bench_assistant.py; this guards against regressions
    # on a shared CI machine
    assert float(np.median(times)) < 0.5


def test_refund_policy_question_without_order(service):
    r = service.chat("how long does a refund take?")
    assert r.tool == "knowledge" and "5-7 business days" in r.text


def test_unknown_product_asks_for_name_then_hands_off(service):
    r1 = service.chat("does the hyperflux gizmo 3000 support bluetooth?")
    assert not r1.grounded and ("item number" in r1.text or "rephrase" in r1.text)
    r2 = service.chat("qwxz plonk", conversation_id=r1.conversation_id)
    assert r2.handoff_ticket_id is not None


def test_product_question_in_chat(service, store):
    frame = store.items_frame()
    row = next(r for r in frame.itertuples() if r.language == "en" and "bluetooth" in (r.attributes or {}))
    r = service.chat(f"Does the {row.title} support bluetooth?")
    assert r.tool == "product_question" and row.id in r.text
    assert ("bluetooth: yes" if row.attributes["bluetooth"] else "bluetooth: no") in r.text


# --- write confirmation (issue 21, finding 5) -------------------------------------------------------


class _FixedIntent:
    """The intent decision the red team observed for a bare order id on the demo shop's ensemble model:
    ``return_request`` at confidence 0.22, in scope (OOS score above τ), with τ = 0.553."""

    threshold = 0.553

    def predict_one(self, text):
        from shopmind.assistant.intents import IntentPrediction

        return IntentPrediction("return_request", 0.22, True, [("return_request", 0.22)], 0.909)


def _owned(store, status: OrderStatus, n: int):
    frame = store.orders_frame()
    ids = list(dict.fromkeys(frame.loc[frame["status"] == status.value, "order_id"]))[:n]
    return [store.get_order(i) for i in ids]


def test_bare_order_id_never_files_a_return(service, store):
    """Finding 5: ``{"message": "ORD-0001-000003"}`` moved a delivered order to return_requested."""
    service.assistant.intents = _FixedIntent()
    for order in _owned(store, OrderStatus.DELIVERED, 8):
        r = service.chat(order.id, user_id=order.user_id)
        assert store.get_order(order.id).status is OrderStatus.DELIVERED, r.text
        assert r.intent == "order_status" and "delivered" in r.text, r.text
        # even an explicit "yes" afterwards: nothing was proposed, so nothing runs
        service.chat("yes", conversation_id=r.conversation_id, user_id=order.user_id)
        assert store.get_order(order.id).status is OrderStatus.DELIVERED


def test_low_confidence_write_is_not_even_proposed(service, store):
    service.assistant.intents = _FixedIntent()
    order = _owned(store, OrderStatus.DELIVERED, 1)[0]
    r = service.chat(f"hmm {order.id} whatever", user_id=order.user_id)
    assert r.intent == "order_status" and "Reply yes" not in r.text and "cancel or return" in r.text
    service.chat("yes", conversation_id=r.conversation_id, user_id=order.user_id)
    assert store.get_order(order.id).status is OrderStatus.DELIVERED


def test_bare_order_id_with_the_real_model_is_a_status_question(service, store):
    for order in _owned(store, OrderStatus.DELIVERED, 5) + _owned(store, OrderStatus.PAID, 5):
        r = service.chat(order.id, user_id=order.user_id)
        assert r.intent == "order_status" and r.tool == "order_status"
        assert store.get_order(order.id).status is order.status


def test_return_needs_an_explicit_yes_on_the_next_turn(service, store):
    delivered = _owned(store, OrderStatus.DELIVERED, 3)
    order = delivered[0]
    r1 = service.chat(f"I want to return order {order.id}", user_id=order.user_id)
    assert r1.tool == "request_return" and f"Reply yes to confirm returning order {order.id}" in r1.text
    assert store.get_order(order.id).status is OrderStatus.DELIVERED
    r2 = service.chat("yes please", conversation_id=r1.conversation_id, user_id=order.user_id)
    assert "return has been requested" in r2.text
    assert store.get_order(order.id).status is OrderStatus.RETURN_REQUESTED
    # "no" leaves the order alone; any other message drops the proposal
    second = delivered[1]
    r3 = service.chat(f"I want to return order {second.id}", user_id=second.user_id)
    r4 = service.chat("no", conversation_id=r3.conversation_id, user_id=second.user_id)
    assert "haven't changed" in r4.text and store.get_order(second.id).status is OrderStatus.DELIVERED
    third = delivered[2]
    r5 = service.chat(f"I want to return order {third.id}", user_id=third.user_id)
    service.chat(
        "what payment methods do you accept?", conversation_id=r5.conversation_id, user_id=third.user_id
    )
    service.chat("yes", conversation_id=r5.conversation_id, user_id=third.user_id)
    assert store.get_order(third.id).status is OrderStatus.DELIVERED


def test_confirmation_expires(service, store, monkeypatch):
    import shopmind.assistant.dialogue as dialogue

    order = _owned(store, OrderStatus.PAID, 1)[0]
    r1 = service.chat(f"cancel order {order.id}", user_id=order.user_id)
    assert "Reply yes" in r1.text
    later = time.time() + service.assistant.confirm_timeout_s + 1
    monkeypatch.setattr(dialogue.time, "time", lambda: later)
    r2 = service.chat("yes", conversation_id=r1.conversation_id, user_id=order.user_id)
    assert "expired" in r2.text and store.get_order(order.id).status is OrderStatus.PAID


def test_chinese_confirmation(service, store):
    order = _owned(store, OrderStatus.PAID, 1)[0]
    r1 = service.chat(f"帮我取消订单{order.id}", user_id=order.user_id)
    assert r1.language == "zh" and "请确认" in r1.text and "回复“是”" in r1.text
    assert store.get_order(order.id).status is OrderStatus.PAID
    r2 = service.chat("是的，确认", conversation_id=r1.conversation_id, user_id=order.user_id)
    assert r2.language == "zh" and "已取消" in r2.text
    assert store.get_order(order.id).status is OrderStatus.CANCELLED
    delivered = _owned(store, OrderStatus.DELIVERED, 1)[0]
    r3 = service.chat(f"订单{delivered.id}我要退货", user_id=delivered.user_id)
    assert "请确认" in r3.text
    r4 = service.chat("不要了", conversation_id=r3.conversation_id, user_id=delivered.user_id)
    assert "没有做任何更改" in r4.text and store.get_order(delivered.id).status is OrderStatus.DELIVERED


def test_anonymous_write_after_verification_still_needs_yes(service, store):
    order = _owned(store, OrderStatus.PAID, 1)[0]
    email = store.get_user(order.user_id).email
    r1 = service.chat("I want to cancel my order")
    r2 = service.chat(f"{order.id} {email}", conversation_id=r1.conversation_id)
    assert "Reply yes to confirm cancelling" in r2.text
    assert store.get_order(order.id).status is OrderStatus.PAID
    r3 = service.chat("yes", conversation_id=r1.conversation_id)
    assert "has been cancelled" in r3.text and store.get_order(order.id).status is OrderStatus.CANCELLED


# --- verification limits across conversations (issue 21, finding 4) ----------------------------------


def test_new_conversations_do_not_reset_the_verification_limit(service, store):
    from shopmind.assistant.tools import Client

    order = _owned(store, OrderStatus.SHIPPED, 1)[0]
    email = store.get_user(order.user_id).email
    limit = service.assistant.orders.guard.limits.max_per_order
    client = Client(key_id="public-key", ip="203.0.113.7")
    for i in range(limit):
        r = service.chat(f"where is order {order.id}? my e-mail is guess{i}@example.com", client=client)
        assert order.tracking_number not in r.text
    # the right address in yet another new conversation: refused, with a clear message and window
    r = service.chat(f"where is order {order.id}? my e-mail is {email}", client=client)
    assert order.tracking_number not in r.text and "too many" in r.text and "minutes" in r.text
    assert r.retry_after_s is not None and 0 < r.retry_after_s <= 900 and r.to_dict()["retry_after_s"]
    rz = service.chat(f"订单{order.id}，邮箱{email}，物流到哪了", client=Client("public-key", "198.51.100.1"))
    assert order.tracking_number not in rz.text and "验证失败次数过多" in rz.text
    outcomes = [c.outcome for c in store.identity_checks()]
    assert outcomes.count("failed") == limit and "locked_out" in outcomes and outcomes.count("refused") == 2
    # a signed-in owner is not affected by the anonymous lock-out
    own = service.chat(f"where is order {order.id}?", user_id=order.user_id)
    assert order.tracking_number in own.text
