"""The one place where exceptions become HTTP responses.

Every error body has the shape ``{"error": {"type", "message", "request_id", ...}}``. Messages of
:class:`~shopmind.errors.ShopmindError` subclasses are written for users (what was given, what was
expected, where) and are returned as they are — except :class:`~shopmind.errors.StoreError`, whose
message may quote SQL, and unexpected exceptions: those get a generic message and the request id,
and the details go only to the log. No response ever carries a traceback.

=====================================  ======
class                                  status
=====================================  ======
DataError, request validation          422
ConfigError                            400
UnknownIdError                         404
AuthError                              401
PermissionDenied                       403
NotFittedError, ArtifactError          503
CapacityError                          413 when the body is too large, else 422
TrainingInProgress, VersionConflict    409
StoreError                             500 (generic message)
anything else                          500 "internal error"
=====================================  ======
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shopmind.data.schema import error_field
from shopmind.engine import TrainingInProgress, VersionConflict
from shopmind.errors import (
    ArtifactError,
    AuthError,
    CapacityError,
    ConfigError,
    DataError,
    NotFittedError,
    PermissionDenied,
    ShopmindError,
    StoreError,
    UnknownIdError,
)

log = logging.getLogger("shopmind.api")

STATUS: list[tuple[type[ShopmindError], int, str]] = [
    (TrainingInProgress, 409, "conflict"),
    (VersionConflict, 409, "conflict"),
    (UnknownIdError, 404, "not_found"),
    (AuthError, 401, "unauthorized"),
    (PermissionDenied, 403, "forbidden"),
    (NotFittedError, 503, "not_available"),
    (ArtifactError, 503, "not_available"),
    (CapacityError, 422, "capacity"),
    (DataError, 422, "invalid_data"),
    (ConfigError, 400, "bad_request"),
    (StoreError, 500, "store_error"),
]

HTTP_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_data",
    503: "not_available",
}


def request_id(request: Request | None) -> str:
    if request is None:
        return uuid.uuid4().hex[:16]
    rid = request.scope.get("state", {}).get("request_id")
    return rid or uuid.uuid4().hex[:16]


def error_body(status: int, kind: str, message: str, rid: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": kind, "status": status, "message": message, "request_id": rid, **extra}}


def error_response(
    status: int, kind: str, message: str, rid: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(error_body(status, kind, message, rid, **extra), status_code=status, headers=headers)


def shopmind_error_response(exc: ShopmindError, rid: str) -> JSONResponse:
    status, kind = 500, "internal_error"
    for cls, code, name in STATUS:
        if isinstance(exc, cls):
            status, kind = code, name
            break
    if status >= 500 and status != 503:
        # Store messages may quote SQL or connection strings: log them, never return them.
        log.error("request %s failed: %s: %s", rid, type(exc).__name__, exc)
        return error_response(500, kind, "the store could not complete the request", rid)
    extra: dict[str, Any] = {}
    if exc.location.field:
        extra["field"] = exc.location.field
    if exc.expected:
        extra["expected"] = exc.expected
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(status, kind, exc.render(), rid, headers=headers, **extra)


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI/pydantic errors → ``[{"loc", "field", "message"}]`` without echoing input values."""
    return [
        {
            "loc": list(err.get("loc", ())),
            "field": error_field(err, request=True),
            "message": err.get("msg", "invalid"),
        }
        for err in errors
    ]


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(ShopmindError)
    async def _shopmind(request: Request, exc: ShopmindError) -> JSONResponse:
        return shopmind_error_response(exc, request_id(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(list(exc.errors()))
        fields = ", ".join(d["field"] or "body" for d in details[:5])
        return error_response(
            422, "invalid_data", f"invalid request: {fields}", request_id(request), errors=details
        )

    from shopmind.api.routers._batch import BatchRejected

    @app.exception_handler(BatchRejected)
    async def _batch(request: Request, exc: BatchRejected) -> JSONResponse:
        fields = sorted({str(r["field"]) for r in exc.rejected if r.get("field")})
        return error_response(
            422,
            "invalid_data",
            f"{len(exc.rejected)} problem(s) in {exc.received} rows; nothing was written"
            + (f" (fields: {', '.join(fields[:10])})" if fields else ""),
            request_id(request),
            received=exc.received,
            rejected=exc.rejected,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = HTTP_TYPES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else kind.replace("_", " ")
        return error_response(
            exc.status_code, kind, message, request_id(request), headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = request_id(request)
        log.error("request %s: unexpected %s", rid, type(exc).__name__, exc_info=exc)
        return error_response(500, "internal_error", "internal error", rid)
