"""Recommendations with a reason per item: for a user, similar items, bought together, trending."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query

from shopmind.api.deps import EngineDep, ReadKey, ranked
from shopmind.api.responses import JSONBytes
from shopmind.api.schemas import RankedListOut
from shopmind.config import RECOMMEND_K
from shopmind.data.schema import ID_PATTERN
from shopmind.engine import Engine

router = APIRouter(prefix="/recommendations", tags=["recommendations"])


def Id() -> Any:  # a fresh Path() per parameter: FastAPI binds a FieldInfo to one name
    return Path(pattern=ID_PATTERN, max_length=128)


K = Query(RECOMMEND_K, ge=1, le=100)
DETAILS = Query(False, description="attach an item summary (title, price, ...) to every result")


def with_details(engine: Engine, data: dict[str, Any], details: bool) -> dict[str, Any]:
    if not details or not data.get("items"):
        return data
    ids = [r["item_id"] for r in data["items"]]
    found = {it.id: it for it in engine.store.get_items(ids)}
    for r in data["items"]:
        it = found.get(r["item_id"])
        if it is not None:
            r["item"] = {
                "id": it.id,
                "title": it.title,
                "category": it.category,
                "brand": it.brand,
                "price": it.price,
                "currency": it.currency,
                "stock": it.stock,
                "image_url": it.image_url,
            }
    return data


@router.get(
    "/users/{user_id}",
    summary="'For you': personal recommendations (a key bound to the customer, a customer token, or ingest)",
    response_model=RankedListOut,
)
async def for_user(
    engine: EngineDep,
    principal: ReadKey,
    user_id: str = Id(),
    k: int = K,
    category: str | None = Query(None, max_length=200, description="category path prefix 'A > B'"),
    min_price: float | None = Query(None, ge=0, le=1e9),
    max_price: float | None = Query(None, ge=0, le=1e9),
    in_stock: bool = Query(True, description="only items in stock"),
    exclude: list[str] = Query([], max_length=100, description="item ids never to return"),
    session: list[str] = Query([], max_length=50, description="items seen in this session (cold users)"),
    details: bool = DETAILS,
) -> JSONBytes:
    # an unbound read key never gets results shaped by a named customer's history (403)
    user_id = principal.personal(user_id) or user_id
    filters: dict[str, Any] = {
        "category": category,
        "min_price": min_price,
        "max_price": max_price,
        "in_stock": in_stock,
        "exclude_ids": tuple(exclude) or None,
    }
    filters = {key: v for key, v in filters.items() if v is not None}
    bundle = engine.bundle
    result = engine.recommend(user_id, k, filters=filters, session_items=session)
    return JSONBytes(with_details(engine, ranked(result, bundle.run_id), details))


@router.get("/items/{item_id}/similar", summary="Similar items", response_model=RankedListOut)
async def similar(
    engine: EngineDep, _: ReadKey, item_id: str = Id(), k: int = K, details: bool = DETAILS
) -> JSONBytes:
    run_id = engine.bundle.run_id
    return JSONBytes(with_details(engine, ranked(engine.similar_items(item_id, k), run_id), details))


@router.get(
    "/items/{item_id}/bought-together", summary="Frequently bought together", response_model=RankedListOut
)
async def bought_together(
    engine: EngineDep, _: ReadKey, item_id: str = Id(), k: int = K, details: bool = DETAILS
) -> JSONBytes:
    run_id = engine.bundle.run_id
    return JSONBytes(with_details(engine, ranked(engine.bought_together(item_id, k), run_id), details))


@router.get("/trending", summary="Trending items", response_model=RankedListOut)
async def trending(
    engine: EngineDep,
    _: ReadKey,
    k: int = K,
    category: str | None = Query(None, max_length=200),
    details: bool = DETAILS,
) -> JSONBytes:
    run_id = engine.bundle.run_id
    return JSONBytes(with_details(engine, ranked(engine.trending(k, category), run_id), details))
