"""What every capability (recommend, search, assistant, forecast) offers the pipeline and the engine.

A capability is a module with

    NAME: str
    def train(ctx: TrainContext, out_dir: Path) -> dict      # writes artifacts, returns manifest info

and a service class satisfying :class:`CapabilityService`, which loads those artifacts for serving.
This module sits below every capability: it imports only settings, data and the store contract.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, Self

from shopmind.config import Settings
from shopmind.data.dataset import Dataset, EventWeights
from shopmind.store.base import Store


class TrainProgress:
    """How a training reports what it is doing: one interface for the CLI's progress bars, the API's
    background training and the store's shared training record.

    The pipeline calls :meth:`plan` with the components about to train and :meth:`begin` / :meth:`end`
    around each one. A component calls ``ctx.progress("text")`` for a step's description and
    ``ctx.progress.count(done, total, unit)`` for steps it can count (products embedded, recommender
    candidates scored, demand series fitted); ``done`` reaches ``total`` when the component is through.
    A new ``total`` or ``unit`` starts a new phase of the same component. Every method here does nothing;
    implementations override what they show. Calls come from the training thread only.
    """

    def __call__(self, message: str) -> None:
        self.message(message)

    def message(self, text: str) -> None:
        """A step's description (shown beside the component's bar, kept in the training record)."""

    def plan(self, components: Sequence[str]) -> None:
        """The components about to train, in order."""

    def begin(self, component: str) -> None:
        """``component`` starts training; later messages and counts are its own."""

    def count(self, done: int, total: int | None = None, unit: str = "") -> None:
        """The current component has done ``done`` of ``total`` (None: unknown) ``unit``."""

    def end(self, component: str, ok: bool = True) -> None:
        """``component`` finished (``ok``) or failed."""


class MessageProgress(TrainProgress):
    """Messages to a plain callable (``list.append``, ``print``); counts are dropped."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def message(self, text: str) -> None:
        self.write(text)


class TeeProgress(TrainProgress):
    """Every call to each of ``sinks`` in turn."""

    def __init__(self, *sinks: TrainProgress) -> None:
        self.sinks = sinks

    def message(self, text: str) -> None:
        for sink in self.sinks:
            sink.message(text)

    def plan(self, components: Sequence[str]) -> None:
        for sink in self.sinks:
            sink.plan(components)

    def begin(self, component: str) -> None:
        for sink in self.sinks:
            sink.begin(component)

    def count(self, done: int, total: int | None = None, unit: str = "") -> None:
        for sink in self.sinks:
            sink.count(done, total, unit)

    def end(self, component: str, ok: bool = True) -> None:
        for sink in self.sinks:
            sink.end(component, ok)


def as_progress(progress: TrainProgress | Callable[[str], None] | None) -> TrainProgress:
    """``progress`` as a :class:`TrainProgress` (a plain message callable is wrapped)."""
    if isinstance(progress, TrainProgress):
        return progress
    return TrainProgress() if progress is None else MessageProgress(progress)


def progress_of(ctx: Any) -> TrainProgress:
    """The progress of a training context (or of any object with a ``progress`` message callable)."""
    return as_progress(getattr(ctx, "progress", None))


@dataclass
class ComponentSteps:
    """One component's progress: state, counts of its current phase, last message, time and ETA.

    ``eta_s`` = elapsed time of the phase / steps done in it × steps left (a constant rate since the
    phase began); None until a step of the phase is done or when ``total`` is unknown.
    """

    name: str
    state: str = "pending"  # pending | running | succeeded | failed
    done: int = 0
    total: int | None = None
    unit: str = ""
    message: str = ""
    started_at: datetime | None = None
    seconds: float | None = None
    eta_s: float | None = None
    _began: float = field(default=0.0, repr=False)  # monotonic start of the component
    _phase: tuple[float, int] = field(default=(0.0, 0), repr=False)  # monotonic start, done then

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "unit": self.unit,
            "message": self.message,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "seconds": self.seconds,
            "eta_s": self.eta_s,
        }


class ProgressBoard(TrainProgress):
    """Keeps every component's :class:`ComponentSteps` for status displays (the API, the dashboard).

    ``on_change()`` is called after each change (cheap: a writer marks itself dirty). Thread-safe.
    """

    MESSAGE_CHARS = 200

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self.components: dict[str, ComponentSteps] = {}
        self.current: str | None = None
        self.on_change = on_change
        self._lock = threading.Lock()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def plan(self, components: Sequence[str]) -> None:
        with self._lock:
            for name in components:
                self.components.setdefault(name, ComponentSteps(name))
        self._changed()

    def begin(self, component: str) -> None:
        now = time.monotonic()
        with self._lock:
            steps = self.components.setdefault(component, ComponentSteps(component))
            steps.state, steps.started_at, steps._began = "running", datetime.now(UTC), now
            steps._phase = (now, 0)
            self.current = component
        self._changed()

    def message(self, text: str) -> None:
        with self._lock:
            steps = self.components.get(self.current) if self.current else None
            if steps is None:
                return
            steps.message = str(text)[: self.MESSAGE_CHARS]
        self._changed()

    def count(self, done: int, total: int | None = None, unit: str = "") -> None:
        now = time.monotonic()
        with self._lock:
            steps = self.components.get(self.current) if self.current else None
            if steps is None:
                return
            total = None if total is None else max(0, int(total))
            done = max(0, int(done)) if total is None else min(max(0, int(done)), total)
            if (total, unit) != (steps.total, steps.unit) or done < steps.done:
                steps._phase = (now, done)  # a new phase: its rate is measured from here
            steps.done, steps.total, steps.unit = done, total, str(unit)[:40]
            started, done_then = steps._phase
            if total is not None and done >= total:
                steps.eta_s = 0.0
            elif total is not None and done > done_then:
                steps.eta_s = round((now - started) / (done - done_then) * (total - done), 1)
            else:
                steps.eta_s = None
            steps.seconds = round(now - steps._began, 1)
        self._changed()

    def end(self, component: str, ok: bool = True) -> None:
        now = time.monotonic()
        with self._lock:
            steps = self.components.setdefault(component, ComponentSteps(component))
            steps.state = "succeeded" if ok else "failed"
            steps.seconds = round(now - steps._began, 3) if steps._began else None
            steps.eta_s = 0.0 if ok else None
            if self.current == component:
                self.current = None
        self._changed()

    def snapshot(self) -> list[dict[str, Any]]:
        """Every planned or started component in order, as JSON-ready dicts."""
        with self._lock:
            return [steps.to_dict() for steps in self.components.values()]


@dataclass
class TrainContext:
    """What a component may read while training: the store, the settings, a shared Dataset, and
    where to report progress (:class:`TrainProgress`; a plain message callable is wrapped)."""

    store: Store
    settings: Settings
    progress: TrainProgress = field(default_factory=TrainProgress)

    def __post_init__(self) -> None:
        self.progress = as_progress(self.progress)

    @cached_property
    def weights(self) -> EventWeights:
        t = self.settings.training
        return EventWeights(weights=t.event_weights, half_life_days=t.half_life_days)

    @cached_property
    def dataset(self) -> Dataset:
        return self.store.load_dataset(self.weights)


class TrainFunction(Protocol):
    def __call__(self, ctx: TrainContext, out_dir: Path) -> dict[str, Any]: ...


class CapabilityService(Protocol):
    """A trained capability loaded for serving from one run's ``<run>/<name>`` folder.

    ``deps`` are services loaded before it in the registry's order (for example search receives the
    recommend service), passed by keyword when the class's ``load`` names them.
    """

    @classmethod
    def load(cls, path: Path, store: Store, **deps: Any) -> Self: ...
