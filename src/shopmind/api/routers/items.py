"""Catalogue: read items (read scope), upsert in bulk / one at a time and delete (ingest scope)."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Body, Path, Query

from shopmind.api.deps import EngineDep, IngestKey, ReadKey
from shopmind.api.routers._batch import batch_result, decide, validate_rows
from shopmind.api.schemas import BatchResult
from shopmind.data.schema import ID_PATTERN, Item
from shopmind.errors import DataError, Location, UnknownIdError

router = APIRouter(prefix="/items", tags=["items"])


def ItemId() -> Any:  # a fresh Path() per parameter: FastAPI binds a FieldInfo to one name
    return Path(pattern=ID_PATTERN, max_length=128)


def item_json(item: Item) -> dict[str, Any]:
    return item.model_dump(mode="json")


@router.get("", summary="List items (paged)")
def list_items(
    engine: EngineDep,
    _: ReadKey,
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(50, ge=1, le=500),
    category: str | None = Query(None, max_length=200, description="items whose category path contains this"),
) -> dict[str, Any]:
    frame = engine.store.items_frame()
    if category and len(frame):
        frame = frame[frame["category"].map(lambda c: category in (c or []))]
    page = frame.iloc[offset : offset + limit]
    rows = []
    for rec in page.to_dict(orient="records"):
        rows.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()})
    return {"total": len(frame), "offset": offset, "limit": limit, "items": _jsonable(rows)}


def _jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import json

    return json.loads(json.dumps(rows, default=str))


@router.get("/{item_id}", summary="One item")
def get_item(engine: EngineDep, _: ReadKey, item_id: str = ItemId()) -> dict[str, Any]:
    item = engine.store.get_item(item_id)
    if item is None:
        raise UnknownIdError("unknown item", value=item_id, location=Location(field="item_id"))
    return item_json(item)


@router.post("", summary="Upsert items in bulk", response_model=BatchResult)
def upsert_items(
    engine: EngineDep,
    _: IngestKey,
    rows: list[dict[str, Any]] = Body(..., description="array of Item objects"),
    partial: bool = Query(False, description="write the valid rows and list the rejected ones"),
) -> BatchResult:
    good, bad = validate_rows(rows, Item)
    decide(len(rows), good, bad, partial)
    result = engine.upsert_items([item for _, item in good])
    return batch_result(len(rows), len(good), result, bad)


@router.put("/{item_id}", summary="Create or replace one item", response_model=BatchResult)
def put_item(engine: EngineDep, _: IngestKey, item: Item, item_id: str = ItemId()) -> BatchResult:
    if item.id != item_id:
        raise DataError(
            "item id in the body differs from the path",
            value=item.id,
            expected=item_id,
            location=Location(field="id"),
        )
    result = engine.upsert_items([item])
    return BatchResult(received=1, accepted=1, inserted=result.inserted, updated=result.updated)


@router.delete("/{item_id}", summary="Delete one item")
def delete_item(engine: EngineDep, _: IngestKey, item_id: str = ItemId()) -> dict[str, Any]:
    if engine.store.get_item(item_id) is None:
        raise UnknownIdError("unknown item", value=item_id, location=Location(field="item_id"))
    result = engine.delete_items([item_id])
    return {"deleted": result.deleted or 1, "item_id": item_id}


@router.get("/{item_id}/description", summary="Generated product copy (assistant)")
def describe_item(
    engine: EngineDep,
    _: ReadKey,
    item_id: str = ItemId(),
    style: str | None = Query(None, pattern=r"^(short|bullet|seo)$"),
    language: str | None = Query(None, pattern=r"^(en|zh)$"),
) -> dict[str, Any]:
    """Copy generated only from the item's known attributes (each claim traced to its field)."""
    result = engine.describe(item_id, style, language)
    if hasattr(result, "to_dict"):
        return result.to_dict()
    return result if isinstance(result, dict) else {"item_id": item_id, "text": str(result)}


@router.get("/{item_id}/reviews/insights", summary="Review sentiment and themes (assistant)")
def review_insights(engine: EngineDep, _: ReadKey, item_id: str = ItemId()) -> dict[str, Any]:
    result = engine.review_insights(item_id)
    return result.to_dict() if hasattr(result, "to_dict") else dict(result)
