"""Behaviour events: idempotent batch ingest, folded into the loaded recommender in real time."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Request

from shopmind.api.deps import EngineDep, IngestKey
from shopmind.api.routers._batch import BatchRejected, batch_result, decide, validate_rows
from shopmind.api.schemas import BatchResult
from shopmind.data.schema import Event

router = APIRouter(prefix="/events", tags=["events"])


@router.post("", summary="Ingest a batch of events (idempotent on event id)", response_model=BatchResult)
def add_events(
    request: Request,
    engine: EngineDep,
    _: IngestKey,
    rows: list[dict[str, Any]] = Body(..., description="array of Event objects"),
    partial: bool = Query(False, description="write the valid rows and list the rejected ones"),
) -> BatchResult:
    """Validates every event (fields, and that ``item_id`` names a known item); see ``partial``.

    Events whose id is already stored (or repeated within the batch) are counted as duplicates and
    not written again, so a client may safely retry a batch. New events are passed to the
    recommender's real-time fold-in (``Engine.observe``).
    """
    metrics = request.app.state.metrics
    good, bad = validate_rows(rows, Event)
    item_ids = {e.item_id for _, e in good if e.item_id}
    if item_ids:
        known = {it.id for it in engine.store.get_items(sorted(item_ids))}
        unknown = item_ids - known
        if unknown:
            keep = []
            for i, e in good:
                if e.item_id in unknown:
                    bad.append({"index": i, "field": "item_id", "message": f"unknown item id {e.item_id!r}"})
                else:
                    keep.append((i, e))
            good = keep
            bad.sort(key=lambda r: r["index"])
    try:
        decide(len(rows), good, bad, partial)
    except BatchRejected:
        metrics.events.labels(outcome="rejected").inc(len(rows))
        raise
    result, _new = engine.add_events([e for _, e in good])
    metrics.events.labels(outcome="inserted").inc(result.inserted)
    metrics.events.labels(outcome="duplicate").inc(len(good) - result.inserted)
    metrics.events.labels(outcome="rejected").inc(len(bad))
    return batch_result(len(rows), len(good), result, bad, duplicates=len(good) - result.inserted)
