"""API keys with scopes, stored hashed, checked in constant time.

Key format: ``sm_<scope>_<43 url-safe base64 chars>`` — 256 bits from :func:`secrets.token_urlsafe`.
Only ``sha256(secret)`` (hex) is stored, together with the first :data:`PREFIX_LEN` characters
(the *prefix*, used to find candidate records and to show keys in ``keys list``); the secret is
shown once, at creation. A presented key is looked up by prefix and compared to each candidate's
hash with :func:`hmac.compare_digest`. Because the secret has 256 bits of entropy, a plain sha256
is a sufficient password-equivalent hash (no key stretching needed, as for GitHub/Stripe tokens).

Scopes (``admin`` ⊇ ``ingest`` ⊇ ``read``):

* ``read`` — browser-safe: search, suggest, non-personal recommendations, item pages, chat. A read
  key may be *bound* to a customer (``user_id``); then personal routes (orders, chat identity,
  "for you") only ever serve that customer. An *unbound* read key (the one a storefront embeds)
  never gets anything derived from a named customer's history: personal routes need a bound key
  or a customer token (below).
* ``ingest`` — server-side writes of catalogue, users, events, orders, documents; may read.
* ``admin`` — everything, including training, rollback and reports.

Keys are presented as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Verified keys are
cached in memory for :data:`CACHE_TTL_S` seconds (so a hot path costs no store query); a revoked key
therefore stops working within that time in every worker.

**Customer tokens.** A shop's backend that has signed a shopper in mints a short-lived token for
that customer (``POST /customer-tokens`` with an ingest/admin key, or ``shopmind keys
customer-token``) and hands it to the page, which sends it as ``X-Customer-Token`` next to the
public read key; the request is then served as if the key were bound to that customer. Format:
``smc1.<payload>.<signature>``, payload = base64url of ``{"sub": customer id, "exp": unix
seconds, "iat": ..., "kid": minting key id}``, signature = base64url of HMAC-SHA256 over
``smc1.<payload>`` (RFC 2104) with a 256-bit secret kept in the store (``Store.shared_secret``), so
every worker checks every signature without a store query after the first. Tokens are stateless, so
an erased customer's tokens are refused by one more check: a valid signature is followed by one
primary-key lookup of the customer's erasure time (``Store.customer_erased_at``, written by the
erasure in the same transaction), and a token issued at or before it is rejected — in every worker,
at once, since they share the store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shopmind.errors import AuthError, ConfigError, DataError, Location, PermissionDenied
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
CUSTOMER_TOKEN_HEADER = "X-Customer-Token"
CUSTOMER_TOKEN_VERSION = "smc1"
CUSTOMER_TOKEN_TTL_S = 900
"""Default lifetime: a page's session-sized window; the shop's backend mints a new one as needed."""
CUSTOMER_TOKEN_MAX_TTL_S = 24 * 3600
CUSTOMER_TOKEN_MAX_CHARS = 1024
CUSTOMER_TOKEN_SECRET = "customer-tokens"


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

    def personal(self, user_id: str | None) -> str | None:
        """The customer whose history may shape this answer, given the ``user_id`` asked for.

        A bound caller (key or customer token) gets its own customer (asking for another → 403);
        ingest/admin keys (server-side) get what they ask for; an unbound read key gets ``None`` when
        it asks for nobody and a 403 when it names a customer — it never sees a customer's history.
        """
        if self.user_id is not None:
            self.check_user(user_id if user_id is not None else self.user_id)
            return self.user_id
        if user_id is None or self.has("ingest"):
            return user_id
        raise PermissionDenied(
            "an unbound read key cannot ask for a customer's personal results",
            value=user_id,
            expected=f"a read key bound to this customer, or a customer token in the {CUSTOMER_TOKEN_HEADER}"
            " header (POST /customer-tokens, server-side)",
        )

    def bound_to(self, user_id: str) -> Principal:
        """This caller acting as customer ``user_id`` (a verified customer token)."""
        if self.user_id is not None and self.user_id != user_id:
            raise PermissionDenied(
                "the customer token names another customer than the key is bound to",
                expected="a token for the key's own customer",
            )
        return Principal(key_id=self.key_id, name=self.name, scopes=self.scopes, user_id=user_id)


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


def check_web_read_key(store: Store, secret: str | None) -> None:
    """Refuse a key that must not be published in a web page (``serve --web-read-key``).

    Only an active, unbound key with exactly the ``read`` scope is safe to hand to every visitor: an
    ingest/admin key would let anyone write or administer the shop, and a key bound to a customer
    would show that customer's orders and history to everyone. Raises :class:`ConfigError`.
    """
    if not secret:
        return
    where = "--web-read-key"
    found = [
        rec
        for rec in store.api_key_by_prefix(secret[:PREFIX_LEN])
        if hmac.compare_digest(rec.key_hash, hash_secret(secret)) and rec.revoked_at is None
    ]
    if not found:
        raise ConfigError(
            "the web read key is not an active key of this store",
            expected="a key from `shopmind keys create --scope read`",
            location=Location(field=where),
        )
    rec = found[0]
    if tuple(rec.scopes) != ("read",):
        raise ConfigError(
            f"refusing to publish a key with scope {','.join(rec.scopes)} in the storefront page "
            f"(key id {rec.id}): every visitor could use it",
            expected="an unbound key with the read scope only (`shopmind keys create --scope read`)",
            location=Location(field=where),
        )
    if rec.user_id is not None:
        raise ConfigError(
            f"refusing to publish a key bound to a customer in the storefront page (key id {rec.id}): "
            "every visitor would see that customer's orders and history",
            expected="an unbound read key; signed-in shoppers get customer tokens (docs/http.md)",
            location=Location(field=where),
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CustomerTokens:
    """Mints and verifies customer tokens (see the module docstring), HMAC-SHA256 with a store secret."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._secret: bytes | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the secret is in memory (verifying then touches no store)."""
        return self._secret is not None

    def load(self) -> None:
        self._key()

    def _key(self) -> bytes:
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    self._secret = self.store.shared_secret(CUSTOMER_TOKEN_SECRET).encode("ascii")
        return self._secret

    def _sign(self, signed: str) -> str:
        return _b64(hmac.new(self._key(), signed.encode("ascii"), hashlib.sha256).digest())

    def mint(
        self,
        user_id: str,
        ttl_s: int = CUSTOMER_TOKEN_TTL_S,
        *,
        key_id: str = "cli",
        now: float | None = None,
    ) -> tuple[str, datetime]:
        """A token for ``user_id`` valid ``ttl_s`` seconds; returns it and its expiry (UTC)."""
        if not 1 <= int(ttl_s) <= CUSTOMER_TOKEN_MAX_TTL_S:
            raise DataError(
                "token lifetime out of range",
                value=ttl_s,
                expected=f"1 to {CUSTOMER_TOKEN_MAX_TTL_S} seconds",
            )
        issued = int(time.time() if now is None else now)
        payload = {"sub": user_id, "iat": issued, "exp": issued + int(ttl_s), "kid": key_id}
        body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        signed = f"{CUSTOMER_TOKEN_VERSION}.{body}"
        token = f"{signed}.{self._sign(signed)}"
        if len(token) > CUSTOMER_TOKEN_MAX_CHARS:
            raise DataError(
                "customer id too long for a token", value=user_id[:40], expected="at most 128 characters"
            )
        return token, datetime.fromtimestamp(issued + int(ttl_s), tz=UTC)

    def verify(self, token: str, *, now: float | None = None) -> str:
        """The customer id of a valid, unexpired token of a customer not erased since it was issued.

        :class:`AuthError` otherwise. Blocking (one store lookup after the signature check): call it
        off the event loop.
        """
        parts = token.split(".") if len(token) <= CUSTOMER_TOKEN_MAX_CHARS else []
        if len(parts) != 3 or parts[0] != CUSTOMER_TOKEN_VERSION:
            raise AuthError(
                "malformed customer token", expected=f"{CUSTOMER_TOKEN_VERSION}.<payload>.<signature>"
            )
        signed = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(signed), parts[2]):
            raise AuthError("invalid customer token (bad signature)")
        try:
            payload = json.loads(_unb64(parts[1]))
            user_id, expires, issued = payload["sub"], int(payload["exp"]), int(payload["iat"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthError("malformed customer token payload") from exc
        if not isinstance(user_id, str) or not user_id:
            raise AuthError("malformed customer token payload")
        if expires <= (time.time() if now is None else now):
            raise AuthError("expired customer token", expected="a fresh token from the shop's backend")
        erased = self.store.customer_erased_at(user_id)
        # ``iat`` is whole seconds (rounded down), so ``>=`` also refuses a token minted before the
        # erasure within the same second; one minted later for a re-created customer works.
        if erased is not None and erased.timestamp() >= issued:
            raise AuthError(
                "revoked customer token: the customer was erased after it was issued",
                expected="a token minted after the erasure",
            )
        return user_id


def extract_key(headers: Any) -> str | None:
    """The key from ``Authorization: Bearer …`` or ``X-API-Key``; None when absent."""
    auth: str | None = headers.get("authorization")
    if auth:
        kind, _, value = auth.partition(" ")
        if kind.lower() == "bearer" and value.strip():
            return value.strip()
    key: str | None = headers.get("x-api-key")
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
