"""Demand forecasts with intervals, and inventory advice (reorder point, order quantity)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query

from shopmind.api.deps import EngineDep, ReadKey
from shopmind.data.schema import ID_PATTERN

router = APIRouter(tags=["forecast"])


def Id() -> Any:  # a fresh Path() per parameter: FastAPI binds a FieldInfo to one name
    return Path(pattern=ID_PATTERN, max_length=128)


def _jsonable(result: Any) -> dict[str, Any]:
    if hasattr(result, "to_dict"):
        return result.to_dict()
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    return dict(result)


@router.get("/forecast/{item_id}", summary="Demand forecast for one item")
def forecast(
    engine: EngineDep, _: ReadKey, item_id: str = Id(), horizon: int | None = Query(None, ge=1, le=365)
) -> dict[str, Any]:
    return _jsonable(engine.forecast(item_id, horizon))


@router.get("/inventory/{item_id}", summary="Inventory advice for one item")
def inventory(
    engine: EngineDep,
    _: ReadKey,
    item_id: str = Id(),
    service_level: float | None = Query(None, gt=0.5, lt=1.0, description="target probability of no stock-out"),
    lead_time_days: int | None = Query(None, ge=0, le=365),
) -> dict[str, Any]:
    kwargs = {k: v for k, v in {"service_level": service_level, "lead_time_days": lead_time_days}.items() if v}
    return _jsonable(engine.inventory(item_id, **kwargs))
