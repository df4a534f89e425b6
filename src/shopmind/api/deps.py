"""FastAPI dependencies: the engine, the caller (:class:`~shopmind.api.auth.Principal`), scope checks.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread pool, one
thread hop per dependency per request (three on every keyed route), and under load each hop waits
for the GIL hand-over — measured on the demo shop, that was the largest part of the stack's own cost.
The key check is a hash and a dict look-up when the key is cached; only a cache miss queries the
store, and that runs in the thread pool so the event loop never waits on the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from shopmind.api.auth import CUSTOMER_TOKEN_HEADER, Principal
from shopmind.engine import Engine
from shopmind.types import RankedList

# auto_error=False: our own AuthError gives the documented 401 body; these only document the schemes.
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: <key>`")
_customer = APIKeyHeader(
    name=CUSTOMER_TOKEN_HEADER,
    auto_error=False,
    scheme_name="CustomerToken",
    description="optional, with a read key: a short-lived customer token minted by the shop's backend "
    "(`POST /customer-tokens`); the request is then served as that signed-in customer",
)


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def _principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    header: Annotated[str | None, Security(_header)] = None,
    customer_token: Annotated[str | None, Security(_customer)] = None,
) -> Principal:
    secret = bearer.credentials if bearer is not None else header
    verifier = request.app.state.verifier
    cached: Principal | None = verifier.cached(secret)
    # not cached (or expired): ask the store, off the event loop
    principal: Principal = cached if cached is not None else await run_in_threadpool(verifier.verify, secret)
    if customer_token:
        tokens = request.app.state.customer_tokens
        # off the event loop: verifying reads the signing secret (once) and the customer's erasure time
        principal = principal.bound_to(await run_in_threadpool(tokens.verify, customer_token.strip()))
    return principal


def require(scope: str) -> Callable[..., Any]:
    """Dependency factory: the caller must hold ``scope`` (admin ⊇ ingest ⊇ read)."""

    async def dependency(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        principal.require(scope)
        return principal

    dependency.__name__ = f"require_{scope}"
    return dependency


EngineDep = Annotated[Engine, Depends(get_engine)]
ReadKey = Annotated[Principal, Depends(require("read"))]
IngestKey = Annotated[Principal, Depends(require("ingest"))]
AdminKey = Annotated[Principal, Depends(require("admin"))]


def ranked(result: RankedList, run_id: str | None = None) -> dict[str, Any]:
    """A ranked list as JSON-ready data, tagged with the serving run."""
    data = result.to_dict()
    if run_id is not None:
        data.setdefault("run_id", run_id)
    return data
