"""The assistant over HTTP: identity comes from the key, never from the message or the body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apishop import auth, trained_engine
from fastapi.testclient import TestClient

from shopmind.api import create_app
from shopmind.api.auth import create_key
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
