"""FastAPI dependencies: the engine, the caller (:class:`~shopmind.api.auth.Principal`), scope checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from shopmind.api.auth import Principal
from shopmind.engine import Engine

# auto_error=False: our own AuthError gives the documented 401 body; these only document the schemes.
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: <key>`")


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def _principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    header: Annotated[str | None, Security(_header)] = None,
) -> Principal:
    secret = bearer.credentials if bearer is not None else header
    return request.app.state.verifier.verify(secret)


def require(scope: str) -> Callable[..., Principal]:
    """Dependency factory: the caller must hold ``scope`` (admin ⊇ ingest ⊇ read)."""

    def dependency(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        principal.require(scope)
        return principal

    dependency.__name__ = f"require_{scope}"
    return dependency


EngineDep = Annotated[Engine, Depends(get_engine)]
ReadKey = Annotated[Principal, Depends(require("read"))]
IngestKey = Annotated[Principal, Depends(require("ingest"))]
AdminKey = Annotated[Principal, Depends(require("admin"))]


def ranked(result: Any, run_id: str | None = None) -> dict[str, Any]:
    """A service result (``RankedList`` or dict) as JSON-ready data, tagged with the serving run."""
    data = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    if run_id is not None:
        data.setdefault("run_id", run_id)
    return data
