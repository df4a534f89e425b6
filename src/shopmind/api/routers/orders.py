"""Orders: bulk upsert (ingest); one order for ingest/admin or the customer's own bound read key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Path, Query

from shopmind.api.deps import EngineDep, IngestKey, ReadKey
from shopmind.api.routers._batch import batch_result, decide, validate_rows
from shopmind.api.schemas import BatchResult
from shopmind.data.schema import ID_PATTERN, Order
from shopmind.errors import Location, UnknownIdError

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post("", summary="Upsert orders in bulk", response_model=BatchResult)
def upsert_orders(
    engine: EngineDep,
    _: IngestKey,
    rows: list[dict[str, Any]] = Body(..., description="array of Order objects"),
    partial: bool = Query(False, description="write the valid rows and list the rejected ones"),
) -> BatchResult:
    good, bad = validate_rows(rows, Order)
    decide(len(rows), good, bad, partial)
    result = engine.upsert_orders([o for _, o in good])
    return batch_result(len(rows), len(good), result, bad)


@router.get("/{order_id}", summary="One order (ingest/admin, or the customer's bound read key)")
def get_order(
    engine: EngineDep, principal: ReadKey, order_id: str = Path(pattern=ID_PATTERN, max_length=128)
) -> dict[str, Any]:
    order = engine.store.get_order(order_id)
    if order is None or not principal.can_see_user(order.user_id):
        raise UnknownIdError("unknown order", value=order_id, location=Location(field="order_id"))
    return order.model_dump(mode="json") | {"total": order.total}
