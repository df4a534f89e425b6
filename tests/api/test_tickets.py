"""Hand-off tickets over HTTP: list (filter, pages, newest first), show with transcript, status changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apishop import Shop

from shopmind.store.base import Ticket

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def _handoffs(shop: Shop, n: int = 3) -> None:
    """Tickets as the assistant's hand-off writes them, with the conversation in the message log."""
    store = shop.engine.store
    for i in range(n):
        cid = f"conv-{i}"
        transcript = [
            {"role": "user", "text": f"where is order o{i}?", "at": str(T0)},
            {"role": "assistant", "text": "Which order?", "at": str(T0)},
            {"role": "user", "text": "I want a person", "at": ""},
        ]
        store.create_ticket(
            Ticket(
                id=f"T-{i}",
                conversation_id=cid,
                user_id=f"u{i}",
                reason="asked for a person",
                transcript=transcript,
                created_at=T0 + timedelta(minutes=i),
            )
        )
    # the assistant's hand-off reply, appended after the ticket (now > T0)
    store.append_message("conv-2", user_id="u2", role="assistant", text="Ticket T-2 was created.")


def test_list_newest_first_filtered_and_paged(shop: Shop) -> None:
    _handoffs(shop)
    c, admin = shop.client, shop.h("admin")
    body = c.get("/tickets", headers=admin).json()
    assert [t["id"] for t in body["tickets"]] == ["T-2", "T-1", "T-0"] and body["total"] == 3
    assert body["tickets"][0]["turns"] == 3 and body["tickets"][0]["status"] == "open"
    page = c.get("/tickets?limit=2&offset=2", headers=admin).json()
    assert [t["id"] for t in page["tickets"]] == ["T-0"] and (page["limit"], page["offset"]) == (2, 2)
    assert c.patch("/tickets/T-1", json={"status": "in_progress"}, headers=admin).status_code == 200
    only = c.get("/tickets?status=in_progress", headers=admin).json()
    assert [t["id"] for t in only["tickets"]] == ["T-1"] and only["total"] == 1
    assert c.get("/tickets?status=open", headers=admin).json()["total"] == 2


def test_show_has_transcript_and_later_turns(shop: Shop) -> None:
    _handoffs(shop)
    r = shop.client.get("/tickets/T-2", headers=shop.h("admin"))
    assert r.status_code == 200, r.text
    t = r.json()
    assert [turn["text"] for turn in t["transcript"]] == [
        "where is order o2?",
        "Which order?",
        "I want a person",
    ]
    assert [turn["text"] for turn in t["later"]] == ["Ticket T-2 was created."]
    assert t["user_id"] == "u2" and t["history"] == []
    # the earlier tickets' conversations have no later turns
    assert shop.client.get("/tickets/T-0", headers=shop.h("admin")).json()["later"] == []


def test_status_life_cycle_assignee_note_and_history(shop: Shop) -> None:
    _handoffs(shop, 1)
    c, admin = shop.client, shop.h("admin")
    r = c.patch(
        "/tickets/T-0", json={"status": "in_progress", "assignee": "ana", "note": "on it"}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["assignee"], r.json()["note"]) == ("in_progress", "ana", "on it")
    r = c.patch("/tickets/T-0", json={"status": "resolved"}, headers=admin)
    t = r.json()
    assert t["status"] == "resolved" and t["assignee"] == "ana"
    assert [(h["previous_status"], h["status"]) for h in t["history"]] == [
        ("open", "in_progress"),
        ("in_progress", "resolved"),
    ]
    assert t["history"][0]["changed_by"]  # the admin key's name
    # resolved → in_progress is not a step of the life cycle: 422 naming what is allowed, nothing written
    bad = c.patch("/tickets/T-0", json={"status": "in_progress"}, headers=admin)
    assert bad.status_code == 422 and "resolved cannot become in_progress" in bad.json()["error"]["message"]
    assert bad.json()["error"]["expected"] == "closed | open"
    assert c.get("/tickets/T-0", headers=admin).json()["status"] == "resolved"
    assert c.patch("/tickets/T-0", json={"status": "closed"}, headers=admin).json()["status"] == "closed"


@pytest.mark.parametrize(
    "body",
    [{"status": "done"}, {"status": 3}, {"note": "x" * 2001}, {"assignee": "a" * 129}, {"priority": "high"}],
)
def test_invalid_changes_are_422(shop: Shop, body: dict[str, object]) -> None:
    _handoffs(shop, 1)
    r = shop.client.patch("/tickets/T-0", json=body, headers=shop.h("admin"))
    assert r.status_code == 422, r.text
    assert shop.client.get("/tickets/T-0", headers=shop.h("admin")).json()["history"] == []


def test_bad_queries_are_422(shop: Shop) -> None:
    admin = shop.h("admin")
    for query in ("status=done", "limit=0", "limit=201", "offset=-1"):
        assert shop.client.get(f"/tickets?{query}", headers=admin).status_code == 422, query


def test_unknown_ticket_is_404(shop: Shop) -> None:
    admin = shop.h("admin")
    r = shop.client.get("/tickets/T-nope", headers=admin)
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
    assert shop.client.patch("/tickets/T-nope", json={"status": "closed"}, headers=admin).status_code == 404


def test_admin_scope_only(shop: Shop) -> None:
    _handoffs(shop, 1)
    c = shop.client
    for headers in (shop.h("read"), shop.h("ingest"), shop.bound_key("u0")):
        assert c.get("/tickets", headers=headers).status_code == 403
        assert c.get("/tickets/T-0", headers=headers).status_code == 403  # not even the customer's own
        assert c.patch("/tickets/T-0", json={"status": "closed"}, headers=headers).status_code == 403
    assert c.get("/tickets").status_code == 401
    assert c.get("/tickets/T-0", headers=shop.h("admin")).json()["status"] == "open"


def test_recent_conversations_and_one_conversation(shop: Shop) -> None:
    _handoffs(shop)  # only conv-2 has messages in the log (the hand-off reply)
    store = shop.engine.store
    store.append_message("conv-9", user_id=None, role="user", text="do you ship to Norway?")
    c, admin = shop.client, shop.h("admin")
    body = c.get("/conversations", headers=admin).json()
    assert [x["conversation_id"] for x in body["conversations"]] == ["conv-9", "conv-2"] and body[
        "total"
    ] == 2
    assert body["conversations"][1]["ticket_ids"] == ["T-2"] and body["conversations"][0]["user_id"] is None
    one = c.get("/conversations/conv-9", headers=admin).json()
    assert [(t["role"], t["text"]) for t in one["turns"]] == [("user", "do you ship to Norway?")]
    assert c.get("/conversations/nope", headers=admin).status_code == 404
    assert c.get("/conversations?limit=0", headers=admin).status_code == 422
    for headers in (shop.h("read"), shop.h("ingest")):
        assert c.get("/conversations", headers=headers).status_code == 403
        assert c.get("/conversations/conv-9", headers=headers).status_code == 403
