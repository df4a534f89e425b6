"""Scheduled retraining (``training.schedule``): cron parsing, due times, one node per due time, missed
runs at start-up, the outcome in ``GET /admin/training`` / ``/admin/status``, and config errors."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apishop import auth, seeded_engine
from fastapi.testclient import TestClient

import shopmind.pipeline
from shopmind.api import create_app
from shopmind.api.auth import ensure_demo_keys
from shopmind.config import Settings, load_settings
from shopmind.cron import CronSchedule
from shopmind.engine import Engine
from shopmind.errors import ConfigError
from shopmind.scheduler import CLAIM_KEY, TrainingScheduler
from shopmind.store.artifacts import process_identity
from shopmind.store.base import TrainingRunRecord
from shopmind.store.sql import SqlStore

DUE = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # a Monday, 03:00 UTC


# ---------------------------------------------------------------------------- cron
def test_next_and_last_due_times_are_known_answers() -> None:
    daily = CronSchedule("0 3 * * *")
    assert daily.next_after(DUE) == DUE + timedelta(days=1)  # strictly after
    assert daily.next_after(DUE - timedelta(seconds=1)) == DUE
    assert daily.last_at_or_before(DUE) == DUE  # at or before
    assert daily.last_at_or_before(DUE + timedelta(hours=20)) == DUE
    assert daily.period_at(DUE + timedelta(hours=5)) == timedelta(days=1)
    weekdays = CronSchedule("30 2 * * 1-5")
    saturday = datetime(2026, 3, 7, 12, tzinfo=UTC)
    assert weekdays.last_at_or_before(saturday) == datetime(2026, 3, 6, 2, 30, tzinfo=UTC)
    assert weekdays.next_after(saturday) == datetime(2026, 3, 9, 2, 30, tzinfo=UTC)
    assert weekdays.period_at(saturday) == timedelta(days=3)  # Friday → Monday
    assert CronSchedule(" @Daily ").expression == "@daily"
    assert CronSchedule("@hourly").next_after(DUE + timedelta(minutes=1)) == DUE + timedelta(hours=1)


def test_fields_are_read_in_the_schedule_time_zone_across_dst() -> None:
    berlin = CronSchedule("0 3 * * *", "Europe/Berlin")
    # 03:00 in Berlin is 02:00 UTC in winter and 01:00 UTC in summer (clocks go forward on 29 March 2026)
    assert berlin.next_after(datetime(2026, 3, 27, 12, tzinfo=UTC)) == datetime(2026, 3, 28, 2, tzinfo=UTC)
    assert berlin.next_after(datetime(2026, 3, 28, 12, tzinfo=UTC)) == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert berlin.period_at(datetime(2026, 3, 28, 12, tzinfo=UTC)) == timedelta(hours=23)


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("61 3 * * *", "out of range"),
        ("0 3 * *", "has 4"),
        ("0 0 3 * * *", "has 6"),  # seconds are refused
        ("@often", "unknown cron alias"),
        ("every day", "has 2"),
        ("", "empty"),
    ],
)
def test_a_bad_schedule_is_a_config_error_naming_the_setting(expression: str, why: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env={"SHOPMIND_TRAINING__SCHEDULE": expression})
    text = str(err.value)
    assert "setting 'training.schedule'" in text and why in text and "minute hour" in text, text


def test_an_unknown_time_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"training\.schedule_timezone.*unknown time zone"):
        load_settings(
            env={"SHOPMIND_TRAINING__SCHEDULE": "@daily", "SHOPMIND_TRAINING__SCHEDULE_TIMEZONE": "Mars/Base"}
        )
    ok = load_settings(
        env={
            "SHOPMIND_TRAINING__SCHEDULE": "0 3 * * *",
            "SHOPMIND_TRAINING__SCHEDULE_TIMEZONE": "Asia/Shanghai",
        }
    )
    assert ok.training.cron() == CronSchedule("0 3 * * *", "Asia/Shanghai")
    assert Settings().training.cron() is None  # not scheduled by default


def test_serve_refuses_a_bad_schedule_before_starting(tmp_path: Path) -> None:
    """``shopmind serve`` with a bad cron line: one error line naming the setting, exit 2, nothing
    served (the port given is never bound: settings are read first)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SHOPMIND_TRAINING__SCHEDULE": "0 25 * * *", "COLUMNS": "400"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from shopmind.cli import main; main()",
            "--store",
            f"sqlite:///{tmp_path / 's.db'}",
            "serve",
            "--port",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "setting 'training.schedule'" in done.stderr and "out of range" in done.stderr, done.stderr


# ---------------------------------------------------------------------------- claims
def _settings(tmp_path: Path, lease_s: float = 300.0) -> Settings:
    return Settings(
        store_url=f"sqlite:///{tmp_path / 'shop.db'}",
        artifacts_dir=tmp_path / "artifacts",
        artifacts={"lease_s": lease_s},
    )


def test_exactly_one_of_many_claims_of_a_due_time_wins(tmp_path: Path) -> None:
    """Eight schedulers, each with its own store connection (as separate nodes), claim one due time at
    once: compare-and-set on the store lets exactly one through, and none of them a second time."""
    settings = _settings(tmp_path)
    stores = [SqlStore(settings.store_url) for _ in range(8)]
    schedulers = [
        TrainingScheduler(CronSchedule("0 3 * * *"), s, settings, lambda: "run", clock=lambda: DUE)
        for s in stores
    ]
    for i, sch in enumerate(schedulers):
        sch.node = {"host": f"node-{i}", "pid": i}
    gate = threading.Barrier(len(schedulers))
    won: list[bool] = [False] * len(schedulers)

    def claim(i: int) -> None:
        gate.wait()
        won[i] = schedulers[i].claim(DUE)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(schedulers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(won) == 1, won
    stored = json.loads(stores[0].meta_value(CLAIM_KEY) or "{}")
    assert stored["node"] == schedulers[won.index(True)].node and stored["state"] == "claimed"
    assert not any(sch.claim(DUE) for sch in schedulers)  # the same due time again: nobody
    assert not schedulers[0].claim(DUE - timedelta(days=1))  # an older one: nobody
    assert schedulers[1].claim(DUE + timedelta(days=1))  # the next one: free
    for s in stores:
        s.close()


def test_a_claim_never_followed_by_a_training_lapses_after_the_lease(tmp_path: Path) -> None:
    settings = _settings(tmp_path, lease_s=60)
    store = SqlStore(settings.store_url)
    now = [DUE]
    a = TrainingScheduler(CronSchedule("0 3 * * *"), store, settings, lambda: "run", clock=lambda: now[0])
    b = TrainingScheduler(CronSchedule("0 3 * * *"), store, settings, lambda: "run", clock=lambda: now[0])
    b.node = {"host": "other", "pid": 1}
    assert a.claim(DUE)  # ... and node a dies before starting the training
    now[0] = DUE + timedelta(seconds=30)
    assert not b.claim(DUE)  # within the lease: still a's
    now[0] = DUE + timedelta(seconds=61)
    assert b.claim(DUE)  # lapsed: b takes the due time over
    assert json.loads(store.meta_value(CLAIM_KEY) or "{}")["node"] == b.node
    store.close()


def test_a_due_time_that_finds_a_training_running_is_skipped(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = SqlStore(settings.store_url)
    started: list[str] = []
    sch = TrainingScheduler(
        CronSchedule("0 3 * * *"), store, settings, lambda: started.append("x") or "run", clock=lambda: DUE
    )
    now = datetime.now(UTC)
    store.add_training_run(  # a live training (this process, fresh heartbeat) started by hand
        TrainingRunRecord(
            id="manual-1", state="running", started_at=now, heartbeat_at=now, owner=process_identity()
        )
    )
    assert sch.fire(DUE) is None and started == []
    last = sch.status()["last"]
    assert last["state"] == "skipped" and "manual-1" in last["error"]
    # a record whose heartbeat lapsed (its node died) does not block the next due time
    store.update_training_run(
        "manual-1", heartbeat_at=now - timedelta(hours=1), owner={"host": "gone", "pid": 1}
    )
    assert sch.fire(DUE + timedelta(days=1)) == "run" and started == ["x"]
    store.close()


def test_a_training_that_cannot_start_is_recorded_as_failed(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = SqlStore(settings.store_url)

    def refuse() -> str:
        raise ConfigError("not enough free disk space to train", value="1 MB free")

    sch = TrainingScheduler(CronSchedule("0 3 * * *"), store, settings, refuse, clock=lambda: DUE)
    assert sch.tick() is None
    last = sch.status()["last"]
    assert (last["state"], last["due"]) == ("failed", DUE.isoformat()) and "free disk" in last["error"]
    store.close()


# ---------------------------------------------------------------------------- missed runs
def _succeeded(store: SqlStore, run_id: str, started: datetime) -> None:
    store.add_training_run(
        TrainingRunRecord(id=run_id, state="succeeded", started_at=started, heartbeat_at=started, owner={})
    )


def test_missed_due_times_run_once_at_start_up_only_when_the_last_run_is_a_period_old(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = SqlStore(settings.store_url)
    started: list[str] = []
    now = DUE + timedelta(hours=7)  # 10:00; the 03:00 training was missed (every node was down)

    def scheduler() -> TrainingScheduler:
        return TrainingScheduler(
            CronSchedule("0 3 * * *"),
            store,
            settings,
            lambda: started.append("x") or "run",
            clock=lambda: now,
        )

    # retrained by hand 19 hours ago (yesterday 15:00): younger than one period (a day), so no catch-up
    _succeeded(store, "manual", now - timedelta(hours=19))
    assert scheduler().catch_up() is None and started == []
    assert store.meta_value(CLAIM_KEY) is None
    # the last training is two days old: one training now, for the latest missed due time
    store.update_training_run("manual", state="failed")
    _succeeded(store, "old", now - timedelta(days=2))
    assert scheduler().catch_up() == "run" and started == ["x"]
    claim = json.loads(store.meta_value(CLAIM_KEY) or "{}")
    assert claim["due"] == DUE.isoformat() and claim["catch_up"] is True and claim["state"] == "started"
    # a second node starting a moment later finds the due time handled
    assert scheduler().catch_up() is None and started == ["x"]
    store.close()


def test_a_never_trained_shop_is_trained_at_start_up(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = SqlStore(settings.store_url)
    sch = TrainingScheduler(CronSchedule("@daily"), store, settings, lambda: "first", clock=lambda: DUE)
    assert sch.catch_up() == "first"
    store.close()


# ---------------------------------------------------------------------------- engines, API
def _scheduled_engine(root: Path, clock: Any) -> Engine:
    base = seeded_engine(root)
    base.close()
    training = base.settings.training.model_copy(update={"schedule": "0 3 * * *"})
    engine = Engine.open(base.settings.model_copy(update={"training": training}))
    assert engine.scheduler is not None
    engine.scheduler.clock = clock
    return engine


def _forecast_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scheduled trainings train every component: the tests keep the quick one (forecast) only."""
    every = shopmind.pipeline.selected
    monkeypatch.setattr(
        shopmind.pipeline, "selected", lambda names=None: [c for c in every(names) if c.name == "forecast"]
    )


def test_only_one_of_two_engines_on_one_store_trains_a_due_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two API nodes (two engines on one store and artifact folder) reach the same due time together:
    one starts a background training, the other does nothing; both report the outcome."""
    _forecast_only(monkeypatch)
    clock = lambda: DUE + timedelta(seconds=5)  # noqa: E731
    a = _scheduled_engine(tmp_path, clock)
    b = Engine.open(a.settings)
    assert b.scheduler is not None
    b.scheduler.clock = clock
    b.scheduler.node = {"host": "node-b", "pid": 2}  # another node (same process here)
    try:
        gate = threading.Barrier(2)
        runs: dict[str, str | None] = {}

        def tick(name: str, engine: Engine) -> None:
            gate.wait()
            assert engine.scheduler is not None
            runs[name] = engine.scheduler.tick()

        threads = [threading.Thread(target=tick, args=(n, e)) for n, e in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        started = [run for run in runs.values() if run is not None]
        assert len(started) == 1, runs
        trainer = a if runs["a"] else b
        deadline = time.monotonic() + 120
        while trainer.training_running and time.monotonic() < deadline:
            time.sleep(0.1)
        assert trainer.training_status()["state"] == "succeeded"
        for engine in (a, b):  # every node reports the same outcome
            schedule = engine.training_status()["schedule"]
            assert schedule["last"]["state"] == "succeeded" and schedule["last"]["run_id"] == started[0]
            assert schedule["next_run_at"] == (DUE + timedelta(days=1)).isoformat()
        assert a.bundle.run_id == started[0] or b.bundle.run_id == started[0]
        assert a.scheduler.tick() is None and b.scheduler.tick() is None  # the due time is spent
    finally:
        b.close()
        a.close()


def test_admin_training_and_status_show_the_schedule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _forecast_only(monkeypatch)
    engine = _scheduled_engine(tmp_path, lambda: DUE - timedelta(hours=1))
    keys = ensure_demo_keys(engine.store)
    try:
        with TestClient(create_app(engine, watch_interval_s=None)) as client:
            h = auth(keys["admin"])
            training = client.get("/admin/training", headers=h).json()
            assert training["schedule"] == {
                "cron": "0 3 * * *",
                "timezone": "UTC",
                "next_run_at": DUE.isoformat(),
                "period_s": 86400.0,
                "last": None,
            }
            assert training["component_progress"] == []
            assert (
                client.get("/admin/status", headers=h).json()["training"]["schedule"]["cron"] == "0 3 * * *"
            )
            assert engine.scheduler is not None
            engine.scheduler.clock = lambda: DUE + timedelta(minutes=1)
            run_id = engine.scheduler.tick()
            assert run_id is not None
            last = client.get("/admin/training", headers=h).json()["schedule"]["last"]
            assert (last["due"], last["run_id"]) == (DUE.isoformat(), run_id)
            assert last["state"] in ("running", "succeeded")
    finally:
        deadline = time.monotonic() + 120
        while engine.training_running and time.monotonic() < deadline:
            time.sleep(0.1)
        engine.close()


def test_without_a_schedule_nothing_is_scheduled(tmp_path: Path) -> None:
    engine = seeded_engine(tmp_path)
    try:
        assert engine.scheduler is None and engine.start_schedule() is False
        assert engine.training_status()["schedule"] is None
    finally:
        engine.close()


def test_the_server_runs_the_schedule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's lifespan starts the schedule of the engine it opens (``shopmind serve``): a shop never
    trained is trained at start-up (the catch-up), recorded as a scheduled training."""
    _forecast_only(monkeypatch)
    base = seeded_engine(tmp_path)
    base.close()
    settings = base.settings.model_copy(
        update={"training": base.settings.training.model_copy(update={"schedule": "0 3 * * *"})}
    )
    with TestClient(create_app(settings, watch_interval_s=None)) as client:
        engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
        deadline = time.monotonic() + 120
        last = None
        while time.monotonic() < deadline:
            last = (engine.training_status()["schedule"] or {}).get("last")
            if last and last.get("state") in ("succeeded", "failed", "skipped"):
                break
            time.sleep(0.2)
        assert last is not None and last["state"] == "succeeded" and last["catch_up"] is True, last
