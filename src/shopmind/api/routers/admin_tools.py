"""Administration tools: a customer's recent history (the dashboard's recommendation preview) and
the shop's search synonyms, read and replaced through the API."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query

from shopmind.api.deps import AdminKey, EngineDep
from shopmind.api.schemas import SynonymsIn, SynonymsOut, UserHistoryOut
from shopmind.data.schema import ID_PATTERN
from shopmind.search.analyzers import Synonyms

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get(
    "/users/{user_id}/history",
    summary="A customer's most recent events with item titles, newest first (admin)",
    response_model=UserHistoryOut,
)
def user_history(
    engine: EngineDep,
    _: AdminKey,
    user_id: str = Path(pattern=ID_PATTERN, max_length=128),
    limit: int = Query(20, ge=1, le=200),
) -> UserHistoryOut:
    return UserHistoryOut.model_validate({"user_id": user_id, "events": engine.user_history(user_id, limit)})


@router.get("/search/synonyms", summary="The search synonyms in use (admin)", response_model=SynonymsOut)
def get_synonyms(engine: EngineDep, _: AdminKey) -> SynonymsOut:
    return SynonymsOut.model_validate(engine.search_synonyms())


@router.put(
    "/search/synonyms",
    summary="Replace the search synonyms: saved, and used by the serving search at once (admin)",
    response_model=SynonymsOut,
)
def put_synonyms(engine: EngineDep, _: AdminKey, body: SynonymsIn) -> SynonymsOut:
    synonyms = Synonyms(groups=body.groups, one_way=body.one_way)
    applied = engine.set_search_synonyms(synonyms)
    return SynonymsOut(groups=body.groups, one_way=body.one_way, applied=applied)
