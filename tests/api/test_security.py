"""Regression tests of the red-team findings (issue 21): privacy of the public key, the web key check,
bounded input, one bad stored record, cheap listing, NUL bytes and the connection after a 500.

Each test failed on the code before the fix (noted per test).
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apishop import FAST_TRAINING, LiveServer, Shop, auth, catalogue, make_settings, trained_engine
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopmind.api import create_app
from shopmind.api.auth import create_key
from shopmind.data.schema import Item
from shopmind.engine import Engine
from shopmind.errors import ConfigError

JSON_MAX_DEPTH = 8  # shopmind.data.schema.JSON_MAX_DEPTH (a literal, so this module imports on old code)


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, str], TestClient]]:
    engine, keys = trained_engine(
        Path(tmp_path_factory.mktemp("security")), components=["recommend", "search"]
    )
    app = create_app(engine, watch_interval_s=None)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield engine, keys, client
    engine.close()


# ------------------------------------------------------------------ finding 1: the unbound read key
def test_unbound_read_key_gets_no_customer_history(trained: Any) -> None:
    """Before: 200 with "because you bought …" reasons for any customer id."""
    _, keys, c = trained
    r = c.get("/recommendations/users/u1?k=5", headers=auth(keys["read"]))
    assert r.status_code == 403, r.text
    body = r.json()
    assert "items" not in body and "reason" not in r.text
    assert "X-Customer-Token" in body["error"]["message"] + body["error"].get("expected", "")
    # personalised search is personal too
    assert c.get("/search?q=model&user_id=u1", headers=auth(keys["read"])).status_code == 403
    # anonymous visitors still get the non-personal routes
    assert c.get("/recommendations/trending?k=5", headers=auth(keys["read"])).status_code == 200
    assert c.get("/search?q=model", headers=auth(keys["read"])).status_code == 200
    assert c.get("/recommendations/items/sku-1/similar", headers=auth(keys["read"])).status_code == 200


def test_bound_keys_and_server_keys_still_get_personal_results(trained: Any) -> None:
    engine, keys, c = trained
    _, bound = create_key(engine.store, "read", user_id="u1")
    r = c.get("/recommendations/users/u1?k=5", headers=auth(bound))
    assert r.status_code == 200 and r.json()["items"]
    assert c.get("/recommendations/users/u2", headers=auth(bound)).status_code == 403
    assert c.get("/search?q=model&user_id=u2", headers=auth(bound)).status_code == 403
    assert c.get("/search?q=model", headers=auth(bound)).status_code == 200
    assert c.get("/recommendations/users/u1", headers=auth(keys["ingest"])).status_code == 200


def test_customer_token_flow(trained: Any) -> None:
    """The shop's backend mints a token (ingest key); the page sends it next to the public read key."""
    from shopmind.api.auth import CustomerTokens

    engine, keys, c = trained
    assert c.post("/customer-tokens", json={"user_id": "u1"}, headers=auth(keys["read"])).status_code == 403
    r = c.post("/customer-tokens", json={"user_id": "u1", "ttl_s": 60}, headers=auth(keys["ingest"]))
    assert r.status_code == 200, r.text
    minted = r.json()
    assert minted["user_id"] == "u1" and minted["header"] == "X-Customer-Token"
    page = auth(keys["read"]) | {"X-Customer-Token": minted["token"]}
    r = c.get("/recommendations/users/u1?k=5", headers=page)
    assert r.status_code == 200 and r.json()["items"]
    assert all(rec["reason"] for rec in r.json()["items"])
    assert c.get("/recommendations/users/u2", headers=page).status_code == 403  # only its customer
    assert c.get("/users/u1/orders", headers=page).json()["orders"][0]["id"] == "o1"
    assert c.get("/users/u2/orders", headers=page).status_code == 404
    # forged, tampered, expired and malformed tokens are 401
    head, payload, sig = minted["token"].split(".")
    other = engine.store  # a token signed with another secret
    forged = f"{head}.{payload}.{'A' * len(sig)}"
    expired, _ = CustomerTokens(other).mint("u1", 1, now=time.time() - 10)
    for bad in (forged, expired, "smc1.abc", "x" * 2000):
        r = c.get("/recommendations/users/u1", headers=auth(keys["read"]) | {"X-Customer-Token": bad})
        assert r.status_code == 401, (bad[:30], r.text)
    # a token never widens a key bound to another customer
    _, bound_u2 = create_key(engine.store, "read", user_id="u2")
    r = c.get("/recommendations/users/u1", headers=auth(bound_u2) | {"X-Customer-Token": minted["token"]})
    assert r.status_code == 403
    # lifetime bounds
    r = c.post("/customer-tokens", json={"user_id": "u1", "ttl_s": 10**9}, headers=auth(keys["ingest"]))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"] == "ttl_s"


def test_customer_token_cli(tmp_path: Path) -> None:
    from shopmind.api.auth import CustomerTokens
    from shopmind.cli import app as cli_app
    from shopmind.store import open_store

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    result = CliRunner().invoke(cli_app, ["--store", url, "keys", "customer-token", "U7", "--ttl", "120"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[0]
    store = open_store(url)
    try:
        assert CustomerTokens(store).verify(token) == "U7"
    finally:
        store.close()


# ------------------------------------------------------------------ finding 2: --web-read-key
@pytest.mark.parametrize("kind", ["admin", "ingest", "bound", "revoked", "unknown"])
def test_web_read_key_refuses_unsafe_keys(shop: Shop, kind: str) -> None:
    """Before: any key was published in /web-config.js (an admin key included)."""
    store = shop.engine.store
    if kind in ("admin", "ingest"):
        secret = shop.keys[kind]
    elif kind == "bound":
        _, secret = create_key(store, "read", user_id="u1")
    elif kind == "revoked":
        rec, secret = create_key(store, "read")
        store.revoke_api_key(rec.id)
    else:
        secret = "sm_read_" + "x" * 43
    with pytest.raises(ConfigError, match="web"):
        create_app(shop.engine, web_read_key=secret, watch_interval_s=None)


def test_web_read_key_unbound_read_is_published_without_customers(shop: Shop) -> None:
    app = create_app(shop.engine, web_read_key=shop.keys["read"], watch_interval_s=None)
    with TestClient(app) as c:
        config = c.get("/web-config.js").text
    assert shop.keys["read"] in config and "demoUsers" not in config and "smc1." not in config


def test_serve_cli_refuses_an_admin_key_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shopmind.api.server

    def served(*_: object, **__: object) -> None:
        raise AssertionError("serve started the server with an admin key in the page")

    monkeypatch.setattr(shopmind.api.server, "run_server", served)
    from shopmind.api.auth import ensure_demo_keys
    from shopmind.cli import app as cli_app
    from shopmind.store import open_store

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    store = open_store(url)
    keys = ensure_demo_keys(store)
    store.close()
    result = CliRunner().invoke(cli_app, ["--store", url, "serve", "--web-read-key", keys["admin"]])
    # the CLI's main() prints a ShopmindError as one red line and exits 2; the runner hands it over
    assert isinstance(result.exception, ConfigError), result.output
    assert "refusing to publish a key with scope admin" in str(result.exception)


# ------------------------------------------------------------------ finding 3: bounded input
def test_deeply_nested_attributes_are_422_with_the_path(shop: Shop) -> None:
    """Before: 500 after the item was stored, and every search failed afterwards."""
    row = catalogue(1)[0] | {"attributes": nested(500)}
    r = shop.client.post("/items", json=[row], headers=shop.h("ingest"))
    assert r.status_code == 422, r.text
    rejected = r.json()["error"]["rejected"][0]
    assert rejected["field"] == "attributes." + ".".join(["a"] * JSON_MAX_DEPTH)
    assert "deeper than" in rejected["message"]
    assert shop.engine.store.counts()["items"] == 0
    r = shop.client.put("/items/sku-0", json=row, headers=shop.h("ingest"))
    assert r.status_code == 422 and r.json()["error"]["errors"][0]["field"].startswith("attributes.a.a")
    users = [{"id": "u1", "attributes": {"k": list(range(2000))}}]
    r = shop.client.post("/users", json=users, headers=shop.h("ingest"))
    assert r.status_code == 422 and r.json()["error"]["rejected"][0]["field"].startswith("attributes.k")


@pytest.mark.parametrize(
    ("kind", "row", "field"),
    [
        ("items", catalogue(1)[0] | {"stock": 10**30}, "stock"),
        ("items", catalogue(1)[0] | {"attributes": {"n": 10**30}}, "attributes.n"),
        ("items", catalogue(1)[0] | {"category": ["x"] * 50}, "category"),
        ("items", catalogue(1)[0] | {"attributes": {"k" * 300: 1}}, "attributes"),
        (
            "events",
            {"id": "e1", "user_id": "u1", "type": "search", "query": "q" * 5000, "timestamp": "2026-01-01"},
            "query",
        ),
    ],
)
def test_out_of_range_values_are_422(shop: Shop, kind: str, row: dict[str, Any], field: str) -> None:
    """Before: ``"stock": 10**30`` was a 500 (OverflowError in the store)."""
    r = shop.client.post(f"/{kind}", json=[row], headers=shop.h("ingest"))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["rejected"][0]["field"] == field


def test_non_finite_numbers_are_422(shop: Shop) -> None:
    body = b'[{"id": "e1", "user_id": "u1", "item_id": "sku-0", "type": "view", "value": Infinity, "timestamp": "2026-01-01"}]'
    headers = shop.h("ingest") | {"content-type": "application/json"}
    r = shop.client.post("/events", content=body, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["rejected"][0]["field"] == "value"


def test_file_ingest_applies_the_same_limits(tmp_path: Path) -> None:
    import json

    from shopmind.ingest import ingest_file
    from shopmind.store import open_store

    path = tmp_path / "items.jsonl"
    good = catalogue(1)[0]
    bad = catalogue(2)[1] | {"attributes": nested(40)}
    path.write_text("\n".join(json.dumps(r) for r in (good, bad)) + "\n", encoding="utf-8")
    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    try:
        report = ingest_file(store, "items", path)
        assert report.inserted == 1 and report.rejected == 1
        issue = report.errors[0]
        assert issue.field == "attributes." + ".".join(["a"] * JSON_MAX_DEPTH) and issue.line == 2
        assert isinstance(issue.value, str) and len(issue.value) <= 201  # not the whole value
    finally:
        store.close()


def test_one_bad_stored_item_never_takes_search_down(trained: Any) -> None:
    """Before: every /search and /search/suggest answered 500 until the item was deleted."""
    engine, keys, c = trained
    # an item stored before the limits existed (model_construct skips validation, as old code did)
    bad = Item.model_construct(
        **(Item.model_validate(catalogue(1)[0]).model_dump() | {"id": "bad-1", "attributes": nested(500)})
    )
    engine.store.upsert_items([bad])
    engine.store.upsert_items([Item.model_validate(catalogue(1)[0] | {"id": "new-1", "title": "Zebra lamp"})])
    for _ in range(2):
        r = c.get("/search?q=zebra", headers=auth(keys["read"]))
        assert r.status_code == 200, r.text
        assert c.get("/search/suggest?q=zeb", headers=auth(keys["read"])).status_code == 200
    ids = [h["item_id"] for h in r.json()["hits"]]
    assert "new-1" in ids  # changes after the bad one are still applied
    status = c.get("/admin/status", headers=auth(keys["admin"])).json()
    assert status["set_aside"]["search"]["count"] == 1
    assert status["set_aside"]["search"]["items"][0]["id"] == "bad-1"
    # the other readers of stored items answer too
    listing = c.get("/items?limit=500", headers=auth(keys["read"]))
    assert listing.status_code == 200
    row = next(i for i in listing.json()["items"] if i["id"] == "bad-1")
    assert row["attributes"] == {} and "attributes_error" in row
    assert c.get("/items/bad-1", headers=auth(keys["read"])).status_code == 422
    engine.store.delete_items(["bad-1", "new-1"])


# ------------------------------------------------------------------ finding 9: listing, NUL, 500s
def test_item_listing_pages_from_the_store(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: GET /items loaded the whole catalogue (items_frame) on every call."""
    c, h = shop.client, shop.h("read")
    rows = catalogue(23)
    assert c.post("/items", json=rows, headers=shop.h("ingest")).status_code == 200

    def whole_catalogue(*_: object) -> None:
        raise AssertionError("GET /items must not load the whole catalogue")

    monkeypatch.setattr(shop.engine.store, "items_frame", whole_catalogue)
    seen: list[str] = []
    page = c.get("/items?limit=10", headers=h).json()
    assert page["total"] == 23
    while True:
        seen += [i["id"] for i in page["items"]]
        if not page["next_cursor"]:
            break
        page = c.get(f"/items?limit=10&cursor={page['next_cursor']}", headers=h).json()
        assert "total" not in page
    assert seen == sorted(r["id"] for r in rows)
    first = c.get("/items?limit=1", headers=h).json()["items"][0]
    assert first == c.get(f"/items/{first['id']}", headers=h).json()  # the same fields as one item
    audio = c.get("/items?category=Audio&limit=500", headers=h).json()["items"]
    assert {i["id"] for i in audio} == {r["id"] for r in rows if "Audio" in r["category"]}
    assert c.get("/items?cursor=!!", headers=h).status_code == 422


@pytest.mark.parametrize("path", ["/admin/reports/quality.json%00.txt", "/items/sku%00-1", "/%00"])
def test_nul_byte_in_path_is_400(shop: Shop, path: str) -> None:
    """Before: /admin/reports/quality.json%00.txt was a 500 (ValueError: embedded null byte)."""
    r = shop.client.get(path, headers=shop.h("admin"))
    assert r.status_code in (400, 404), r.text
    assert r.json()["error"]["type"] in ("bad_request", "not_found")


def test_a_500_closes_the_connection_cleanly(tmp_path: Path) -> None:
    """Before: after a 500 uvicorn dropped the keep-alive connection without ``Connection: close``."""
    settings = make_settings(tmp_path)
    settings = settings.model_copy(update={"training": settings.training.model_copy(update=FAST_TRAINING)})
    engine = Engine.open(settings)
    app = create_app(engine, watch_interval_s=None)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    try:
        with LiveServer(app) as live:
            conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
            conn.request("GET", "/boom")
            r = conn.getresponse()
            body = r.read()
            assert r.status == 500 and b'"internal_error"' in body and b"a bug" not in body
            assert r.getheader("connection") == "close"
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
            conn.request("GET", "/health/live")
            assert conn.getresponse().status == 200
            conn.close()
    finally:
        engine.close()
