"""The HTTP service: ``create_app(settings | engine)`` (FastAPI) and ``run_server`` (uvicorn)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app"]


def create_app(*args: Any, **kwargs: Any) -> FastAPI:
    from shopmind.api.app import create_app as _create

    return _create(*args, **kwargs)
