"""The dashboard's tickets screen in real headless Chromium: a hand-off's ticket, its transcript, a status change."""

from __future__ import annotations

from typing import Any

from webshop import shot

from shopmind.store.base import Ticket


def _handoff(engine: Any) -> str:
    """A hand-off as the assistant stores it (the browser shop trains no assistant): the conversation's
    turns in the message log, the ticket with the transcript up to the hand-off, then the reply."""
    store, cid = engine.store, "web-conv-1"
    turns = [
        ("user", "where is my order o1?"),
        ("assistant", "Which order do you mean?"),
        ("user", "I want a person"),
    ]
    for role, text in turns:
        store.append_message(cid, user_id="u1", role=role, text=text)
    transcript = [{"role": m["role"], "text": m["text"], "at": str(m["at"])} for m in store.conversation(cid)]
    store.create_ticket(
        Ticket(
            id="T-web1",
            conversation_id=cid,
            user_id="u1",
            reason="customer asked for a person",
            transcript=transcript,
        )
    )
    store.append_message(
        cid, user_id="u1", role="assistant", text="I've passed our conversation on (ticket T-web1)."
    )
    return "T-web1"


def test_tickets_screen_shows_transcript_and_changes_status(page: Any, live_shop: dict[str, Any]) -> None:
    ticket_id = _handoff(live_shop["engine"])
    page.goto(live_shop["url"] + "/dashboard#tickets")
    page.wait_for_selector("#keybar:not([hidden])")
    page.fill("#key-input", live_shop["keys"]["admin"])
    page.click("#key-save")
    link = page.locator(f'#tickets-list a.ticket-link[data-ticket="{ticket_id}"]')
    link.wait_for()
    row = page.locator("#tickets-list tr", has=page.locator(f'a.ticket-link[data-ticket="{ticket_id}"]'))
    assert "The customer asked for a person" in row.inner_text() and "Open" in row.inner_text()
    link.click()

    page.wait_for_selector("#ticket-detail .msg")
    turns = page.locator("#ticket-detail .transcript").first.locator(".msg")
    texts = turns.evaluate_all("els => els.map(e => e.lastChild.textContent)")
    assert texts == ["where is my order o1?", "Which order do you mean?", "I want a person"]
    assert (
        "ticket T-web1" in page.locator("#ticket-detail .transcript").nth(1).inner_text()
    )  # after the hand-off
    page.click('#ticket-actions button[data-to="in_progress"]')
    page.wait_for_selector('#ticket-title .pill[data-status="in_progress"]')
    page.fill("#ticket-assignee", "ana")
    page.fill("#ticket-note", "calling back")
    page.click("#ticket-form button[type=submit]")
    page.wait_for_function("document.querySelector('#ticket-detail dl').textContent.includes('calling back')")
    assert live_shop["engine"].store.get_ticket(ticket_id).status == "in_progress"
    shot(page, "08-ticket-transcript")

    page.click("#lang")  # the same screen in Chinese
    page.wait_for_function("document.getElementById('ticket-detail').textContent.includes('转人工前的对话')")
    detail = page.inner_text("#ticket-detail")
    assert "处理中" in detail and "顾客要求人工服务" in detail and "标记为已解决" in detail
    shot(page, "09-ticket-transcript-zh")
    page.click("#lang")
    page.wait_for_function(
        "document.getElementById('ticket-detail').textContent.includes('Conversation up to')"
    )
    page.click("#ticket-back")
    page.wait_for_selector(f'#tickets-list a.ticket-link[data-ticket="{ticket_id}"]')

    # recent conversations: the hand-off's conversation, with its ticket, in full (the reply included)
    page.click('#conversations-list a.conversation-link[data-conversation="web-conv-1"]')
    page.wait_for_selector("#conversation-title")
    assert page.locator("#ticket-detail .msg").count() == 4
    assert "ticket T-web1" in page.locator("#ticket-detail .msg").nth(3).inner_text()
    page.click(f'#ticket-detail a.ticket-link[data-ticket="{ticket_id}"]')
    page.wait_for_selector('#ticket-title .pill[data-status="in_progress"]')
    assert not page.problems, page.problems
