"""Scheduled retraining (``training.schedule``): one background training per due time, on one node.

``shopmind serve`` starts a :class:`TrainingScheduler` in every worker process of every API node
(:meth:`shopmind.engine.Engine.start_schedule`). At each due time of the cron schedule
(:class:`shopmind.cron.CronSchedule`) each of them tries to *claim* that due time in the store, and only
the one that succeeds starts a training — the same background training as ``POST /admin/train``
(``Engine.start_training``). The claim is one row of the store's meta table (key
:data:`CLAIM_KEY`) holding the last claimed due time, written by compare-and-set
(``Store.swap_meta``): of several nodes claiming the same due time exactly one changes the row, the
others read a claim for that due time and do nothing.

A claim that was never followed by a training (its node died between claiming and starting) is taken
over by another node once it is older than ``artifacts.lease_s``. A due time that finds a training
already running — a ``running`` record in the store with a live heartbeat (``pipeline.abandoned_reason``:
heartbeat within ``artifacts.lease_s``, process alive) — is *skipped* (recorded as such): trainings
never overlap.

**Missed runs.** A node that starts (:meth:`TrainingScheduler.catch_up`) after one or more due times
passed unclaimed — every node was down — runs one training at once, but only when the newest successful
training of any kind (scheduled, ``POST /admin/train``, ``shopmind train``) started more than one
period of the schedule ago (``CronSchedule.period_at``) or there is none: a shop retrained by hand
yesterday is not retrained again at start-up by a daily schedule. Several missed due times give one run.

The claim row also records the outcome (``started`` with its run id, then ``succeeded`` / ``failed`` /
``skipped``); :meth:`TrainingScheduler.status` reports it with the schedule and the next due time, and
resolves a ``started`` claim through the run's training record, so every worker reports the same
outcome even when the node that trained is gone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from shopmind.config import Settings
from shopmind.cron import CronSchedule
from shopmind.pipeline import abandoned_reason
from shopmind.store.base import Store

log = logging.getLogger(__name__)

CLAIM_KEY = "training_schedule"
"""Meta-table key of the last claimed due time and its outcome."""
MAX_SLEEP_S = 60.0
"""The scheduler thread re-reads the clock at least this often (a changed system clock, a suspend)."""
CLAIM_TRIES = 5
"""Compare-and-set attempts before a claim or an outcome update gives up (other writers in between)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(instant: datetime | None) -> str | None:
    return instant.astimezone(UTC).isoformat() if instant is not None else None


def _parse_time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class TrainingScheduler:
    """Claims due times of ``cron`` in ``store`` and calls ``start()`` for each one it wins.

    ``start`` starts a background training and returns its run id (raising when it cannot start,
    e.g. ``TrainingInProgress``); ``clock`` is the current time (tests pass a fixed one).
    """

    def __init__(
        self,
        cron: CronSchedule,
        store: Store,
        settings: Settings,
        start: Callable[[], str],
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.cron = cron
        self.store = store
        self.settings = settings
        self.start_training = start
        self.clock = clock
        self.node = {"host": socket.gethostname(), "pid": os.getpid()}
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ the claim row
    def _read(self) -> tuple[str | None, dict[str, Any] | None]:
        raw = self.store.meta_value(CLAIM_KEY)
        if raw is None:
            return None, None
        try:
            value = json.loads(raw)
        except ValueError:
            return raw, {}  # unreadable: any claim may replace it
        return raw, value if isinstance(value, dict) else {}

    def claim(self, due: datetime, *, catch_up: bool = False) -> bool:
        """Claim ``due`` for this node; False when another node holds it (or a later due time)."""
        for _ in range(CLAIM_TRIES):
            raw, last = self._read()
            held = _parse_time((last or {}).get("due"))
            if held is not None and held > due:
                return False
            if held is not None and held == due and not self._lapsed(last or {}):
                return False
            value = {
                "due": _iso(due),
                "state": "claimed",
                "node": self.node,
                "claimed_at": _iso(self.clock()),
                "catch_up": catch_up,
                "run_id": None,
                "error": None,
                "finished_at": None,
            }
            if self.store.swap_meta(CLAIM_KEY, raw, json.dumps(value)):
                return True
        return False

    def _lapsed(self, claim: dict[str, Any]) -> bool:
        """A claim never followed by a training within ``artifacts.lease_s`` (its node died)."""
        if claim.get("state") != "claimed":
            return False
        claimed_at = _parse_time(claim.get("claimed_at"))
        lease = timedelta(seconds=self.settings.artifacts.lease_s)
        return claimed_at is None or self.clock() - claimed_at > lease

    def _record(self, due: datetime, **fields: Any) -> None:
        """Update the outcome of this node's claim of ``due`` (unless a later claim replaced it)."""
        for _ in range(CLAIM_TRIES):
            raw, last = self._read()
            if raw is None or last is None or _parse_time(last.get("due")) != due:
                return
            if last.get("node") != self.node:
                return
            if self.store.swap_meta(CLAIM_KEY, raw, json.dumps({**last, **fields})):
                return
        log.warning("could not record the outcome of the scheduled training due %s", _iso(due))

    # ------------------------------------------------------------------ running a due time
    def running_elsewhere(self) -> str | None:
        """The id of a training running now with a live heartbeat (any node), else None."""
        for record in self.store.training_runs(state="running", limit=20):
            if abandoned_reason(record, self.settings) is None:
                return record.id
        return None

    def fire(self, due: datetime, *, catch_up: bool = False) -> str | None:
        """Claim ``due`` and, if this node won it, start the training; returns its run id.

        None when another node holds the due time, or when it is skipped (a training is running) or the
        training could not start (both recorded in the claim)."""
        try:
            if not self.claim(due, catch_up=catch_up):
                log.info("scheduled training due %s: claimed by another node", _iso(due))
                return None
        except Exception:
            log.exception("scheduled training due %s: the claim could not be written", _iso(due))
            return None
        try:
            busy = self.running_elsewhere()
        except Exception:
            log.exception("scheduled training due %s: training records unavailable", _iso(due))
            busy = None
        if busy is not None:
            log.warning("scheduled training due %s skipped: training %s is running", _iso(due), busy)
            self._record(
                due, state="skipped", error=f"training {busy} was running", finished_at=_iso(self.clock())
            )
            return None
        try:
            run_id = self.start_training()
        except Exception as exc:
            log.error("scheduled training due %s could not start: %s", _iso(due), exc)
            state = "skipped" if type(exc).__name__ == "TrainingInProgress" else "failed"
            self._record(
                due, state=state, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=_iso(self.clock())
            )
            return None
        log.info("scheduled training due %s started: run %s", _iso(due), run_id)
        self._record(due, state="started", run_id=run_id)
        return run_id

    def finished(self, run_id: str, state: str, error: str | None) -> None:
        """Record the end of a training this node started for a due time (``Engine.on_training_done``)."""
        _, last = self._read()
        due = _parse_time((last or {}).get("due"))
        if due is None or (last or {}).get("run_id") != run_id:
            return  # not a scheduled training, or a later claim replaced it
        self._record(due, state=state, error=error, finished_at=_iso(self.clock()))

    def catch_up(self) -> str | None:
        """At start-up: one training for due times missed while every node was down (module docstring)."""
        now = self.clock()
        due = self.cron.last_at_or_before(now)
        _, last = self._read()
        held = _parse_time((last or {}).get("due"))
        if held is not None and held >= due:
            return None  # the latest due time was handled (or is being handled) by some node
        newest = self.store.training_runs(state="succeeded", limit=1)
        period = self.cron.period_at(now)
        if newest and now - newest[0].started_at <= period:
            log.info(
                "missed scheduled training due %s not run: the last training (%s) is younger than one "
                "period (%s)",
                _iso(due),
                newest[0].id,
                period,
            )
            return None
        log.info("scheduled training due %s was missed while down: training now", _iso(due))
        return self.fire(due, catch_up=True)

    def tick(self) -> str | None:
        """Fire the latest due time at or before now if no node has claimed it yet."""
        return self.fire(self.cron.last_at_or_before(self.clock()))

    # ------------------------------------------------------------------ thread
    def start(self) -> None:
        """Catch up once, then fire every due time from a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        stop = self._stop = threading.Event()

        def loop() -> None:
            try:
                self.catch_up()
            except Exception:
                log.exception("scheduled training: start-up catch-up failed")
            upcoming = self.cron.next_after(self.clock())
            while not stop.is_set():
                now = self.clock()
                if now >= upcoming:
                    try:
                        self.tick()
                    except Exception:
                        log.exception("scheduled training failed to run")
                    upcoming = self.cron.next_after(now)
                    continue
                stop.wait(min(MAX_SLEEP_S, (upcoming - now).total_seconds()))

        self._thread = threading.Thread(target=loop, name="shopmind-train-schedule", daemon=True)
        self._thread.start()
        log.info(
            "scheduled training: %s (%s), next at %s",
            self.cron.expression,
            self.cron.timezone,
            _iso(self.cron.next_after(self.clock())),
        )

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._stop, self._thread = None, None

    # ------------------------------------------------------------------ status
    def status(self) -> dict[str, Any]:
        """The schedule, its next due time and the last scheduled training's outcome (any node)."""
        now = self.clock()
        try:
            _, last = self._read()
        except Exception as exc:
            log.warning("scheduled training state unavailable: %s", exc)
            last = None
        outcome = dict(last) if last else None
        if outcome is not None and outcome.get("state") == "started" and outcome.get("run_id"):
            outcome["state"] = self._run_state(str(outcome["run_id"])) or "started"
        return {
            **self.cron.to_dict(),
            "next_run_at": _iso(self.cron.next_after(now)),
            "period_s": self.cron.period_at(now).total_seconds(),
            "last": outcome,
        }

    def _run_state(self, run_id: str) -> str | None:
        try:
            for record in self.store.training_runs(limit=20):
                if record.id == run_id:
                    if record.state == "running" and abandoned_reason(record, self.settings) is not None:
                        return "failed"
                    return record.state
        except Exception:
            return None
        return None
