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
    assert r2.tool == "cancel_order" and "cancelled" in r2.text
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
