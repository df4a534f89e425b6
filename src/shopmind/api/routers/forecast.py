"""Demand forecasts with intervals, and inventory advice (reorder point, order quantity).

Forecasts and stock advice are business data, so these routes need an ``ingest`` (server-side) or
``admin`` key, never the browser's read key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query

from shopmind.api.deps import EngineDep, IngestKey
from shopmind.data.schema import ID_PATTERN
from shopmind.errors import Location, UnknownIdError

router = APIRouter(tags=["forecast"])

SERVICE_LEVEL = Query(0.95, gt=0.5, lt=1.0, description="target probability of no stock-out in the lead time")
LEAD_TIME = Query(7.0, ge=0, le=365, description="supplier lead time in days")
HORIZON = Query(None, ge=1, le=365, description="periods ahead (at most the trained horizon)")


@router.get("/forecast", summary="Demand forecast of the shop total or one category")
def forecast_total(
    engine: EngineDep,
    _: IngestKey,
    category: str | None = Query(None, max_length=200),
    horizon: int | None = HORIZON,
) -> dict[str, Any]:
    return engine.forecast(None, horizon, category=category)


@router.get("/forecast/{item_id}", summary="Demand forecast, intervals and reorder point of one item")
def forecast_item(
    engine: EngineDep,
    _: IngestKey,
    item_id: str = Path(pattern=ID_PATTERN, max_length=128),
    horizon: int | None = HORIZON,
    service_level: float = SERVICE_LEVEL,
    lead_time_days: float = LEAD_TIME,
) -> dict[str, Any]:
    return engine.forecast(item_id, horizon, service_level=service_level, lead_time_days=lead_time_days)


@router.get("/inventory", summary="Inventory advice per item, riskiest first")
def inventory(
    engine: EngineDep,
    _: IngestKey,
    service_level: float = SERVICE_LEVEL,
    lead_time_days: float = LEAD_TIME,
    status: str | None = Query(None, pattern=r"^(stockout_risk|overstock|ok|unknown_stock)$"),
    limit: int = Query(50, ge=1, le=1000),
) -> dict[str, Any]:
    rows = engine.inventory(
        service_level=service_level, lead_time_days=lead_time_days, status=status, limit=limit
    )
    return {"items": rows}


@router.get("/inventory/{item_id}", summary="Inventory advice for one item")
def inventory_item(
    engine: EngineDep,
    _: IngestKey,
    item_id: str = Path(pattern=ID_PATTERN, max_length=128),
    service_level: float = SERVICE_LEVEL,
    lead_time_days: float = LEAD_TIME,
) -> dict[str, Any]:
    rows = engine.inventory(service_level=service_level, lead_time_days=lead_time_days, item_ids=[item_id])
    if not rows:
        raise UnknownIdError("no forecast for this item", value=item_id, location=Location(field="item_id"))
    return rows[0]
