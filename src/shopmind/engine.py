"""The facade every front end uses: ``Engine.open(settings)`` → recommend / search / chat / forecast.

An :class:`Engine` owns one :class:`~shopmind.store.base.Store`, one ``ArtifactStore`` and a
:class:`ServiceBundle` — the services loaded from one published training run. Serving never trains
inline; it loads artifacts and swaps them atomically:

* :meth:`Engine.reload` builds a *complete* new bundle from the current run (every service loaded,
  none half-initialised) and only then replaces the single ``_bundle`` reference. A request reads
  that reference once at its start (``bundle = self._bundle``), so requests in flight finish on the
  bundle they started with, and no request can observe a mix of two versions. Python reference
  assignment is atomic, so readers need no lock; writers (reload/train/rollback) serialise on one.
* :meth:`Engine.train` runs :func:`shopmind.pipeline.train_all` into a fresh run. A failed run is
  marked failed by the pipeline and never published, so the serving bundle stays untouched; the
  failure is kept in :meth:`Engine.training_status` for the status endpoint.
* :meth:`Engine.watch` (used by the HTTP server) polls the ``current`` pointer so that every worker
  process picks up a run published or rolled back by another process.

The capabilities are those of :data:`shopmind.capabilities.CAPABILITIES` (one registry, shared with
the training pipeline). A capability whose artifacts are missing or do not load is reported as
unavailable (``status()["services"][name]``) and its methods raise
:class:`~shopmind.errors.NotFittedError`, which the HTTP layer maps to 503.

**Integrity.** Before a run is loaded its files are re-hashed against the SHA-256 digests in its
manifest (``ArtifactStore.verify``; once per load, and a refused run is re-hashed only after its files
change). A run that fails is refused: a serving engine keeps its current bundle; a fresh one falls
back to the newest intact successful run, or, with none, loads the intact components of the current
run and reports the others unavailable with the reason. :meth:`Engine.ready` reports each capability.

**Training state** lives in the store (``training_runs``, see ``shopmind.pipeline.TrainingAttempt``),
so every worker process answers the same :meth:`Engine.training_status`; runs left ``running`` by a
dead process are marked failed when an engine opens (``shopmind.pipeline.recover_abandoned``).

**Scheduled retraining** (``training.schedule``): :meth:`Engine.start_schedule` (called by the HTTP
server) runs a :class:`~shopmind.scheduler.TrainingScheduler` that starts :meth:`Engine.start_training`
at each due time on one node only; :meth:`Engine.training_status` reports it under ``schedule``.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack, cast, overload

from pydantic import ValidationError

from shopmind import capabilities
from shopmind.assistant.dialogue import ChatReply
from shopmind.assistant.tools import Client
from shopmind.capabilities import (
    AssistantService,
    ForecastService,
    RecommendService,
    SearchService,
    Services,
)
from shopmind.capability import CapabilityService, MessageProgress, TrainContext
from shopmind.config import RECOMMEND_K, SEARCH_K, SUGGEST_K, TOP_QUERIES, Settings, load_settings
from shopmind.content.descriptions import Description
from shopmind.data.schema import Document, Event, Item, Order, User
from shopmind.errors import ArtifactError, ConfigError, DataError, Location, NotFittedError, UnknownIdError
from shopmind.ingest.quality_cache import ensure_quality_report
from shopmind.pipeline import TrainingAttempt, abandoned_reason, read_progress, recover_abandoned, train_all
from shopmind.recommend.filters import RecFilters
from shopmind.scheduler import TrainingScheduler
from shopmind.search.analyzers import Synonyms
from shopmind.search.engine import SearchResult
from shopmind.search.service import (
    check_field_weights,
    read_field_weights,
    read_rules,
    read_synonyms,
    search_analytics,
    write_field_weights,
    write_rules,
    write_synonyms,
)
from shopmind.store.artifacts import ArtifactIntegrityError, ArtifactStore, IntegrityReport, Run
from shopmind.store.base import Store, Ticket, TrainingRunRecord, WriteResult
from shopmind.types import RankedList

log = logging.getLogger(__name__)

CapabilityName = Literal["recommend", "search", "assistant", "forecast"]


class SearchOptions(TypedDict, total=False):
    """Optional arguments of :meth:`SearchService.search` (its own defaults apply when absent)."""

    sort: str
    mode: str


class DescribeOptions(TypedDict, total=False):
    """Optional arguments of :meth:`AssistantService.describe`."""

    style: str
    language: str


class ForecastPolicy(TypedDict, total=False):
    """The reorder-point policy of :meth:`ForecastService.forecast`."""

    service_level: float
    lead_time_days: float


class InventoryOptions(TypedDict, total=False):
    """Keyword arguments of :meth:`ForecastService.inventory`."""

    service_level: float
    lead_time_days: float
    review_period_days: float
    ordering_cost: float
    holding_rate: float
    overstock_days: float
    status: str | None
    item_ids: list[str] | None
    limit: int | None


@dataclass(frozen=True)
class ServiceBundle:
    """The services loaded from one training run; immutable once built.

    ``services`` holds what loaded; ``unavailable`` says why each other capability is missing
    (``"not trained"``, an integrity problem, or the load error).
    """

    run_id: str | None
    run_path: Path | None
    services: Services
    unavailable: dict[str, str]
    loaded_at: datetime
    manifest: dict[str, Any] = field(default_factory=dict)
    integrity: str = "not checked"
    """``verified (N files, M MB, s)``, ``unverified (...)`` for runs published before checksums, or
    ``failed: ...`` when only the intact components of a corrupt run could be loaded."""

    @overload
    def get(self, name: Literal["recommend"]) -> RecommendService: ...
    @overload
    def get(self, name: Literal["search"]) -> SearchService: ...
    @overload
    def get(self, name: Literal["assistant"]) -> AssistantService: ...
    @overload
    def get(self, name: Literal["forecast"]) -> ForecastService: ...
    def get(self, name: CapabilityName) -> CapabilityService:
        """The loaded service ``name``; :class:`NotFittedError` (HTTP 503) when it is unavailable."""
        svc = cast("Mapping[str, CapabilityService]", self.services).get(name)
        if svc is None:
            why = self.unavailable.get(name, "not trained")
            raise NotFittedError(
                f"{name} is not available: {why}",
                expected="a published training run with this component (run `shopmind train`)",
            )
        return svc


@dataclass
class TrainingStatus:
    """The last (or running) training attempt."""

    state: str = "idle"  # idle | running | succeeded | failed
    run_id: str | None = None
    components: list[str] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    seconds: float | None = None
    error: str | None = None
    progress: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "run_id": self.run_id,
            "components": self.components,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": self.seconds,
            "error": self.error,
            "progress": list(self.progress[-20:]),
        }


@dataclass
class TicketPage:
    """One page of hand-off tickets, newest first, and how many tickets match the filter in all."""

    tickets: list[Ticket]
    total: int


@dataclass
class TicketDetail:
    """A ticket (transcript up to the hand-off, change history) and the conversation's later turns."""

    ticket: Ticket
    later: list[dict[str, Any]]


@dataclass
class ConversationPage:
    """Assistant conversations, most recently active first, and how many there are in all."""

    conversations: list[dict[str, Any]]
    total: int


TICKET_LATER_TURNS = 200
"""At most this many turns after the hand-off are shown with a ticket."""


class TrainingInProgress(ConfigError):
    """A training run was requested while another one is running in this process."""


class VersionConflict(ConfigError):
    """A rollback or activation that the run history does not allow (nothing older, a failed run)."""


class Engine:
    """Thread-safe facade over the store, the artifact store and the loaded services."""

    def __init__(self, store: Store, artifacts: ArtifactStore, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.store = store
        self.artifacts = artifacts
        self._write_lock = threading.RLock()  # serialises reload / rollback / activate
        self._train_lock = threading.Lock()  # one training at a time per process
        self._training = TrainingStatus()
        self._listeners: list[Callable[[ServiceBundle], None]] = []
        self._train_listeners: list[Callable[[TrainingStatus], None]] = []
        self._bundle = ServiceBundle(
            None, None, Services(), dict.fromkeys(capabilities.CAPABILITIES, "not loaded"), _now()
        )
        self._watch_stop: threading.Event | None = None
        self._attempt: TrainingAttempt | None = None  # the one this process ran last
        # run id -> (file fingerprint, integrity report) of the last verification: a refused run is
        # hashed again only when its files change, not on every watch tick
        self._verified: dict[str, tuple[tuple[tuple[str, int, int], ...], IntegrityReport]] = {}
        self.refused: dict[str, str] = {}  # run id -> why it was refused (reported by ready())
        self.only: frozenset[str] | None = None  # capabilities to load (select); None: all
        cron = self.settings.training.cron()
        self.scheduler: TrainingScheduler | None = (
            TrainingScheduler(cron, store, self.settings, lambda: str(self.start_training().run_id))
            if cron is not None
            else None
        )
        self.on_training_done(self._schedule_outcome)

    # ----------------------------------------------------------------------------------------
    # construction, loading, swapping
    # ----------------------------------------------------------------------------------------
    @classmethod
    def open(
        cls, settings: Settings | None = None, *, load: bool = True, capabilities: Iterable[str] | None = None
    ) -> Engine:
        """Open the configured store and artifact store and load the current run's services.

        ``capabilities``: load only these and the services they take (:meth:`select`); a one-shot
        command then pays for one model, not all. None: every registered capability.
        """
        from shopmind.store import open_store

        settings = settings or load_settings()
        if settings.store_url.startswith("sqlite:///"):
            Path(settings.store_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        store = open_store(settings.store_url)
        engine = cls(store, ArtifactStore(settings.artifacts_dir), settings)
        if capabilities is not None:
            try:
                engine.select(capabilities)
            except ConfigError:
                store.close()
                raise
        engine.recover_abandoned_training()
        if load:
            engine.reload()
        return engine

    def select(self, names: Iterable[str]) -> frozenset[str]:
        """Load only ``names`` from now on, plus the earlier capabilities their ``load`` takes.

        A service names its dependencies as parameters of ``load`` (the assistant's ``search`` and
        ``recommend``), so asking for the assistant loads those too, in registry order; the others
        are reported unavailable ("not requested"). Unknown names raise ``ConfigError``.
        """
        registry = capabilities.CAPABILITIES
        wanted = set(names)
        unknown = sorted(wanted - set(registry))
        if unknown:
            raise ConfigError("unknown capabilities", value=unknown, expected=f"some of {sorted(registry)}")
        for name in reversed(list(registry)):  # later capabilities depend only on earlier ones
            if name in wanted:
                params = inspect.signature(registry[name].service.load).parameters
                wanted |= {
                    dep for dep in registry if dep != name and (dep in params or f"{dep}_service" in params)
                }
        self.only = frozenset(wanted)
        return self.only

    def recover_abandoned_training(self) -> list[str]:
        """Mark runs left ``running`` by dead processes failed (``pipeline.recover_abandoned``)."""
        try:
            return recover_abandoned(self.store, self.artifacts, self.settings)
        except Exception:  # start-up must not fail over bookkeeping
            log.exception("could not check for abandoned training runs")
            return []

    @property
    def bundle(self) -> ServiceBundle:
        """The bundle serving right now (read once per request)."""
        return self._bundle

    def on_swap(self, listener: Callable[[ServiceBundle], None]) -> None:
        """Call ``listener(new_bundle)`` after every swap (metrics, logs)."""
        self._listeners.append(listener)

    def on_training_done(self, listener: Callable[[TrainingStatus], None]) -> None:
        """Call ``listener(status)`` when a training attempt ends (succeeded or failed)."""
        self._train_listeners.append(listener)

    def _training_done(self, status: TrainingStatus) -> None:
        for listener in self._train_listeners:
            try:
                listener(status)
            except Exception:
                log.exception("training listener failed")

    def _current_run(self) -> Run | None:
        return self.artifacts.current()

    def build_bundle(self, run: Run | None, integrity: IntegrityReport | None = None) -> ServiceBundle:
        """Load every capability from ``run`` into a new bundle (no shared state is touched).

        ``integrity``: the run's ``IntegrityReport``; components with problems (or every component,
        when the manifest itself is bad) are not loaded and are reported unavailable with the reason.
        """
        services: dict[str, CapabilityService] = {}
        unavailable: dict[str, str] = {}
        damaged = integrity.by_component() if integrity is not None else {}
        manifest: dict[str, Any] = {}
        run_path = Path(run.path) if run is not None else None
        if run_path is not None and (run_path / "manifest.json").is_file():
            try:
                manifest = json.loads((run_path / "manifest.json").read_text(encoding="utf-8"))
            except ValueError:
                manifest = {}
        for name, capability in capabilities.CAPABILITIES.items():
            if self.only is not None and name not in self.only:
                unavailable[name] = "not requested"
                continue
            if run is None or run_path is None:
                unavailable[name] = "not trained"
                continue
            path = run_path / name
            problems = damaged.get(name, []) + damaged.get("", [])
            if problems:
                more = f" (+{len(problems) - 2} more)" if len(problems) > 2 else ""
                unavailable[name] = "integrity check failed: " + "; ".join(problems[:2]) + more
                continue
            if not path.exists():
                unavailable[name] = "not trained"
                continue
            try:
                started = time.perf_counter()
                service_cls = capability.service
                services[name] = service_cls.load(path, self.store, **self._deps(service_cls, services))
                log.info("loaded %s from run %s in %.2fs", name, run.id, time.perf_counter() - started)
            except Exception as exc:  # one broken component must not take the others down
                log.exception("could not load %s from run %s", name, run.id)
                unavailable[name] = f"load failed: {type(exc).__name__}: {exc}"
        loaded = cast(Services, services)  # keyed by capability name, each its registered class
        _warm_up(loaded)
        return ServiceBundle(
            run_id=run.id if run is not None else None,
            run_path=run_path,
            services=loaded,
            unavailable=unavailable,
            loaded_at=_now(),
            manifest=manifest,
            integrity=_integrity_text(integrity),
        )

    def verify(self, run: Run) -> IntegrityReport:
        """The run's ``IntegrityReport``, hashed once per change of its files (see the module docs)."""
        key = self.artifacts.fingerprint(run)
        cached = self._verified.get(run.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        report = self.artifacts.verify(run)
        self._verified[run.id] = (key, report)
        if report.ok:
            self.refused.pop(run.id, None)
            log.info(
                "run %s: %d files (%.1f MB) verified in %.2fs",
                run.id,
                report.files,
                report.bytes / 1e6,
                report.seconds,
            )
        else:
            self.refused[run.id] = report.summary()
            log.error("run %s refused: integrity check failed: %s", run.id, report.summary(limit=10))
        return report

    def _load(self, run: Run | None) -> ServiceBundle:
        """A bundle for ``run`` after its integrity check (see the module docstring for the fallback).

        Raises ``ArtifactIntegrityError`` when ``run`` is refused while this engine serves a bundle.
        """
        if run is None:
            return self.build_bundle(run)
        report = self.verify(run)
        if report.ok:
            return self.build_bundle(run, report)
        if self._bundle.services:
            raise ArtifactIntegrityError(report)
        fallback = self._newest_intact(exclude=run.id)
        if fallback is not None:
            older, older_report = fallback
            log.error("current run %s is refused; serving the newest intact run %s", run.id, older.id)
            return self.build_bundle(older, older_report)
        log.error("no intact run to fall back to: loading the intact components of run %s", run.id)
        return self.build_bundle(run, report)

    def _newest_intact(self, exclude: str | None = None) -> tuple[Run, IntegrityReport] | None:
        for info in self.artifacts.runs():
            if info.get("status") != "ok" or info.get("id") == exclude:
                continue
            candidate = self.artifacts.run(str(info["id"]))
            report = self.verify(candidate)
            if report.ok:
                return candidate, report
        return None

    def _deps(
        self, service_cls: type[CapabilityService], loaded: Mapping[str, CapabilityService]
    ) -> dict[str, object]:
        """Keyword arguments a service's ``load`` names among settings and already-loaded services."""
        params = inspect.signature(service_cls.load).parameters
        offered: dict[str, object] = {"settings": self.settings}
        for name, svc in loaded.items():
            offered[name] = svc
            offered[f"{name}_service"] = svc
        accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        return {k: v for k, v in offered.items() if k in params or (accepts_any and k == "settings")}

    def reload(self) -> ServiceBundle:
        """Build a new bundle from the current run, then swap it in with one reference assignment.

        A current run that fails its integrity check is refused (``ArtifactIntegrityError``) while a
        bundle is serving; a fresh engine falls back instead (see :meth:`_load`).
        """
        with self._write_lock:
            try:
                run = self._current_run()
            except ArtifactError as exc:  # 'current' points at a deleted run
                if self._bundle.services:
                    raise
                log.error("%s; looking for the newest intact run", exc)
                fallback = self._newest_intact()
                bundle = self.build_bundle(*fallback) if fallback else self.build_bundle(None)
            else:
                bundle = self._load(run)
            self._swap(bundle)
            return bundle

    def _swap(self, bundle: ServiceBundle) -> None:
        old = self._bundle
        self._bundle = bundle  # the atomic swap: in-flight requests keep their reference to `old`
        log.info(
            "serving run %s (was %s): %s",
            bundle.run_id,
            old.run_id,
            ", ".join(sorted(bundle.services)) or "no services",
        )
        for listener in self._listeners:
            try:
                listener(bundle)
            except Exception:
                log.exception("swap listener failed")

    def reload_if_changed(self) -> bool:
        """Reload when the published run differs from the serving one; True when it swapped.

        A refused run (integrity) is kept out: it is re-hashed only once its files change.
        """
        run = self._current_run()
        run_id = run.id if run is not None else None
        if run_id == self._bundle.run_id:
            return False
        with self._write_lock:
            if run_id == self._bundle.run_id:
                return False
            try:
                bundle = self._load(run)
            except ArtifactIntegrityError:
                return False  # logged by verify(); still serving the previous run
            if bundle.run_id == self._bundle.run_id:
                return False  # fell back to the run already served
            self._swap(bundle)
            return True

    def watch(self, interval_s: float = 2.0) -> None:
        """Start a daemon thread that reloads when another process publishes or rolls back a run."""
        if self._watch_stop is not None:
            return
        stop = threading.Event()
        self._watch_stop = stop

        def loop() -> None:
            while not stop.wait(interval_s):
                try:
                    self.reload_if_changed()
                except Exception:
                    log.exception("artifact watch failed; still serving run %s", self._bundle.run_id)

        threading.Thread(target=loop, name="shopmind-artifact-watch", daemon=True).start()

    def start_schedule(self) -> bool:
        """Run ``training.schedule`` in a background thread (``shopmind serve``); False without one."""
        if self.scheduler is None:
            return False
        self.scheduler.start()
        return True

    def _schedule_outcome(self, status: TrainingStatus) -> None:
        if self.scheduler is not None and status.run_id is not None:
            self.scheduler.finished(status.run_id, status.state, status.error)

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        if self._watch_stop is not None:
            self._watch_stop.set()
            self._watch_stop = None
        self.store.close()

    # ----------------------------------------------------------------------------------------
    # training, versions
    # ----------------------------------------------------------------------------------------
    def train(self, components: Sequence[str] | None = None) -> str:
        """Train into a new run (``pipeline.train_all``), publish it, then :meth:`reload`.

        Raises :class:`TrainingInProgress` when a training already runs in this process. On failure the
        serving bundle is untouched, the error is recorded in :meth:`training_status` and re-raised.
        """
        if not self._train_lock.acquire(blocking=False):
            raise TrainingInProgress("a training run is already in progress", expected="wait for it")
        try:
            with self._process_lock():
                status, attempt = self._begin_training(components)
                return self._train_locked(components, status, attempt)
        finally:
            self._train_lock.release()

    def start_training(self, components: Sequence[str] | None = None) -> TrainingStatus:
        """Start :meth:`train` in a background thread; returns the status right after starting.

        The disk-space check and the creation of the run happen before this returns, so the caller
        gets their error at once and every worker sees the new run as ``running``.
        """
        if not self._train_lock.acquire(blocking=False):
            raise TrainingInProgress("a training run is already in progress", expected="wait for it")
        try:
            lock = self._process_lock()
            lock.__enter__()
        except BaseException:
            self._train_lock.release()
            raise
        try:
            status, attempt = self._begin_training(components)
        except BaseException:
            lock.__exit__(None, None, None)
            self._train_lock.release()
            raise

        def run() -> None:
            try:
                self._train_locked(components, status, attempt)
            except Exception:
                pass  # recorded in self._training and the store by _train_locked
            finally:
                lock.__exit__(None, None, None)
                self._train_lock.release()

        threading.Thread(target=run, name="shopmind-train", daemon=True).start()
        return self._training

    def _begin_training(self, components: Sequence[str] | None) -> tuple[TrainingStatus, TrainingAttempt]:
        ctx = TrainContext(store=self.store, settings=self.settings)
        attempt = TrainingAttempt.begin(ctx, self.artifacts, components)
        status = TrainingStatus(
            state="running", run_id=attempt.run.id, components=list(components) if components else None
        )
        status.started_at = _now()
        self._training = status
        self._attempt = attempt
        return status, attempt

    @contextlib.contextmanager
    def _process_lock(self) -> Iterator[None]:
        """An exclusive ``flock`` on ``<artifacts>/.train.lock``: one training across worker processes."""
        try:
            import fcntl
        except ImportError:  # not POSIX: the in-process lock is all there is
            yield
            return
        root = Path(self.settings.artifacts_dir)
        root.mkdir(parents=True, exist_ok=True)
        with open(root / ".train.lock", "a+") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise TrainingInProgress(
                    "a training run is already in progress in another process", expected="wait for it"
                ) from exc
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _train_locked(
        self, components: Sequence[str] | None, status: TrainingStatus, attempt: TrainingAttempt
    ) -> str:
        started = time.perf_counter()
        ctx = TrainContext(
            store=self.store, settings=self.settings, progress=MessageProgress(status.progress.append)
        )
        try:
            run_id = train_all(
                ctx, self.artifacts, components, attempt=attempt, protect=[self._bundle.run_id]
            )
        except Exception as exc:
            status.state = "failed"
            status.error = f"{type(exc).__name__}: {exc}"
            status.finished_at = _now()
            status.seconds = round(time.perf_counter() - started, 3)
            log.error("training failed, still serving run %s: %s", self._bundle.run_id, status.error)
            self._training_done(status)
            raise
        status.run_id = run_id
        status.seconds = round(time.perf_counter() - started, 3)
        try:
            self.reload()
        except Exception as exc:
            status.state = "failed"
            status.error = f"trained run {run_id} but could not load it: {type(exc).__name__}: {exc}"
            status.finished_at = _now()
            attempt.record_failure(status.error)
            self._restore_pointer(run_id)
            self._training_done(status)
            raise
        status.state = "succeeded"
        status.finished_at = _now()
        self._training_done(status)
        try:  # the dashboard's cached data-quality report, recomputed only if the data changed
            ensure_quality_report(self.store, self.settings.reports_dir)
        except Exception as exc:  # never fails a published run; the dashboard recomputes on demand
            log.warning("data-quality report not updated after training: %s: %s", type(exc).__name__, exc)
        return run_id

    def _restore_pointer(self, refused: str) -> None:
        """Point ``current`` back at the served run after the run just published was refused."""
        served = self._bundle.run_id
        if served is None or served == refused:
            return
        try:
            self.artifacts.activate(served)
            log.error("run %s was refused after training; 'current' points at %s again", refused, served)
        except Exception:
            log.exception("could not point 'current' back at run %s", served)

    def training_status(self) -> dict[str, Any]:
        """The newest training attempt as recorded in the store: the same answer in every worker.

        A ``running`` record whose process is gone or whose heartbeat lapsed is reported (and
        recorded) as failed. Without store records (a store that predates them, or the store is
        down) this process's own last attempt is reported. ``component_progress``: each component's
        state, ``done`` of ``total`` ``unit`` and ``eta_s`` (``capability.ProgressBoard``);
        ``schedule``: ``training.schedule``, its next run and the last scheduled outcome (None when
        retraining is not scheduled).
        """
        out = self._training_status()
        run_id = out.get("run_id")
        steps = read_progress(self.store, run_id) if run_id else None
        attempt = self._attempt
        if steps is None and attempt is not None and attempt.run.id == run_id:
            steps = attempt.board.snapshot()
        out["component_progress"] = steps or []
        out["schedule"] = self.scheduler.status() if self.scheduler is not None else None
        return out

    def _training_status(self) -> dict[str, Any]:
        local = self._training
        attempt = self._attempt
        if attempt is not None and local.state != "running":
            attempt.flush()  # a final state that could not be written earlier (full disk)
        try:
            records = self.store.training_runs(limit=1)
        except Exception as exc:
            log.warning("training records unavailable (%s): reporting this process's last attempt", exc)
            return local.to_dict()
        if not records:
            return local.to_dict()
        rec = records[0]
        out = _record_dict(rec)
        if (
            attempt is not None
            and rec.id == attempt.run.id
            and rec.state == "running"
            and local.state != "running"
        ):
            return local.to_dict() | {k: out[k] for k in ("heartbeat_at", "host", "pid")}
        reason = abandoned_reason(rec, self.settings)
        if reason is not None:
            out.update(state="failed", error=reason)
            try:
                self.store.update_training_run(rec.id, state="failed", finished_at=_now(), error=reason)
            except Exception as exc:
                log.warning("could not record the abandoned training %s: %s", rec.id, exc)
        return out

    @property
    def training_running(self) -> bool:
        return self._training.state == "running"

    def versions(self) -> list[dict[str, Any]]:
        """Every training run known to the artifact store, newest first, with the serving one marked."""
        serving = self._bundle.run_id
        current = self._current_id()
        out = []
        for run in self.artifacts.runs():
            row = dict(run)
            row["serving"] = row.get("id") == serving
            row["current"] = row.get("id") == current
            out.append(row)
        return out

    def rollback(self) -> ServiceBundle:
        """Point ``current`` back to the previously published run and swap to it.

        A target that fails its integrity check is refused (:class:`VersionConflict`), ``current``
        is restored and the served bundle stays.
        """
        with self._write_lock:
            before = self._current_id()
            try:
                target = self.artifacts.rollback()
            except ArtifactError as exc:
                raise VersionConflict(exc.message, value=exc.value, expected=exc.expected) from exc
            return self._switch_verified(target, before)

    def activate(self, run_id: str) -> ServiceBundle:
        """Serve an earlier published run (refused with :class:`VersionConflict` if it is corrupt)."""
        with self._write_lock:
            before = self._current_id()
            try:
                target = self.artifacts.activate(run_id)
            except ArtifactError as exc:
                raise VersionConflict(exc.message, value=exc.value, expected=exc.expected) from exc
            return self._switch_verified(target, before)

    def _current_id(self) -> str | None:
        run = self._current_run()
        return run.id if run is not None else None

    def _switch_verified(self, target: Run, before: str | None) -> ServiceBundle:
        report = self.verify(target)
        if not report.ok:
            if before is not None:
                self.artifacts.activate(before)
            raise VersionConflict(
                f"run {target.id} failed its integrity check: {report.summary()}",
                value=target.id,
                expected="a run whose files match the checksums in its manifest",
            )
        bundle = self.build_bundle(target, report)
        self._swap(bundle)
        return bundle

    def status(self) -> dict[str, Any]:
        b = self._bundle
        services = {name: "ok" for name in b.services} | {
            name: why for name, why in b.unavailable.items() if name not in b.services
        }
        return {
            "run_id": b.run_id,
            "loaded_at": b.loaded_at.isoformat(),
            "services": services,
            "integrity": b.integrity,
            "refused_runs": dict(self.refused),
            "training": self.training_status(),
            "store": self.store.url.split("://", 1)[0],
        }

    def capabilities(self) -> dict[str, dict[str, Any]]:
        """Each capability's ``state`` and ``reason``.

        ``ok``; ``failed`` — the served run has the component (manifest or folder) but it did not
        load (integrity, load error); ``not_trained`` — the run has no such component;
        ``not_requested`` — left out by :meth:`select`.
        """
        b = self._bundle
        expected = set(b.manifest.get("components", {}) or {})
        if b.run_path is not None:
            expected |= {name for name in capabilities.CAPABILITIES if (b.run_path / name).is_dir()}
        out: dict[str, dict[str, Any]] = {}
        for name in capabilities.CAPABILITIES:
            if name in b.services:
                out[name] = {"state": "ok", "reason": None}
            elif self.only is not None and name not in self.only:  # Engine.open(capabilities=...)
                out[name] = {"state": "not_requested", "reason": "not requested"}
            elif name in expected:
                out[name] = {"state": "failed", "reason": b.unavailable.get(name, "did not load")}
            else:
                out[name] = {"state": "not_trained", "reason": b.unavailable.get(name, "not trained")}
        return out

    def ready(self) -> tuple[bool, dict[str, Any]]:
        """Ready when the store answers, a run is loaded and every capability it contains loaded.

        ``checks``: ``store``, ``artifacts`` (the served run), ``integrity``, ``capabilities`` (see
        :meth:`capabilities`) and ``refused`` (runs refused by the integrity check, with why).
        """
        checks: dict[str, Any] = {}
        try:
            self.store.counts()
            checks["store"] = "ok"
        except Exception as exc:
            checks["store"] = f"error: {type(exc).__name__}"
        b = self._bundle
        checks["artifacts"] = f"run {b.run_id}" if b.services else "no trained run loaded"
        checks["integrity"] = b.integrity
        caps = self.capabilities()
        checks["capabilities"] = caps
        if self.refused:
            checks["refused"] = dict(self.refused)
        failed = [name for name, c in caps.items() if c["state"] == "failed"]
        return checks["store"] == "ok" and bool(b.services) and not failed, checks

    # ----------------------------------------------------------------------------------------
    # writes (store first, then live updates of loaded services)
    # ----------------------------------------------------------------------------------------
    def upsert_items(self, items: Sequence[Item]) -> WriteResult:
        result = self.store.upsert_items(items)
        search = self._bundle.services.get("search")
        if search is not None:
            search.upsert_items(list(items))
        return result

    def delete_items(self, ids: Sequence[str]) -> WriteResult:
        result = self.store.delete_items(ids)
        search = self._bundle.services.get("search")
        if search is not None:
            search.delete_items(list(ids))
        return result

    def upsert_users(self, users: Sequence[User]) -> WriteResult:
        return self.store.upsert_users(users)

    def upsert_orders(self, orders: Sequence[Order]) -> WriteResult:
        return self.store.upsert_orders(orders)

    def upsert_documents(self, docs: Sequence[Document]) -> WriteResult:
        return self.store.upsert_documents(docs)

    def add_events(self, events: Sequence[Event]) -> tuple[WriteResult, list[Event]]:
        """Store events idempotently and fold the new ones into the recommender.

        Returns the write result and the events that were new (those are what ``observe`` saw).
        """
        seen: set[str] = set()
        unique = []
        for e in events:
            if e.id not in seen:
                seen.add(e.id)
                unique.append(e)
        existing = self.store.existing_event_ids([e.id for e in unique]) if unique else set()
        result = self.store.add_events(unique)
        result.duplicates = max(result.duplicates, len(events) - result.inserted)
        new = [e for e in unique if e.id not in existing]
        if new:
            self.observe(new)
        return result, new

    def observe(self, events: Iterable[Event]) -> None:
        """Real-time fold-in of new behaviour into the loaded recommender (no-op when not loaded)."""
        rec = self._bundle.services.get("recommend")
        if rec is not None:
            rec.observe(list(events))

    # ----------------------------------------------------------------------------------------
    # reads: every call takes the bundle once
    # ----------------------------------------------------------------------------------------
    @overload
    def service(self, name: Literal["recommend"]) -> RecommendService: ...
    @overload
    def service(self, name: Literal["search"]) -> SearchService: ...
    @overload
    def service(self, name: Literal["assistant"]) -> AssistantService: ...
    @overload
    def service(self, name: Literal["forecast"]) -> ForecastService: ...
    def service(self, name: CapabilityName) -> CapabilityService:
        """The serving bundle's service ``name`` (:meth:`ServiceBundle.get`)."""
        return self._bundle.get(name)

    def recommend(
        self,
        user_id: str,
        k: int = RECOMMEND_K,
        filters: Mapping[str, Any] | RecFilters | None = None,
        session_items: Sequence[str] | None = None,
    ) -> RankedList:
        svc = self._bundle.get("recommend")
        return svc.recommend(
            user_id, k, filters=rec_filters(filters), session_items=list(session_items or []) or None
        )

    def similar_items(self, item_id: str, k: int = RECOMMEND_K) -> RankedList:
        return self._bundle.get("recommend").similar_items(item_id, k)

    def bought_together(self, item_id: str, k: int = RECOMMEND_K) -> RankedList:
        return self._bundle.get("recommend").bought_together(item_id, k)

    def trending(self, k: int = RECOMMEND_K, category: str | None = None) -> RankedList:
        return self._bundle.get("recommend").trending(k, category)

    def search(
        self,
        query: str,
        k: int = SEARCH_K,
        offset: int = 0,
        filters: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
        log: bool = True,
        **options: Unpack[SearchOptions],
    ) -> SearchResult:
        """One page of results (:meth:`SearchService.search`); ``sort``/``mode`` default to the service's."""
        return self._bundle.get("search").search(
            query, k=k, offset=offset, filters=filters or None, user_id=user_id, log=log, **options
        )

    def suggest(self, prefix: str, k: int = SUGGEST_K) -> list[dict[str, object]]:
        return self._bundle.get("search").suggest(prefix, k=k)

    def log_click(self, search_id: str, item_id: str, position: int) -> None:
        svc = self._bundle.services.get("search")
        if svc is not None:
            svc.log_click(search_id, item_id, position)
        else:  # clicks are still worth keeping while no search model is loaded
            self.store.log_click(search_id=search_id, item_id=item_id, position=position)

    def search_analytics(self, top: int = TOP_QUERIES) -> dict[str, Any]:
        """Top queries, zero-result queries, CTR by position, click rate (``search_analytics``).

        The same computation and shape whether or not a search service is loaded: analytics read
        only the store's search and click logs.
        """
        svc = self._bundle.services.get("search")
        if svc is not None:
            return svc.analytics(top=top)
        return search_analytics(self.store.search_log_frame(), self.store.click_log_frame(), top=top)

    def user_history(self, user_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """A customer's ``limit`` most recent events, newest first, each with its item's title,
        category, brand and price when the item is in the catalogue (for the dashboard's preview).

        Raises :class:`UnknownIdError` when the store has neither the customer nor any event of theirs.
        """
        events = self.store.events_frame(user_id=user_id)
        if not len(events) and self.store.get_user(user_id) is None:
            raise UnknownIdError("unknown user", value=user_id, location=Location(field="user_id"))
        recent = events.tail(limit).iloc[::-1]
        ids = sorted({str(i) for i in recent["item_id"].dropna()})
        found = {it.id: it for it in self.store.get_items(ids)} if ids else {}
        out: list[dict[str, Any]] = []
        for ev in recent.to_dict("records"):  # at most ``limit`` (≤ 200 from the API) rows
            item = found.get(str(ev["item_id"])) if ev.get("item_id") else None
            out.append(
                {
                    "type": ev["type"],
                    "item_id": ev.get("item_id"),
                    "timestamp": ev["timestamp"].isoformat(),
                    "quantity": int(ev["quantity"]),
                    "query": ev.get("query"),
                    "item": None
                    if item is None
                    else {
                        "title": item.title,
                        "category": item.category,
                        "brand": item.brand,
                        "price": item.price,
                        "currency": item.currency,
                    },
                }
            )
        return out

    def search_synonyms(self) -> dict[str, Any]:
        """The synonyms in use: the live search service's, or the saved file's when none is loaded."""
        svc = self._bundle.services.get("search")
        synonyms = cast(SearchService, svc).synonyms if svc is not None else read_synonyms(self.settings)
        return synonyms.to_dict()

    def set_search_synonyms(self, synonyms: Synonyms) -> Literal["live", "next_training"]:
        """Save ``synonyms`` for the shop and apply them to the loaded search service at once (they are
        expanded at query time: no re-index); ``"next_training"`` when no search service is loaded."""
        write_synonyms(self.settings, synonyms)  # validates before writing
        svc = self._bundle.services.get("search")
        if svc is None:
            return "next_training"
        cast(SearchService, svc).set_synonyms(synonyms)
        cast(SearchService, svc).reload_synonyms()  # notes the file's time: not applied again on sync
        return "live"

    def search_rules(self) -> list[dict[str, Any]]:
        """The merchandising rules in use: the live search service's, or the saved file's."""
        svc = self._bundle.services.get("search")
        if svc is None:
            return read_rules(self.settings)
        cast(SearchService, svc).reload_rules()  # another worker's save, before this one's next sync
        return cast(SearchService, svc).rules

    def set_search_rules(self, rules: Iterable[Mapping[str, Any]]) -> Literal["live", "next_training"]:
        """Save merchandising ``rules`` and apply them to the loaded search service at once (they
        reorder the ranked list: no re-index); ``"next_training"`` when no search service is loaded.

        Raises :class:`DataError` naming every item id the store does not have (and where it is).
        """
        rules = [dict(r) for r in rules]
        where: dict[str, str] = {}
        for i, rule in enumerate(rules):
            for key in ("pin", "hide", "boost", "bury"):
                for j, ref in enumerate(rule.get(key) or ()):
                    iid = str(ref["id"] if key == "pin" else ref)
                    where.setdefault(iid, f"rules[{i}].{key}[{j}]")
        found = {it.id for it in self.store.get_items(list(where))} if where else set()
        unknown = [i for i in where if i not in found]
        if unknown:
            raise DataError(
                f"{len(unknown)} item id(s) not in the catalogue: "
                + ", ".join(f"{i!r} ({where[i]})" for i in unknown[:20]),
                value=unknown[:100],
                expected="ids of stored items",
                location=Location(field=where[unknown[0]]),
            )
        write_rules(self.settings, rules)  # validates before writing
        svc = self._bundle.services.get("search")
        if svc is None:
            return "next_training"
        cast(SearchService, svc).reload_rules()  # applies the saved file and notes its time
        return "live"

    def search_fields(self) -> dict[str, Any]:
        """BM25 field weights: ``weights`` in use (or being applied), ``configured`` ([search] fields),
        ``source`` (``saved`` through the API or ``config``), ``indexed`` (fields the serving index
        holds) and ``reindex`` (a background build of missing fields: state, rows done/total)."""
        configured = check_field_weights(self.settings.search.fields, max_weight=float("inf"))
        saved = read_field_weights(self.settings)
        out: dict[str, Any] = {
            "weights": saved or configured,
            "configured": configured,
            "source": "config" if saved is None else "saved",
            "indexed": None,
            "reindex": None,
        }
        svc = self._bundle.services.get("search")
        if svc is not None:
            cast(SearchService, svc).reload_fields()  # another worker's save, before the next sync
            out.update(cast(SearchService, svc).field_settings())
        return out

    def set_search_fields(
        self, weights: Mapping[str, float] | None
    ) -> Literal["live", "reindexing", "next_training"]:
        """Save BM25 field ``weights`` (``None``: remove the saved ones, back to ``[search] fields``)
        and apply them to the loaded search service: ``"live"`` from the next query, ``"reindexing"``
        while a field the index was built without is indexed in the background (see
        :meth:`search_fields`), ``"next_training"`` when no search service is loaded."""
        write_field_weights(self.settings, weights)  # validates before writing
        svc = self._bundle.services.get("search")
        if svc is None:
            return "next_training"
        service = cast(SearchService, svc)
        service.reload_fields()  # applies the saved (or configured) weights and notes the file's time
        reindex = service.field_settings()["reindex"]
        return "reindexing" if reindex is not None and reindex["state"] == "running" else "live"

    def chat(
        self,
        message: str,
        conversation_id: str | None = None,
        user_id: str | None = None,
        language: str | None = None,
        client: Client | None = None,
    ) -> ChatReply:
        """One assistant turn; ``user_id`` must come from authentication, never from the message.

        ``client`` (:class:`shopmind.assistant.tools.Client`: API key id, client IP) feeds the
        per-key / per-IP limits of anonymous order checks.
        """
        return self._bundle.get("assistant").chat(
            message, conversation_id=conversation_id, user_id=user_id, language=language, client=client
        )

    def describe(self, item_id: str, style: str | None = None, language: str | None = None) -> Description:
        """Product copy (:meth:`AssistantService.describe`); ``None`` keeps the service's default."""
        options = DescribeOptions()
        if style:
            options["style"] = style
        if language:
            options["language"] = language
        return self._bundle.get("assistant").describe(item_id, **options)

    def review_insights(self, item_id: str) -> dict[str, Any]:
        return self._bundle.get("assistant").review_insights(item_id)

    def forecast(
        self,
        item_id: str | None = None,
        horizon: int | None = None,
        *,
        category: str | None = None,
        **policy: Unpack[ForecastPolicy],
    ) -> dict[str, Any]:
        """History, forecast with intervals and (items) the reorder point; shop total without ids."""
        svc = self._bundle.get("forecast")
        return svc.forecast(item_id, category=category, horizon=horizon, **policy)

    def inventory(self, **options: Unpack[InventoryOptions]) -> list[dict[str, Any]]:
        """Inventory advice per item (``ForecastService.inventory`` keywords), riskiest first."""
        return self._bundle.get("forecast").inventory(**options)

    # ------------------------------------------------------------------ hand-off tickets
    def tickets(self, *, status: str | None = None, limit: int = 50, offset: int = 0) -> TicketPage:
        """Tickets newest first (``Store.tickets_page``) with the number matching ``status``."""
        return TicketPage(
            self.store.tickets_page(status=status, limit=limit, offset=offset),
            self.store.count_tickets(status),
        )

    def ticket(self, ticket_id: str) -> TicketDetail:
        """One ticket and the turns its conversation had after the hand-off (the reply, follow-ups)."""
        ticket = self.store.get_ticket(ticket_id)
        if ticket is None:
            raise UnknownIdError("unknown ticket", value=ticket_id, expected="a ticket id from GET /tickets")
        created = ticket.created_at
        later = [
            {"role": m["role"], "text": m["text"], "at": m["at"]}
            for m in self.store.conversation(ticket.conversation_id)
            if created is not None and m["at"] > created
        ]
        return TicketDetail(ticket, later[:TICKET_LATER_TURNS])

    def conversations(self, *, limit: int = 50, offset: int = 0) -> ConversationPage:
        """Recent assistant conversations (``Store.conversations_page``) and their number."""
        return ConversationPage(
            self.store.conversations_page(limit=limit, offset=offset), self.store.count_conversations()
        )

    def conversation_turns(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every turn of one conversation (role, text, at), oldest first; unknown ids raise."""
        turns = [
            {"role": m["role"], "text": m["text"], "at": m["at"]}
            for m in self.store.conversation(conversation_id)
        ]
        if not turns:
            raise UnknownIdError(
                "unknown conversation", value=conversation_id, expected="an id from GET /conversations"
            )
        return turns

    def update_ticket(
        self,
        ticket_id: str,
        *,
        status: str | None = None,
        assignee: str | None = None,
        note: str | None = None,
        by: str | None = None,
    ) -> TicketDetail:
        """Change a ticket's status (its life cycle: ``store.base.TICKET_TRANSITIONS``), assignee, note."""
        if self.store.update_ticket(ticket_id, status=status, assignee=assignee, note=note, by=by) is None:
            raise UnknownIdError("unknown ticket", value=ticket_id, expected="a ticket id from GET /tickets")
        return self.ticket(ticket_id)


def _warm_up(services: Services) -> None:
    """Exercise lazily initialised parts (tokenizer dictionaries, the query encoder) before the swap.

    Without this the first customer after a swap waits for them (seconds on a busy machine: jieba's
    dictionary, the sentence encoder); the bundle is only swapped in once it is fully ready.
    """
    search = services.get("search")
    if search is not None:
        for query in ("warm up", "预热 耳机"):
            try:
                search.search(query, k=1, log=False)
            except Exception:
                log.warning("search warm-up query %r failed", query, exc_info=True)
    rec = services.get("recommend")
    if rec is not None:
        try:
            rec.trending(1)
        except Exception:
            log.warning("recommend warm-up failed", exc_info=True)


def rec_filters(filters: Mapping[str, Any] | RecFilters | None) -> RecFilters | None:
    """A mapping of business filters as ``shopmind.recommend.filters.RecFilters`` (validated).

    Keys: ``in_stock``, ``category`` (path prefix), ``min_price``, ``max_price``, ``exclude_seen``,
    ``exclude_purchased``, ``exclude_ids``, ``boosts``, ``brand_boosts``, ``category_boosts``.
    """
    if filters is None or isinstance(filters, RecFilters):
        return filters
    try:
        return RecFilters(**filters)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first.get("loc", ())) or None
        raise DataError(
            f"invalid recommendation filter: {first.get('msg')}",
            value=first.get("input"),
            location=Location(field=field),
        ) from exc


def _now() -> datetime:
    return datetime.now(UTC)


def _integrity_text(report: IntegrityReport | None) -> str:
    if report is None:
        return "not checked"
    if report.legacy:
        return "unverified (published before checksums)"
    if not report.ok:
        return f"failed: {report.summary()}"
    return f"verified ({report.files} files, {report.bytes / 1e6:.1f} MB, {report.seconds:.2f}s)"


def _record_dict(rec: TrainingRunRecord) -> dict[str, Any]:
    """A store ``TrainingRunRecord`` in :meth:`TrainingStatus.to_dict`'s shape (plus who and when)."""
    owner = rec.owner or {}
    status = TrainingStatus(
        state=rec.state,
        run_id=rec.id,
        components=rec.components,
        started_at=rec.started_at,
        finished_at=rec.finished_at,
        seconds=rec.seconds,
        error=rec.error,
        progress=list(rec.progress),
    )
    return {
        **status.to_dict(),
        "heartbeat_at": rec.heartbeat_at.isoformat() if rec.heartbeat_at else None,
        "host": owner.get("host"),
        "pid": owner.get("pid"),
    }
