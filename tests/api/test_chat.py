"""The assistant over HTTP: identity comes from the key, never from the message or the body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apishop import auth, trained_engine
from fastapi.testclient import TestClient

from shopmind.api import create_app
from shopmind.api.auth import create_key
from shopmind.data.schema import Order
from shopmind.engine import Engine

pytestmark = pytest.mark.slow  # trains the assistant's intent model (about a minute on 2 busy cores)


@pytest.fixture(scope="module")
def chat_shop(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, Engine, dict[str, str]]]:
    engine, keys = trained_engine(Path(tmp_path_factory.mktemp("chat")), components=["assistant"])
    with TestClient(create_app(engine, watch_interval_s=None)) as client:
        yield client, engine, keys
    engine.close()


def test_bound_key_chats_as_its_customer(chat_shop: tuple[TestClient, Engine, dict[str, str]]) -> None:
    client, engine, _ = chat_shop
    _, secret = create_key(engine.store, "read", user_id="u1")
    # the body's user_id is ignored for a read key: the binding wins
    r = client.post("/chat", json={"message": "where is my order?", "user_id": "u2"}, headers=auth(secret))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["intent"] == "order_status" and "o1" in body["text"] and "o2" not in body["text"]
    follow = client.post(
        "/chat", json={"message": "thanks", "conversation_id": body["conversation_id"]}, headers=auth(secret)
    )
    assert follow.json()["conversation_id"] == body["conversation_id"]


def test_unbound_read_key_is_anonymous(chat_shop: tuple[TestClient, Engine, dict[str, str]]) -> None:
    client, _, keys = chat_shop
    r = client.post(
        "/chat", json={"message": "where is my order?", "user_id": "u1"}, headers=auth(keys["read"])
    )
    assert r.status_code == 200 and "o1" not in r.json()["text"]


def test_admin_key_may_name_the_customer(chat_shop: tuple[TestClient, Engine, dict[str, str]]) -> None:
    client, _, keys = chat_shop
    r = client.post(
        "/chat", json={"message": "where is my order?", "user_id": "u3"}, headers=auth(keys["admin"])
    )
    assert "o3" in r.json()["text"]


def test_description_and_validation(chat_shop: tuple[TestClient, Engine, dict[str, str]]) -> None:
    client, _, keys = chat_shop
    d = client.get("/items/sku-1/description?style=bullet&language=zh", headers=auth(keys["read"])).json()
    assert d["language"] == "zh" and {c["field"] for c in d["claims"]} >= {"title", "price"}
    assert client.get("/items/nope/description", headers=auth(keys["read"])).status_code == 404
    r = client.post("/chat", json={"message": ""}, headers=auth(keys["read"]))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "message"


def _victim_orders(engine: Engine, users: range) -> list[Order]:
    orders = [
        Order.model_validate(
            {
                "id": f"ORD-0777-{u:06d}",
                "user_id": f"u{u}",
                "lines": [{"item_id": "sku-1", "quantity": 2, "unit_price": 31.5 + u}],
                "status": "shipped",
                "created_at": "2026-02-01T10:00:00Z",
                "shipped_at": "2026-02-02T10:00:00Z",
                "carrier": "DHL",
                "tracking_number": f"TRK9{u}0{u}7731",
            }
        )
        for u in users
    ]
    engine.store.upsert_orders(orders)
    return orders


def test_order_checks_cannot_be_brute_forced_across_conversations(
    chat_shop: tuple[TestClient, Engine, dict[str, str]],
) -> None:
    """Finding 4: with the unbound read key, a new conversation per guess used to reset the 3-try limit,
    and 5 of 5 other customers' orders were disclosed in 30 requests."""
    client, engine, keys = chat_shop
    victims = _victim_orders(engine, range(1, 6))
    attacker = TestClient(client.app, client=("192.0.2.10", 40000))  # one address, shared public key
    replies = []
    for n, order in enumerate(victims):
        guesses = [f"{order.user_id}.{i}@example.com" for i in range(5)] + [f"{order.user_id}@example.com"]
        for i, guess in enumerate(guesses):
            r = attacker.post(
                "/chat",
                json={"message": f"Where is order {order.id}? My e-mail is {guess}"},  # no conversation_id
                # a spoofed forwarding header must not buy a fresh address (no proxy header configured)
                headers={**auth(keys["read"]), "X-Forwarded-For": f"198.51.100.{n * 6 + i}"},
            )
            assert r.status_code == 200, r.text
            replies.append((order, r))
    disclosed = {
        o.id
        for o, r in replies
        for secret in (o.id, o.tracking_number, f"{o.total:.2f}")
        if secret and secret in r.json()["text"]
    }
    assert disclosed == set()
    locked = [r for _, r in replies if r.json()["retry_after_s"]]
    assert locked and "too many" in locked[0].json()["text"]
    assert 0 < int(locked[0].headers["Retry-After"]) <= engine.settings.assistant.verify_window_s
    audit = engine.store.identity_checks()
    assert {c.reason for c in audit if c.outcome == "locked_out"} >= {"order", "ip"}
    assert {c.client_ip for c in audit} == {"192.0.2.10"}
    assert len({c.key_id for c in audit}) == 1 and audit[0].key_id is not None  # the public key's id
    assert sum(c.outcome == "failed" for c in audit) == engine.settings.assistant.verify_max_per_ip
    # the lock is per address and per order: another shopper verifies an untouched order
    shopper = TestClient(client.app, client=("192.0.2.99", 40001))
    own = victims[3]
    r = shopper.post(
        "/chat",
        json={"message": f"Where is order {own.id}? My e-mail is {own.user_id}@example.com"},
        headers=auth(keys["read"]),
    )
    assert own.tracking_number in r.json()["text"] and r.json()["retry_after_s"] is None


def test_client_ip_from_a_trusted_proxy_header() -> None:
    from starlette.requests import Request

    from shopmind.api.routers.chat import client_ip

    def request(peer: str, headers: dict[str, str]) -> Request:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        return Request({"type": "http", "headers": raw, "client": (peer, 1)})

    spoofed = request("10.0.0.5", {"X-Forwarded-For": "1.2.3.4, 203.0.113.9"})
    assert client_ip(spoofed, None) == "10.0.0.5"  # header off: the socket peer
    # behind the proxy, the right-most entry is the address the proxy saw (earlier ones are client-written)
    assert client_ip(spoofed, "X-Forwarded-For") == "203.0.113.9"
    assert client_ip(request("10.0.0.5", {"X-Real-IP": "junk"}), "X-Real-IP") == "10.0.0.5"
    assert client_ip(request("10.0.0.5", {}), "X-Forwarded-For") == "10.0.0.5"
    # one IPv6 customer holds a /64: all its addresses count as one
    v6 = [request("::1", {"X-Forwarded-For": f"2001:db8:1:2::{i:x}"}) for i in (1, 0xBEEF)]
    assert {client_ip(r, "X-Forwarded-For") for r in v6} == {"2001:db8:1:2::/64"}
    assert client_ip(request("::ffff:192.0.2.1", {}), None) == "192.0.2.1"


def test_handoff_ticket_is_listed_with_its_transcript(
    chat_shop: tuple[TestClient, Engine, dict[str, str]],
) -> None:
    client, engine, keys = chat_shop
    _, secret = create_key(engine.store, "read", user_id="u4")
    first = client.post("/chat", json={"message": "where is my order?"}, headers=auth(secret)).json()
    handoff = client.post(
        "/chat",
        json={"message": "I want to talk to a human", "conversation_id": first["conversation_id"]},
        headers=auth(secret),
    ).json()
    ticket_id = handoff["handoff_ticket_id"]
    assert ticket_id, handoff
    listed = client.get("/tickets?status=open", headers=auth(keys["admin"])).json()
    assert listed["tickets"][0]["id"] == ticket_id and listed["tickets"][0]["user_id"] == "u4"
    shown = client.get(f"/tickets/{ticket_id}", headers=auth(keys["admin"])).json()
    assert [t["text"] for t in shown["transcript"]] == [
        "where is my order?",
        first["text"],
        "I want to talk to a human",
    ]
    assert [t["text"] for t in shown["later"]] == [handoff["text"]]  # the hand-off reply
    assert client.get(f"/tickets/{ticket_id}", headers=auth(secret)).status_code == 403  # not the customer's
