"""Administration tools: a customer's recent history (the dashboard's recommendation preview) and
the shop's search settings — synonyms, merchandising rules (pinned and hidden results) and BM25 field
weights — read and replaced through the API, saved for every worker and the next training."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query

from shopmind.api.deps import AdminKey, EngineDep
from shopmind.api.schemas import (
    FieldsIn,
    FieldsOut,
    RulesIn,
    RulesOut,
    SynonymsIn,
    SynonymsOut,
    UserHistoryOut,
)
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


@router.get(
    "/search/rules",
    summary="The merchandising rules in use: pinned and hidden results per query (admin)",
    response_model=RulesOut,
)
def get_rules(engine: EngineDep, _: AdminKey) -> RulesOut:
    return RulesOut.model_validate({"rules": engine.search_rules()})


@router.put(
    "/search/rules",
    summary="Replace the merchandising rules: checked against the catalogue, saved, used at once (admin)",
    response_model=RulesOut,
)
def put_rules(engine: EngineDep, _: AdminKey, body: RulesIn) -> RulesOut:
    applied = engine.set_search_rules(r.model_dump() for r in body.rules)
    return RulesOut.model_validate({"rules": engine.search_rules(), "applied": applied})


@router.get("/search/fields", summary="The BM25 field weights (admin)", response_model=FieldsOut)
def get_fields(engine: EngineDep, _: AdminKey) -> FieldsOut:
    return FieldsOut.model_validate(engine.search_fields())


@router.put(
    "/search/fields",
    summary="Replace the BM25 field weights: saved, used from the next query (admin)",
    response_model=FieldsOut,
)
def put_fields(engine: EngineDep, _: AdminKey, body: FieldsIn) -> FieldsOut:
    applied = engine.set_search_fields({str(k): w for k, w in body.weights.items()})
    return FieldsOut.model_validate({**engine.search_fields(), "applied": applied})


@router.delete(
    "/search/fields",
    summary="Remove the saved field weights: the configuration's [search] fields apply again (admin)",
    response_model=FieldsOut,
)
def delete_fields(engine: EngineDep, _: AdminKey) -> FieldsOut:
    applied = engine.set_search_fields(None)
    return FieldsOut.model_validate({**engine.search_fields(), "applied": applied})
