"""Liveness, readiness and Prometheus metrics (no key needed; bind to loopback or a private network)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from shopmind.api.deps import EngineDep

router = APIRouter(tags=["operations"])


@router.get("/health/live", summary="The process answers")
def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/ready",
    summary="The store answers, a verified run is loaded and every capability it contains loaded",
)
def ready(engine: EngineDep) -> Any:
    """503 when the store is down, nothing is loaded, or a capability of the served run did not load.

    ``capabilities``: ``{name: {"state": "ok" | "failed" | "not_trained", "reason"}}``; ``checks``:
    ``store``, ``artifacts`` (the served run), ``integrity`` (its checksum verification) and
    ``refused`` (runs refused because their files did not match their checksums).
    """
    ok, checks = engine.ready()
    capabilities = checks.pop("capabilities", {})
    return JSONResponse(
        {
            "status": "ready" if ok else "not_ready",
            "run_id": engine.bundle.run_id,
            "capabilities": capabilities,
            "checks": checks,
        },
        status_code=200 if ok else 503,
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)
