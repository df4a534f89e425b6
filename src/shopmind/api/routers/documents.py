"""Help-centre documents: bulk upsert (ingest), list (read)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query

from shopmind.api.deps import EngineDep, IngestKey, ReadKey
from shopmind.api.routers._batch import batch_result, decide, validate_rows
from shopmind.api.schemas import BatchResult
from shopmind.data.schema import Document

router = APIRouter(prefix="/documents", tags=["documents"])


@router.post("", summary="Upsert documents in bulk", response_model=BatchResult)
def upsert_documents(
    engine: EngineDep,
    _: IngestKey,
    rows: list[dict[str, Any]] = Body(..., description="array of Document objects"),
    partial: bool = Query(False, description="write the valid rows and list the rejected ones"),
) -> BatchResult:
    good, bad = validate_rows(rows, Document)
    decide(len(rows), good, bad, partial)
    result = engine.upsert_documents([d for _, d in good])
    return batch_result(len(rows), len(good), result, bad)


@router.get("", summary="List documents")
def list_documents(
    engine: EngineDep, _: ReadKey, language: str | None = Query(None, pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")
) -> dict[str, Any]:
    docs = engine.store.documents(language)
    return {"documents": [d.model_dump(mode="json") for d in docs]}
