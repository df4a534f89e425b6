"""Catalogue: read items (read scope), upsert in bulk / one at a time and delete (ingest scope)."""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Body, Path, Query
from pydantic import ValidationError

from shopmind.api.deps import EngineDep, IngestKey, ReadKey
from shopmind.api.responses import JSONBytes
from shopmind.api.routers._batch import batch_result, decide, validate_rows
from shopmind.api.schemas import BatchResult
from shopmind.data.schema import ID_PATTERN, Item
from shopmind.errors import DataError, Location, UnknownIdError

router = APIRouter(prefix="/items", tags=["items"])
log = logging.getLogger(__name__)


def ItemId() -> Any:  # a fresh Path() per parameter: FastAPI binds a FieldInfo to one name
    return Path(pattern=ID_PATTERN, max_length=128)


def item_json(item: Item) -> dict[str, Any]:
    return item.model_dump(mode="json")


@router.get("", summary="List items (keyset pages in id order)")
def list_items(
    engine: EngineDep,
    _: ReadKey,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(
        None, max_length=400, pattern=r"^[A-Za-z0-9_-]+$", description="`next_cursor` of the previous page"
    ),
    offset: int = Query(0, ge=0, le=10_000, description="rows to skip (prefer `cursor`: it costs nothing)"),
    category: str | None = Query(None, max_length=200, description="items whose category path contains this"),
) -> JSONBytes:
    """One page read from the store by primary-key range (``id > cursor``), never the whole catalogue.

    ``next_cursor`` is null on the last page. ``total`` (the catalogue size, one ``COUNT``) comes with
    the first page of an unfiltered listing only.
    """
    after = _decode_cursor(cursor) if cursor else None
    rows = engine.store.items_page(after=after, limit=limit + 1, category=category, offset=offset)
    more = len(rows) > limit
    rows = rows[:limit]
    out: dict[str, Any] = {
        "limit": limit,
        "offset": offset,
        "next_cursor": _encode_cursor(rows[-1]["id"]) if more and rows else None,
    }
    if after is None and category is None and offset == 0:
        out["total"] = engine.store.count_items()
    out["items"] = [_row_json(r) for r in rows]
    return JSONBytes(out)


def _encode_cursor(item_id: str) -> str:
    return base64.urlsafe_b64encode(item_id.encode("utf-8")).rstrip(b"=").decode("ascii")


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(
            "invalid cursor",
            value=cursor[:40],
            expected="next_cursor of a previous page",
            location=Location(field="cursor"),
        ) from exc


def _row_json(row: dict[str, Any]) -> dict[str, Any]:
    """A stored item row as JSON data; a row stored before today's limits whose attributes cannot be
    serialised is listed without them (and logged) rather than failing the page."""
    row = {
        str(k): (v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v)
        for k, v in row.items()
    }
    try:
        orjson.dumps(row)
    except (orjson.JSONEncodeError, TypeError) as exc:
        log.warning("item %r listed without its attributes: %s", row.get("id"), exc)
        row["attributes"] = {}
        row["attributes_error"] = "the stored attributes could not be serialised; re-send the item"
    return row


@router.get("/{item_id}", summary="One item")
def get_item(engine: EngineDep, _: ReadKey, item_id: str = ItemId()) -> dict[str, Any]:
    try:
        item = engine.store.get_item(item_id)
    except ValidationError as exc:  # stored before today's input limits
        raise DataError(
            "the stored item does not pass validation any more; replace it with PUT /items/{id}",
            value=item_id,
            expected=str(exc.errors(include_input=False)[0].get("msg", "a valid item")),
            location=Location(field="item_id"),
        ) from exc
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
    return engine.describe(item_id, style, language).to_dict()


@router.get("/{item_id}/reviews/insights", summary="Review sentiment and themes (assistant)")
def review_insights(engine: EngineDep, _: ReadKey, item_id: str = ItemId()) -> dict[str, Any]:
    return engine.review_insights(item_id)
