"""Keys: 401 without or with a wrong key, 403 without the scope, customer binding, hashing."""

from __future__ import annotations

import hashlib

import pytest
from apishop import Shop, auth, catalogue

from shopmind.api.auth import PREFIX_LEN, KeyVerifier, create_key, extract_key, hash_secret
from shopmind.errors import AuthError, DataError


def test_missing_key_is_401_with_clear_body(shop: Shop) -> None:
    r = shop.client.get("/items")
    assert r.status_code == 401
    body = r.json()["error"]
    assert body["type"] == "unauthorized" and "missing API key" in body["message"]
    assert r.headers["www-authenticate"] == "Bearer"


def test_wrong_key_is_401(shop: Shop) -> None:
    fake = shop.keys["read"][:-4] + "AAAA"
    assert shop.client.get("/items", headers=auth(fake)).status_code == 401
    assert shop.client.get("/items", headers={"Authorization": "Basic abc"}).status_code == 401


def test_x_api_key_header_works(shop: Shop) -> None:
    r = shop.client.get("/items", headers={"X-API-Key": shop.keys["read"]})
    assert r.status_code == 200 and r.json()["total"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/items", catalogue(1)),
        ("post", "/events", []),
        ("post", "/users", [{"id": "u1"}]),
        ("post", "/orders", []),
        ("post", "/documents", []),
        ("delete", "/items/sku-1", None),
        ("post", "/admin/train", None),
        ("post", "/admin/rollback", None),
        ("get", "/admin/status", None),
    ],
)
def test_read_key_cannot_ingest_or_train(shop: Shop, method: str, path: str, body: object) -> None:
    kwargs = {"json": body} if body is not None else {}
    r = shop.client.request(method.upper(), path, headers=shop.h("read"), **kwargs)
    assert r.status_code == 403, r.text
    assert "scope" in r.json()["error"]["message"]


def test_ingest_key_cannot_administer(shop: Shop) -> None:
    assert shop.client.post("/admin/train", headers=shop.h("ingest")).status_code == 403
    assert shop.client.get("/admin/models", headers=shop.h("ingest")).status_code == 403
    assert shop.client.post("/items", json=catalogue(2), headers=shop.h("ingest")).status_code == 200


def test_revoked_key_stops_working(shop: Shop) -> None:
    rec, secret = create_key(shop.engine.store, "read", name="temp")
    shop.client.app.state.verifier.invalidate()
    assert shop.client.get("/items", headers=auth(secret)).status_code == 200
    assert shop.engine.store.revoke_api_key(rec.id)
    shop.client.app.state.verifier.invalidate()  # the 5 s cache, skipped for the test
    assert shop.client.get("/items", headers=auth(secret)).status_code == 401


def test_key_cache_serves_without_the_store_and_honours_revocation_after_the_ttl(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec, secret = create_key(shop.engine.store, "read", name="cached")
    clock = [1000.0]
    monkeypatch.setattr("shopmind.api.auth.time.monotonic", lambda: clock[0])
    v = KeyVerifier(shop.engine.store, ttl_s=5.0)
    assert v.cached(secret) is None  # never verified: the store must be asked
    assert v.verify(secret).key_id == rec.id
    lookups = []
    real_lookup = v._lookup
    monkeypatch.setattr(v, "_lookup", lambda *a: lookups.append(a) or real_lookup(*a))
    assert v.cached(secret).key_id == rec.id and v.verify(secret).key_id == rec.id
    assert not lookups  # a hit costs a hash and a dict look-up, no store query
    shop.engine.store.revoke_api_key(rec.id)
    clock[0] += 4.9
    assert v.verify(secret).key_id == rec.id  # revocation is not seen inside the TTL (documented)
    clock[0] += 0.2
    assert v.cached(secret) is None  # expired: the next request asks the store again
    with pytest.raises(AuthError):
        v.verify(secret)
    assert len(lookups) == 1
    with pytest.raises(AuthError, match="invalid or revoked"):
        v.cached(secret)  # the refusal is cached too
    with pytest.raises(AuthError, match="missing"):
        v.cached("")


def test_only_the_hash_is_stored(shop: Shop) -> None:
    rec, secret = create_key(shop.engine.store, "ingest", name="hashed")
    stored = next(k for k in shop.engine.store.api_keys() if k.id == rec.id)
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest() == hash_secret(secret)
    assert secret not in repr(stored) and stored.prefix == secret[:PREFIX_LEN]
    assert len(secret) > 40  # 256 bits of url-safe base64 plus the prefix


def test_verifier_rejects_empty_and_unknown(shop: Shop) -> None:
    v = KeyVerifier(shop.engine.store)
    with pytest.raises(AuthError):
        v.verify(None)
    with pytest.raises(AuthError):
        v.verify("sm_read_doesnotexist")
    assert v.verify(shop.keys["admin"]).has("ingest")


def test_bad_scope_and_binding_are_refused(shop: Shop) -> None:
    with pytest.raises(DataError):
        create_key(shop.engine.store, "superuser")
    with pytest.raises(DataError):
        create_key(shop.engine.store, "admin", user_id="u1")


def test_extract_key() -> None:
    assert extract_key({"authorization": "Bearer abc"}) == "abc"
    assert extract_key({"x-api-key": " k "}) == "k"
    assert extract_key({}) is None


def test_customer_sees_only_own_orders(seeded: Shop) -> None:
    c = seeded.client
    mine = seeded.bound_key("u1")
    assert c.get("/orders/o1", headers=mine).json()["user_id"] == "u1"
    # another customer's order answers like an unknown one (existence is not revealed)
    other = c.get("/orders/o2", headers=mine)
    assert other.status_code == 404 and "u2" not in other.text
    assert c.get("/users/u2/orders", headers=mine).status_code == 404
    assert [o["id"] for o in c.get("/users/u1/orders", headers=mine).json()["orders"]] == ["o1"]
    # an unbound read key (the storefront's) sees no personal data at all
    assert c.get("/orders/o1", headers=seeded.h("read")).status_code == 404
    assert c.get("/users/u1", headers=seeded.h("read")).status_code == 404
    # server-side keys do
    assert c.get("/users/u1", headers=seeded.h("ingest")).json()["email"] == "u1@example.com"


def test_bound_key_cannot_ask_recs_for_someone_else(seeded: Shop) -> None:
    r = seeded.client.get("/recommendations/users/u2", headers=seeded.bound_key("u1"))
    assert r.status_code == 403
