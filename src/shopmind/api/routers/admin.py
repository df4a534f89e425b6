"""Administration: training in the background, versions, rollback, data quality, reports, analytics."""

from __future__ import annotations

import json
from pathlib import Path as FsPath
from typing import Any

from fastapi import APIRouter, Path, Query

from shopmind.api.deps import AdminKey, EngineDep
from shopmind.api.schemas import TrainIn
from shopmind.config import TOP_QUERIES
from shopmind.engine import Engine
from shopmind.errors import Location, UnknownIdError
from shopmind.ingest.quality_cache import QUALITY_FILE, cached_quality_report

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/status", summary="Serving run, services and training state")
def status(engine: EngineDep, _: AdminKey) -> dict[str, Any]:
    return engine.status() | {"counts": engine.store.counts(), "set_aside": _set_aside(engine)}


def _set_aside(engine: Engine) -> dict[str, Any]:
    """Stored records a loaded service left out (logged when it happened), per service."""
    services = engine.bundle.services
    out: dict[str, Any] = {}
    if "recommend" in services:
        out["recommend"] = services["recommend"].set_aside_summary()
    if "search" in services:
        out["search"] = services["search"].set_aside_summary()
    if "forecast" in services:
        out["forecast"] = services["forecast"].set_aside_summary()
    return out


@router.post("/train", summary="Train now (background); the new run is swapped in when done", status_code=202)
def train(engine: EngineDep, _: AdminKey, body: TrainIn | None = None) -> dict[str, Any]:
    # unknown component names are refused (400) before a run is created (pipeline.selected)
    status = engine.start_training(body.components if body else None)
    return status.to_dict()


@router.get("/training", summary="State of the last or running training")
def training(engine: EngineDep, _: AdminKey) -> dict[str, Any]:
    return engine.training_status()


@router.get("/models", summary="Model versions (training runs), newest first")
def models(engine: EngineDep, _: AdminKey) -> dict[str, Any]:
    return {"serving": engine.bundle.run_id, "runs": json.loads(json.dumps(engine.versions(), default=str))}


@router.post("/models/{run_id}/activate", summary="Serve an earlier run")
def activate(
    engine: EngineDep, _: AdminKey, run_id: str = Path(pattern=r"^[A-Za-z0-9_.-]{1,128}$")
) -> dict[str, Any]:
    known = {str(r.get("id")) for r in engine.versions()}
    if run_id not in known:
        raise UnknownIdError("unknown run", value=run_id, location=Location(field="run_id"))
    bundle = engine.activate(run_id)
    return {"serving": bundle.run_id, "services": sorted(bundle.services)}


@router.post("/rollback", summary="Go back to the previous run")
def rollback(engine: EngineDep, _: AdminKey) -> dict[str, Any]:
    bundle = engine.rollback()
    return {"serving": bundle.run_id, "services": sorted(bundle.services)}


@router.get("/quality", summary="Data-quality report of the store (cached per data version)")
def quality(
    engine: EngineDep,
    _: AdminKey,
    refresh: bool = Query(False, description="recompute even when the cached report is current"),
) -> dict[str, Any]:
    """The report cached at ingest/training time while the store's data version is unchanged
    (``shopmind.ingest.quality_cache``), recomputed otherwise; ``computed_at``, ``fresh``, ``cached``."""
    report = cached_quality_report(engine.store, engine.settings.reports_dir, refresh=refresh)
    return dict(json.loads(json.dumps(report, default=str)))


def _reports_dir(engine: Engine) -> FsPath:
    return FsPath(engine.settings.reports_dir)


@router.get("/reports", summary="Evaluation reports (JSON files under settings.reports_dir)")
def reports(engine: EngineDep, _: AdminKey) -> dict[str, Any]:
    root = _reports_dir(engine)
    files = sorted(root.rglob("*.json")) if root.is_dir() else []
    out = []
    for f in files:
        rel = f.relative_to(root).as_posix()
        if rel == QUALITY_FILE:  # the cached data-quality report (/admin/quality), not an evaluation
            continue
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            out.append(
                {
                    "name": rel,
                    "dataset": data.get("dataset"),
                    "protocol": data.get("protocol"),
                    "rows": data.get("rows", []) if isinstance(data.get("rows"), list) else [],
                }
            )
    return {"reports": out}


@router.get("/reports/{name:path}", summary="One evaluation report")
def report(engine: EngineDep, _: AdminKey, name: str = Path(max_length=500)) -> Any:
    root = _reports_dir(engine).resolve()
    unknown = UnknownIdError("unknown report", value=name[:200], location=Location(field="name"))
    try:
        path = (root / name).resolve()
        # never serve anything outside the reports folder (../ in the name)
        if root not in path.parents or path.suffix != ".json" or not path.is_file():
            raise unknown
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # NUL byte, name too long, unreadable or not JSON
        raise unknown from exc


@router.get("/search-analytics", summary="Top queries, zero-result queries, click-through")
def search_analytics(
    engine: EngineDep, _: AdminKey, top: int = Query(TOP_QUERIES, ge=1, le=200)
) -> dict[str, Any]:
    """The same shape whether or not a search service is loaded (:meth:`Engine.search_analytics`)."""
    return dict(json.loads(json.dumps(engine.search_analytics(top), default=str)))


@router.get("/recommend-choice", summary="What the last training tried and chose for recommendations")
def recommend_choice(engine: EngineDep, _: AdminKey) -> dict[str, Any]:
    """The serving run's automatic choice (``shopmind.recommend.tuning``): every candidate with its
    configuration, hold-out nDCG@10 and fit time, the chosen recommender, and its gain over popularity
    and over the untuned default. ``tuning`` is null when the run was trained without it."""
    bundle = engine.bundle
    path = FsPath(bundle.run_path) / "recommend" / "manifest.json" if bundle.run_path else None
    if path is None or not path.is_file():
        return {"run": bundle.run_id, "default": None, "tuning": None}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"run": bundle.run_id, "default": None, "tuning": None}
    return {
        "run": bundle.run_id,
        "default": manifest.get("default"),
        "hybrid_weights": manifest.get("hybrid_weights"),
        "tuning": manifest.get("tuning"),
    }
