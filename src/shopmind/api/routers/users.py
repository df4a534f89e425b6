"""Customers: bulk upsert (ingest); profile and orders only for ingest/admin or a key bound to them;
erasure of everything about one customer (admin; :func:`shopmind.privacy.erase_customer`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Path, Query, Request

from shopmind.api.deps import AdminKey, EngineDep, IngestKey, ReadKey
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


@router.delete("/{user_id}", summary="Erase a customer: events, conversations, keys, profile (admin)")
def erase_user(
    request: Request,
    engine: EngineDep,
    principal: AdminKey,
    user_id: str = UserId(),
    retrain: bool = Query(False, description="start a training run now, so the models forget them too"),
) -> dict[str, Any]:
    """Deletes the customer's events, reviews, searches, conversations and tickets, bound keys and
    profile, and anonymises their orders (kept for sales figures), in one transaction; writes an
    audit record without personal data. Trained models still hold the customer until the next
    training, which starts at once with ``retrain=true`` (unless one is already running)."""
    from shopmind.privacy import erase_customer

    report = erase_customer(engine.store, user_id, requested_by=f"api-key:{principal.key_id}")
    # their bound keys are deleted: stop accepting them in this worker now, not after the cache TTL
    verifier = getattr(request.app.state, "verifier", None)
    if verifier is not None:
        verifier.invalidate()
    out = {"user_id": user_id} | report.to_dict()
    if retrain:
        from shopmind.engine import TrainingInProgress

        try:
            out["training"] = engine.start_training().to_dict()
        except TrainingInProgress as exc:  # the erasure is done either way: report, do not fail it
            out["training"] = {
                "state": "not_started",
                "error": f"{exc.message}: it may have read the data before the erasure; train again after it",
            }
    return out
