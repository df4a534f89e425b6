"""Training pipeline: store → one artifact run directory per training, then publish atomically.

Each capability in :data:`shopmind.capabilities.CAPABILITIES` contributes a *component*: its
``train(ctx: TrainContext, out_dir: Path) -> dict`` writes artifacts and returns manifest info, and
its service class loads those artifacts for serving (see each ``service.py``). Training
writes into a fresh run directory; only when every component succeeded is the run published as
"current" (``ArtifactStore.publish``, which also records every file's SHA-256), so a failed run never
touches what is being served.

Operations around a training (:class:`TrainingAttempt`):

* **before**: a disk-space check (:func:`check_disk_space`) and the recovery of runs abandoned by dead
  processes (:func:`recover_abandoned`);
* **during**: a record in the store's ``training_runs`` table — state, progress and a heartbeat every
  ``artifacts.heartbeat_s`` — which every worker process reads, so all of them report the same
  training status; the components report through ``ctx.progress``
  (:class:`~shopmind.capability.TrainProgress`): to the caller's display (the CLI's bars) and to the
  attempt's :class:`~shopmind.capability.ProgressBoard` (counts and ETA per component), written to the
  store's meta table (:data:`PROGRESS_KEY`, :func:`read_progress`) by the heartbeat thread;
* **after**: success or failure recorded in the run's manifest and in the store (on a full disk the
  failed run's partial files are deleted first, see ``ArtifactStore.fail``), then the retention policy
  (``artifacts.keep_runs``, ``ArtifactStore.prune``).

A ``running`` record is *abandoned* when its process is gone (same host: pid + start time, see
``shopmind.store.artifacts.owner_alive``) or its heartbeat is older than ``artifacts.lease_s``
(any host); :func:`recover_abandoned` marks such runs failed, and readers report them failed at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shopmind import capabilities
from shopmind.capabilities import Capability
from shopmind.capability import (
    MessageProgress,
    ProgressBoard,
    TeeProgress,
    TrainContext,
    TrainProgress,
    progress_of,
)
from shopmind.config import Settings
from shopmind.errors import ArtifactError, ConfigError, Location
from shopmind.privacy import apply_retention
from shopmind.store.artifacts import (
    ArtifactIntegrityError,
    ArtifactStore,
    IntegrityReport,
    Run,
    owner_alive,
    process_identity,
)
from shopmind.store.base import Store, TrainingRunRecord

log = logging.getLogger(__name__)


def selected(names: Sequence[str] | None = None) -> list[Capability]:
    """The registered capabilities to train (all by default), in registry order.

    Raises :class:`ConfigError` naming the unknown ones when ``names`` holds a name not registered.
    """
    registry = capabilities.CAPABILITIES
    if names is None:
        return list(registry.values())
    unknown = sorted(set(names) - set(registry))
    if unknown:
        raise ConfigError(
            "unknown components",
            value=unknown,
            expected=" | ".join(registry),
            location=Location(field="components"),
        )
    return [cap for name, cap in registry.items() if name in names]


def train_all(
    ctx: TrainContext,
    artifacts: ArtifactStore,
    components: Sequence[str] | None = None,
    *,
    attempt: TrainingAttempt | None = None,
    protect: Iterable[str | None] = (),
) -> str:
    """Train every component into a new run and publish it; returns the run id.

    ``attempt``: one begun by the caller (:meth:`TrainingAttempt.begin`, so that its run id is known
    before training starts); by default one is begun here. On any failure the run is marked failed
    (with the error) and the current pointer is untouched. After publishing, old runs are pruned
    (``artifacts.keep_runs``; the runs in ``protect`` are kept).
    """
    chosen = selected(components)  # unknown names are refused before a run is created
    if attempt is None:
        attempt = TrainingAttempt.begin(ctx, artifacts, components)
    run = attempt.run
    # the caller's display (CLI bars, the engine's status), the store's message list, the shared board
    progress = TeeProgress(progress_of(ctx), MessageProgress(attempt.progress), attempt.board)

    started = time.perf_counter()
    manifest: dict[str, Any] = {"components": {}}
    current: str | None = None  # the component training now
    with attempt.heartbeat(), _progress_to(ctx, progress):
        try:
            _apply_retention(ctx, progress)  # expired personal data never reaches a model
            if components is not None:
                manifest["components"].update(_carry_over(artifacts, run.path, set(components)))
            progress.plan([cap.name for cap in chosen])
            for cap in chosen:
                step = time.perf_counter()
                progress.begin(cap.name)
                current = cap.name
                progress(f"training {cap.name}")
                info = cap.train(ctx, run.path / cap.name)
                current = None
                progress.end(cap.name)
                manifest["components"][cap.name] = {
                    "seconds": round(time.perf_counter() - step, 3),
                    **(info or {}),
                }
                log.info("trained %s in %.2fs", cap.name, manifest["components"][cap.name]["seconds"])
            artifacts.publish(run, manifest)
        except BaseException as exc:
            # the failure first: it deletes the partial files, so a full disk has room for the record
            attempt.fail(f"{type(exc).__name__}: {exc}", time.perf_counter() - started)
            if current is not None:
                progress.end(current, ok=False)
            raise
    attempt.succeed(time.perf_counter() - started)
    try:
        artifacts.prune(keep=attempt.settings.artifacts.keep_runs, protect=[run.id, *protect])
    except Exception:  # retention must never turn a good training into a failed one
        log.exception("pruning old runs failed")
    return str(run.id)


@contextlib.contextmanager
def _progress_to(ctx: TrainContext, progress: TrainProgress) -> Iterator[None]:
    """Route the components' ``ctx.progress`` calls through ``progress`` while training."""
    previous = ctx.progress
    ctx.progress = progress
    try:
        yield
    finally:
        ctx.progress = previous


def _now() -> datetime:
    return datetime.now(UTC)


PROGRESS_KEY = "training_progress"
"""Meta-table key of the running (or last) training's per-component progress (:func:`read_progress`)."""
PROGRESS_WRITE_S = 1.0
"""Changed progress is written to the store at most this often (by the heartbeat thread)."""


def read_progress(store: Store, run_id: str) -> list[dict[str, Any]] | None:
    """The per-component progress the training ``run_id`` recorded (:class:`ProgressBoard` snapshot:
    name, state, done, total, unit, message, started_at, seconds, eta_s), None when there is none."""
    try:
        raw = store.meta_value(PROGRESS_KEY)
        value = json.loads(raw) if raw else None
    except Exception as exc:  # unreadable: the status still answers
        log.warning("training progress unreadable: %s", exc)
        return None
    if not isinstance(value, dict) or value.get("run_id") != run_id:
        return None
    components = value.get("components")
    return list(components) if isinstance(components, list) else None


class TrainingAttempt:
    """One training: its artifact run, its record in the store's ``training_runs`` and a heartbeat.

    Writes to the store are best effort after :meth:`begin` (a failed write is logged, never raised):
    the training itself must not fail because its bookkeeping could not be written (a full disk), and
    a record left ``running`` is recognised as abandoned by its lapsed heartbeat.
    """

    def __init__(
        self,
        artifacts: ArtifactStore,
        run: Run,
        store: Store | None,
        settings: Settings,
        components: Sequence[str] | None,
    ) -> None:
        self.artifacts = artifacts
        self.run = run
        self.store = store
        self.settings = settings
        self.components = list(components) if components else None
        self.messages: list[str] = []
        self.state = "running"
        self.error: str | None = None
        self.seconds: float | None = None
        self.recorded = True  # the store holds the latest state (False after a failed write)
        self._lock = threading.Lock()
        self.board = ProgressBoard(on_change=self._board_changed)  # per-component counts and ETA
        self._board_dirty = False  # changed since last written (by the heartbeat thread)

    @classmethod
    def begin(
        cls, ctx: TrainContext, artifacts: ArtifactStore, components: Sequence[str] | None = None
    ) -> TrainingAttempt:
        """Check the component names and free disk space, recover abandoned runs, create the run and its
        ``running`` record."""
        selected(components)  # unknown names are refused (ConfigError) before a run is created
        settings = ctx.settings
        store: Store | None = ctx.store
        if store is not None:
            recover_abandoned(store, artifacts, settings)
        check_disk_space(artifacts, settings, components)
        owner = process_identity()
        run = artifacts.new_run(owner)
        attempt = cls(artifacts, run, store, settings, components)
        if attempt.store is not None:
            now = _now()
            record = TrainingRunRecord(
                id=run.id,
                state="running",
                started_at=now,
                heartbeat_at=now,
                components=attempt.components,
                owner=owner,
            )
            try:
                attempt.store.add_training_run(record)
            except Exception as exc:
                artifacts.fail(
                    run, f"could not record the training in the store: {type(exc).__name__}: {exc}"
                )
                raise
        return attempt

    # ------------------------------------------------------------------ recording
    def _write(self, **fields: Any) -> bool:
        if self.store is None:
            return True
        try:
            self.store.update_training_run(self.run.id, **fields)
            return True
        except Exception as exc:
            log.warning("could not update training record %s: %s", self.run.id, exc)
            return False

    def progress(self, message: str) -> None:
        with self._lock:
            self.messages.append(str(message)[:500])
            del self.messages[:-20]
            messages = list(self.messages)
        self._write(progress=messages, heartbeat_at=_now())

    def _board_changed(self) -> None:
        self._board_dirty = True

    def flush_progress(self) -> None:
        """Write the board to the store (``training_progress`` in the meta table) if it changed.

        Called by the heartbeat thread every ``PROGRESS_WRITE_S`` and once when training ends: the
        training thread never waits for the store, and a component counting thousands of steps costs
        one write per interval (on a nearly full disk every write counts, see :meth:`fail`)."""
        if self.store is None or not self._board_dirty:
            return
        self._board_dirty = False
        value = {"run_id": self.run.id, "updated_at": _now().isoformat(), "components": self.board.snapshot()}
        try:
            self.store.set_meta(PROGRESS_KEY, json.dumps(value))
        except Exception as exc:  # bookkeeping never fails a training
            log.warning("could not record the progress of training %s: %s", self.run.id, exc)

    def succeed(self, seconds: float) -> None:
        self.state, self.seconds = "succeeded", round(seconds, 3)
        self.recorded = self._write(state="succeeded", finished_at=_now(), seconds=self.seconds)

    def fail(self, error: str, seconds: float | None = None) -> None:
        """Record the failure in the run's manifest (partial files deleted) and in the store."""
        self.state, self.error = "failed", str(error)[:4000]
        self.seconds = round(seconds, 3) if seconds is not None else None
        try:
            self.artifacts.fail(self.run, self.error)
        except Exception:
            log.exception("could not mark run %s failed", self.run.id)
        self.recorded = self._write(
            state="failed", finished_at=_now(), seconds=self.seconds, error=self.error
        )

    def record_failure(self, error: str) -> None:
        """Record a failure that came after publishing (the run could not be loaded); files are kept."""
        self.state, self.error = "failed", str(error)[:4000]
        self.recorded = self._write(state="failed", finished_at=_now(), error=self.error)

    def flush(self) -> bool:
        """Write the final state again if an earlier write failed (e.g. the disk had no space then)."""
        if self.recorded or self.state == "running":
            return True
        fields: dict[str, Any] = {"state": self.state, "finished_at": _now(), "seconds": self.seconds}
        if self.error is not None:
            fields["error"] = self.error
        self.recorded = self._write(**fields)
        return self.recorded

    def heartbeat(self) -> _Heartbeat:
        """Context manager: a daemon thread refreshing ``heartbeat_at`` every ``artifacts.heartbeat_s``
        and writing changed progress every ``PROGRESS_WRITE_S`` (and once at the end)."""
        return _Heartbeat(self)


class _Heartbeat:
    def __init__(self, attempt: TrainingAttempt) -> None:
        self.attempt = attempt
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _Heartbeat:
        if self.attempt.store is None:
            return self
        interval = self.attempt.settings.artifacts.heartbeat_s

        def beat() -> None:
            due = time.monotonic() + interval
            while not self.stop.wait(min(interval, PROGRESS_WRITE_S)):
                self.attempt.flush_progress()
                if time.monotonic() >= due:
                    self.attempt._write(heartbeat_at=_now())
                    due = time.monotonic() + interval

        self.thread = threading.Thread(target=beat, name="shopmind-train-heartbeat", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.attempt.flush_progress()  # the final states (after a failure has been recorded)


# ---------------------------------------------------------------------------- before training
def check_disk_space(
    artifacts: ArtifactStore, settings: Settings, components: Sequence[str] | None = None
) -> int:
    """Raise :class:`ArtifactError` unless the artifacts folder's disk has room for a new run.

    Needed: ``max(artifacts.min_free_mb, 1.25 × size of what is retrained in the current run)`` —
    the new run is about as large as the one it replaces; carried-over components are hard links.
    Returns the free bytes.
    """
    root = Path(artifacts.root)
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    previous = 0
    try:
        current = artifacts.current()
    except ArtifactError:
        current = None
    if current is not None:
        previous = artifacts.size(current, components)
    need = max(settings.artifacts.min_free_mb * 1e6, 1.25 * previous)
    if free < need:
        raise ArtifactError(
            "not enough free disk space to train",
            value=f"{free / 1e6:.0f} MB free on the disk of {root}",
            expected=f"at least {need / 1e6:.0f} MB (artifacts.min_free_mb = "
            f"{settings.artifacts.min_free_mb:g}, or 1.25 x the {previous / 1e6:.0f} MB of the run it "
            "replaces); free space or prune old runs (artifacts.keep_runs)",
        )
    return int(free)


def abandoned_reason(
    record: TrainingRunRecord, settings: Settings, now: datetime | None = None
) -> str | None:
    """Why a ``running`` record is abandoned (its process is gone, or no heartbeat within the lease)."""
    if record.state != "running":
        return None
    now = now or _now()
    owner = record.owner or {}
    who = f"pid {owner.get('pid')} on {owner.get('host')}"
    age = (now - record.heartbeat_at).total_seconds()
    if owner_alive(owner) is False:
        return f"abandoned: the training process ({who}) is gone; last heartbeat {age:.0f}s ago"
    lease = settings.artifacts.lease_s
    if age > lease:
        return f"abandoned: no heartbeat from the training process ({who}) for {age:.0f}s (lease {lease:g}s)"
    return None


def recover_abandoned(store: Store | None, artifacts: ArtifactStore | None, settings: Settings) -> list[str]:
    """Mark training runs left ``running`` by dead processes failed (store record and manifest).

    Covers records in the store and run folders whose manifest still says ``running`` (also ones
    without a record, e.g. from a process that died before writing it). Returns the run ids marked.
    """
    marked: dict[str, str] = {}
    live: set[str] = set()
    now = _now()
    if store is not None:
        for record in store.training_runs(state="running", limit=1000):
            reason = abandoned_reason(record, settings, now)
            if reason is None:
                live.add(record.id)
                continue
            try:
                store.update_training_run(record.id, state="failed", finished_at=now, error=reason)
            except Exception as exc:
                log.warning("could not mark training record %s failed: %s", record.id, exc)
            marked[record.id] = reason
    if artifacts is not None:
        for info in artifacts.runs():
            run_id = str(info.get("id"))
            if info.get("status") != "running" or run_id in live:
                continue
            reason = marked.get(run_id) or _manifest_abandoned(info, settings, now)
            if reason is None:
                continue
            try:
                artifacts.fail(artifacts.run(run_id), reason)
            except Exception as exc:
                log.warning("could not mark run %s failed: %s", run_id, exc)
                continue
            marked[run_id] = reason
    for run_id, reason in marked.items():
        log.warning("training run %s %s", run_id, reason)
    return sorted(marked)


def _manifest_abandoned(info: dict[str, Any], settings: Settings, now: datetime) -> str | None:
    owner = info.get("owner")
    alive = owner_alive(owner) if isinstance(owner, dict) else None
    if alive is False:
        return f"abandoned: the training process (pid {owner.get('pid')} on {owner.get('host')}) is gone"  # type: ignore[union-attr]
    if alive is None:
        try:
            created = datetime.fromisoformat(str(info.get("created_at")))
        except ValueError:
            return None
        age = (now - created).total_seconds()
        if age > settings.artifacts.lease_s:
            return f"abandoned: still 'running' {age:.0f}s after it started, with no live training record"
    return None


def _carry_over(artifacts: ArtifactStore, run_path: Path, retrained: set[str]) -> dict[str, Any]:
    """Copy the components *not* being retrained from the current run into the new one.

    A partial training (``components=[...]``) must still publish a complete run, or serving would
    lose every capability that was not retrained. Files are hard-linked (artifacts are never modified
    in place) and copied where links are impossible. The carried files are verified against the
    current run's checksums first: the new run's checksums must not bless a corrupt file.
    """
    current = artifacts.current()
    if current is None:
        return {}
    previous = current.manifest().get("components", {})
    carried_names = [n for n in previous if n not in retrained and (current.path / n).is_dir()]
    if carried_names:
        report: IntegrityReport = artifacts.verify(current).restricted_to(carried_names)
        if not report.ok:
            raise ArtifactIntegrityError(report)
    carried: dict[str, Any] = {}
    for name in carried_names:
        shutil.copytree(current.path / name, run_path / name, copy_function=_link_or_copy)
        carried[name] = {**previous[name], "carried_from": current.id}
    return carried


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _apply_retention(ctx: TrainContext, progress: Callable[[str], None]) -> None:
    """``settings.privacy`` retention (:func:`shopmind.privacy.apply_retention`) before data is read."""
    store: Store | None = ctx.store
    if store is None:
        return
    result = apply_retention(store, ctx.settings.privacy, requested_by="training")
    if result.active:
        progress(f"retention: deleted {result.counts}")
