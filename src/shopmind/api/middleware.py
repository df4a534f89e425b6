"""One pure-ASGI middleware for every request: request id, body-size limit, metrics, access log.

Pure ASGI (not ``BaseHTTPMiddleware``) because it sits on every hot-path request and must not add
a task hop. The body limit is enforced twice: on the declared ``Content-Length`` before the app
runs, and on the bytes actually received (chunked uploads), answering 413 in both cases.

**Paths with a NUL byte** (``%00``) are answered 400 before routing: no route takes one, and file
paths built from them would raise instead of answering.

**Server errors.** An exception no handler maps is answered here with the documented 500 body and
``Connection: close``, and not passed on. Passed on, it would reach Starlette's outermost error
middleware, which answers and then re-raises, and uvicorn, seeing the exception after the response
started, drops the keep-alive connection without saying so — the client's next request on it then
fails (issue 21's red-team pass: 4 of 10 follow-ups reset). Every 5xx response carries
``Connection: close``: after an unexpected failure the client opens a fresh connection instead of
reusing this one.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from shopmind.api.errors import error_body
from shopmind.api.metrics import Metrics

access_log = logging.getLogger("shopmind.api.access")
error_log = logging.getLogger("shopmind.api")
CONNECTION_CLOSE = (b"connection", b"close")

Scope = dict[str, Any]


class _BodyTooLarge(Exception):
    pass


class ServiceMiddleware:
    def __init__(self, app: Any, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_request_id(scope) or uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status_holder = [500]
        response_started = [False]
        rid_header = (b"x-request-id", rid.encode())

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                response_started[0] = True
                status_holder[0] = message["status"]
                headers = [*message.get("headers", []), rid_header]
                if message["status"] >= 500 and not any(k.lower() == b"connection" for k, _ in headers):
                    headers.append(CONNECTION_CLOSE)
                message["headers"] = headers
            await send(message)

        if "\x00" in scope.get("path", ""):
            await self._error(send_wrapper, 400, "bad_request", "the path contains a NUL byte (%00)", rid)
            self._record(scope, status_holder[0], started, rid)
            return

        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(send_wrapper, rid, declared)
            self._record(scope, status_holder[0], started, rid)
            return

        received = [0]
        limit = self.max_body_bytes

        async def receive_wrapper() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                received[0] += len(message.get("body", b""))
                if received[0] > limit:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except _BodyTooLarge:
            if not response_started[0]:
                await self._too_large(send_wrapper, rid, received[0])
        except Exception as exc:
            if response_started[0]:  # too late for an error body: uvicorn closes the connection
                raise
            error_log.error("request %s: unexpected %s", rid, type(exc).__name__, exc_info=exc)
            await self._error(send_wrapper, 500, "internal_error", "internal error", rid)
        finally:
            self._record(scope, status_holder[0], started, rid)

    async def _error(self, send: Any, status: int, kind: str, message: str, rid: str) -> None:
        body = json.dumps(error_body(status, kind, message, rid)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _too_large(self, send: Any, rid: str, size: int) -> None:
        body = json.dumps(
            error_body(
                413,
                "payload_too_large",
                f"request body of {size} bytes exceeds the limit of {self.max_body_bytes} bytes",
                rid,
                expected=f"at most {self.max_body_bytes} bytes (settings.server.max_body_bytes)",
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, status: int, started: float, rid: str) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        if template.startswith("/static") or template.startswith("/docs-assets"):
            template = template.split("/{", 1)[0]
        method = scope.get("method", "GET")
        self.metrics.latency.labels(method=method, route=template).observe(elapsed)
        self.metrics.requests.labels(method=method, route=template, status=str(status)).inc()
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "%s %s %s %.1fms",
                method,
                scope.get("path"),
                status,
                elapsed * 1000,
                extra={
                    "request_id": rid,
                    "method": method,
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            # accept only short, plain ids from proxies (they end up in logs and headers)
            if 0 < len(text) <= 64 and all(c.isalnum() or c in "-_." for c in text):
                return text
    return None
