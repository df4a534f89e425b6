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


@router.get("/health/ready", summary="The store answers and a trained run is loaded")
def ready(engine: EngineDep) -> Any:
    ok, checks = engine.ready()
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)
