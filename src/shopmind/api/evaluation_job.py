"""The background job behind ``/admin/evaluate``: one offline evaluation of the serving models
(:func:`shopmind.evaluate.shop.evaluate_shop`) at a time per process, in a thread."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shopmind.engine import Engine
from shopmind.errors import ConfigError, ShopmindError
from shopmind.evaluate import shop as shop_eval
from shopmind.evaluate.shop import EvaluationInProgress

log = logging.getLogger(__name__)


class EvaluationJob:
    """One offline evaluation at a time per process, in a background thread (``/admin/evaluate``).

    :meth:`status` reports ``state`` (``idle``, ``running``, ``succeeded``, ``failed``), the current
    step and fraction done while running, and the last result (from this process, else the newest run
    on disk).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = weakref.ref(engine)
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"state": "idle"}
        self._last: dict[str, Any] | None = None

    def start(self) -> dict[str, Any]:
        """Start an evaluation; :class:`EvaluationInProgress` while one is running."""
        engine = self._engine()
        if engine is None:
            raise ConfigError("the engine is closed")
        now = datetime.now(UTC)
        run_id = now.strftime("%Y%m%dT%H%M%S.%fZ")
        with self._lock:
            if self._state["state"] == "running":
                raise EvaluationInProgress(
                    "an evaluation is already running", value=self._state.get("id"), expected="wait for it"
                )
            self._state = {
                "state": "running",
                "id": run_id,
                "started_at": now.isoformat(timespec="seconds"),
                "step": "start",
                "params": {},
                "fraction": 0.0,
            }
            snapshot = dict(self._state)
        threading.Thread(
            target=self._run, args=(engine, run_id), name="shopmind-evaluate", daemon=True
        ).start()
        return snapshot

    def _progress(self, step: str, fraction: float, params: Mapping[str, Any]) -> None:
        log.info("evaluation: %s %s", step, dict(params))
        with self._lock:
            self._state.update(
                step=step, fraction=round(float(fraction), 3), params=shop_eval.json_safe(dict(params))
            )

    def _run(self, engine: Engine, run_id: str) -> None:
        started = time.perf_counter()
        try:
            bundle = engine.bundle
            settings = engine.settings
            limits = shop_eval.ShopEvalLimits.from_settings(settings)
            result = shop_eval.evaluate_shop(engine.store, bundle.services, settings, limits, self._progress)
            result = {"id": run_id, "serving_run": bundle.run_id, **result}
            self._progress("write", 0.97, {})
            result["reports"] = shop_eval.write_reports(
                result, Path(settings.reports_dir), run_id, settings.evaluation.keep_runs
            )
            result["seconds"] = round(time.perf_counter() - started, 3)
            result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        except Exception as exc:  # recorded for GET /admin/evaluate; the thread must not die silently
            message = str(exc) if isinstance(exc, ShopmindError) else f"{type(exc).__name__}: {exc}"
            log.exception("evaluation %s failed", run_id)
            with self._lock:
                self._state = {
                    **self._state,
                    "state": "failed",
                    "error": message[:500],
                    "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            return
        log.info("evaluation %s done in %.1fs", run_id, result["seconds"])
        with self._lock:
            self._last = result
            self._state = {
                "state": "succeeded",
                "id": run_id,
                "started_at": self._state.get("started_at"),
                "finished_at": result["finished_at"],
                "fraction": 1.0,
                "seconds": result["seconds"],
            }

    def status(self) -> dict[str, Any]:
        """State, progress and the last result (``result``: None before any evaluation)."""
        with self._lock:
            state = dict(self._state)
            last = self._last
        if last is None:
            engine = self._engine()
            if engine is not None:
                last = shop_eval.latest_result(Path(engine.settings.reports_dir))
        return {**state, "result": last}

    @property
    def running(self) -> bool:
        with self._lock:
            return bool(self._state["state"] == "running")


_JOBS: weakref.WeakKeyDictionary[Engine, EvaluationJob] = weakref.WeakKeyDictionary()
_JOBS_LOCK = threading.Lock()


def job_for(engine: Engine) -> EvaluationJob:
    """The evaluation job of ``engine`` (one per engine, created on first use)."""
    with _JOBS_LOCK:
        job = _JOBS.get(engine)
        if job is None:
            job = _JOBS[engine] = EvaluationJob(engine)
        return job
