"""API keys with scopes, stored hashed, checked in constant time.

Key format: ``sm_<scope>_<43 url-safe base64 chars>`` — 256 bits from :func:`secrets.token_urlsafe`.
Only ``sha256(secret)`` (hex) is stored, together with the first :data:`PREFIX_LEN` characters
(the *prefix*, used to find candidate records and to show keys in ``keys list``); the secret is
shown once, at creation. A presented key is looked up by prefix and compared to each candidate's
hash with :func:`hmac.compare_digest`. Because the secret has 256 bits of entropy, a plain sha256
is a sufficient password-equivalent hash (no key stretching needed, as for GitHub/Stripe tokens).

Scopes (``admin`` ⊇ ``ingest`` ⊇ ``read``):

* ``read`` — browser-safe: search, suggest, recommendations, item pages, chat. A read key may be
  *bound* to a customer (``user_id``); then personal routes (orders, chat identity, "for you") only
  ever serve that customer.
* ``ingest`` — server-side writes of catalogue, users, events, orders, documents; may read.
* ``admin`` — everything, including training, rollback and reports.

Keys are presented as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Verified keys are
cached in memory for :data:`CACHE_TTL_S` seconds (so a hot path costs no store query); a revoked key
therefore stops working within that time in every worker.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shopmind.errors import AuthError, DataError, PermissionDenied
from shopmind.store.base import ApiKeyRecord, Store

SCOPES: tuple[str, ...] = ("read", "ingest", "admin")
IMPLIES: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "ingest": frozenset({"read", "ingest"}),
    "admin": frozenset({"read", "ingest", "admin"}),
}
PREFIX_LEN = 12
CACHE_TTL_S = 5.0
DEMO_KEY_PREFIX = "demo-"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, effective scopes and optional customer binding."""

    key_id: str
    name: str
    scopes: frozenset[str]
    user_id: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise PermissionDenied(
                f"this key (id {self.key_id}) does not have the '{scope}' scope",
                expected=f"a key with scope '{scope}'",
            )

    def check_user(self, user_id: str | None) -> None:
        """A key bound to a customer may only touch that customer's data."""
        if self.user_id is not None and user_id != self.user_id:
            raise PermissionDenied(
                "this key is bound to another customer", expected="the customer the key is bound to"
            )

    def can_see_user(self, user_id: str) -> bool:
        """Personal data (orders, profile) needs ingest/admin or a read key bound to that user."""
        return self.has("ingest") or (self.user_id is not None and self.user_id == user_id)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def generate_secret(scope: str) -> str:
    return f"sm_{scope}_{secrets.token_urlsafe(32)}"


def create_key(
    store: Store, scope: str, *, name: str | None = None, user_id: str | None = None
) -> tuple[ApiKeyRecord, str]:
    """Create and store a key; returns the record and the secret (shown only this once)."""
    if scope not in SCOPES:
        raise DataError("unknown scope", value=scope, expected=" | ".join(SCOPES))
    if user_id is not None and scope != "read":
        raise DataError("only read keys can be bound to a customer", value=scope, expected="read")
    secret = generate_secret(scope)
    record = ApiKeyRecord(
        id=uuid.uuid4().hex[:12],
        name=name or f"{scope} key",
        scopes=(scope,),
        key_hash=hash_secret(secret),
        prefix=secret[:PREFIX_LEN],
        user_id=user_id,
        created_at=datetime.now(UTC),
    )
    store.add_api_key(record)
    return record, secret


def ensure_demo_keys(store: Store) -> dict[str, str]:
    """Create fresh demo keys (admin, ingest, read) and return ``{scope: secret}`` to print.

    Earlier demo keys are revoked first: only hashes are stored, so their secrets cannot be shown
    again, and the demo must always be able to print working keys.
    """
    for rec in store.api_keys():
        if rec.name.startswith(DEMO_KEY_PREFIX):
            store.revoke_api_key(rec.id)
    out = {}
    for scope in ("admin", "ingest", "read"):
        _, secret = create_key(store, scope, name=f"{DEMO_KEY_PREFIX}{scope}")
        out[scope] = secret
    return out


def extract_key(headers: Any) -> str | None:
    """The key from ``Authorization: Bearer …`` or ``X-API-Key``; None when absent."""
    auth = headers.get("authorization")
    if auth:
        kind, _, value = auth.partition(" ")
        if kind.lower() == "bearer" and value.strip():
            return value.strip()
    key = headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


class KeyVerifier:
    """Verifies presented keys against the store, with a short positive/negative cache."""

    def __init__(self, store: Store, ttl_s: float = CACHE_TTL_S) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def cached(self, secret: str | None) -> Principal | None:
        """The caller from the cache without touching the store; None when the store must be asked.

        Raises :class:`AuthError` for a missing key and for a key cached as invalid or revoked. The
        cache is keyed by the key's sha256 (computing it costs about a microsecond), so a dict hit
        means the same secret was verified — with ``hmac.compare_digest`` — within the TTL.
        """
        if not secret:
            raise AuthError(
                "missing API key", expected="'Authorization: Bearer <key>' or 'X-API-Key: <key>' header"
            )
        hit = self._cache.get(hash_secret(secret))
        if hit is None or hit[0] <= time.monotonic():
            return None
        if hit[1] is None:
            raise AuthError("invalid or revoked API key")
        return hit[1]

    def verify(self, secret: str | None) -> Principal:
        """The caller from the cache, else from the store (then cached for ``ttl_s`` seconds)."""
        principal = self.cached(secret)
        if principal is not None:
            return principal
        assert secret  # cached() raised for a missing key
        digest = hash_secret(secret)
        expires = time.monotonic() + self.ttl_s
        principal = self._lookup(secret, digest)
        with self._lock:
            if len(self._cache) > 10_000:  # bound memory against random-key floods
                self._cache.clear()
            self._cache[digest] = (expires, principal)
        if principal is None:
            raise AuthError("invalid or revoked API key")
        return principal

    def _lookup(self, secret: str, digest: str) -> Principal | None:
        prefix = secret[:PREFIX_LEN]
        found = None
        for rec in self.store.api_key_by_prefix(prefix):
            # compare every candidate (no early exit) so timing does not depend on which one matched
            if hmac.compare_digest(rec.key_hash, digest) and rec.revoked_at is None:
                found = rec
        if found is None:
            return None
        scopes: set[str] = set()
        for s in found.scopes:
            scopes |= IMPLIES.get(s, frozenset())
        return Principal(key_id=found.id, name=found.name, scopes=frozenset(scopes), user_id=found.user_id)

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()
