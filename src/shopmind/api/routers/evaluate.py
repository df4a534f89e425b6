"""Offline evaluation of the serving models on the shop's own data (``shopmind.evaluate.shop``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from shopmind.api.deps import AdminKey, EngineDep
from shopmind.api.evaluation_job import job_for
from shopmind.evaluate.shop import EvaluationInProgress

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post(
    "/evaluate",
    summary="Evaluate the serving models on the shop's own data (background); 409 while one runs",
    status_code=202,
)
def start_evaluation(engine: EngineDep, _: AdminKey) -> dict[str, Any]:
    """Recommendations: the serving recommender refitted on the events before a time cut vs
    popularity, scored on the later events; search: the serving mode vs BM25 on judged queries from
    the search log (or the catalogue). Poll ``GET /admin/evaluate``; the results are also written as
    reports (``GET /admin/reports``)."""
    try:
        return job_for(engine).start()
    except EvaluationInProgress as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc


@router.get("/evaluate", summary="State, progress and last result of the offline evaluation")
def evaluation(engine: EngineDep, _: AdminKey) -> dict[str, Any]:
    """``state`` (idle, running, succeeded, failed), ``step``/``fraction`` while running, ``error``
    when failed, and ``result`` — the last run of this process or the newest one on disk (null if
    none)."""
    return job_for(engine).status()
