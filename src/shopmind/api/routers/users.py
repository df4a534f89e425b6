"""Customers: bulk upsert (ingest); profile and orders only for ingest/admin or a key bound to them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Path, Query

from shopmind.api.deps import EngineDep, IngestKey, ReadKey
from shopmind.api.routers._batch import batch_result, decide, validate_rows
from shopmind.api.schemas import BatchResult
from shopmind.data.schema import ID_PATTERN, User
from shopmind.errors import Location, UnknownIdError

router = APIRouter(prefix="/users", tags=["users"])


def UserId() -> Any:  # a fresh Path() per parameter: FastAPI binds a FieldInfo to one name
    return Path(pattern=ID_PATTERN, max_length=128)


def _hidden(user_id: str) -> UnknownIdError:
    # Someone else's customer answers exactly like an unknown one: existence is not revealed.
    return UnknownIdError("unknown user", value=user_id, location=Location(field="user_id"))


@router.post("", summary="Upsert users in bulk", response_model=BatchResult)
def upsert_users(
    engine: EngineDep,
    _: IngestKey,
    rows: list[dict[str, Any]] = Body(..., description="array of User objects"),
    partial: bool = Query(False, description="write the valid rows and list the rejected ones"),
) -> BatchResult:
    good, bad = validate_rows(rows, User)
    decide(len(rows), good, bad, partial)
    result = engine.upsert_users([u for _, u in good])
    return batch_result(len(rows), len(good), result, bad)


@router.get("/{user_id}", summary="One customer (ingest/admin, or a read key bound to this customer)")
def get_user(engine: EngineDep, principal: ReadKey, user_id: str = UserId()) -> dict[str, Any]:
    if not principal.can_see_user(user_id):
        raise _hidden(user_id)
    user = engine.store.get_user(user_id)
    if user is None:
        raise _hidden(user_id)
    return user.model_dump(mode="json")


@router.get("/{user_id}/orders", summary="A customer's orders (ingest/admin, or a key bound to them)")
def user_orders(engine: EngineDep, principal: ReadKey, user_id: str = UserId()) -> dict[str, Any]:
    if not principal.can_see_user(user_id):
        raise _hidden(user_id)
    orders = engine.store.orders_for_user(user_id)
    return {"user_id": user_id, "orders": [o.model_dump(mode="json") | {"total": o.total} for o in orders]}
