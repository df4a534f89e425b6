"""Training pipeline: store → one artifact run directory per training, then publish atomically.

Each capability contributes a *component*: a module exposing

    NAME: str
    def train(ctx: TrainContext, out_dir: Path) -> dict   # writes artifacts, returns manifest info

and a service class that loads those artifacts for serving (see each ``service.py``). Training
writes into a fresh run directory; only when every component succeeded is the run published as
"current" (``ArtifactStore.publish``), so a failed run never touches what is being served.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from shopmind.config import Settings
from shopmind.data.dataset import Dataset, EventWeights
from shopmind.store.base import Store

log = logging.getLogger(__name__)

COMPONENTS: tuple[str, ...] = (
    "shopmind.recommend.service",
    "shopmind.search.service",
    "shopmind.assistant.service",
    "shopmind.forecast.service",
)
"""Modules trained by ``shopmind train``, in order. A module that does not exist yet is skipped."""


@dataclass
class TrainContext:
    """What a component may read while training: the store, the settings, a shared Dataset."""

    store: Store
    settings: Settings
    progress: Callable[[str], None] = field(default=lambda message: None)

    @cached_property
    def weights(self) -> EventWeights:
        t = self.settings.training
        return EventWeights(weights=t.event_weights, half_life_days=t.half_life_days)

    @cached_property
    def dataset(self) -> Dataset:
        return self.store.load_dataset(self.weights)


def available_components(names: Sequence[str] | None = None) -> list[Any]:
    mods = []
    for path in COMPONENTS:
        try:
            mod = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name and path.startswith(exc.name):
                continue
            raise
        if not hasattr(mod, "train"):
            continue
        if names is None or mod.NAME in names:
            mods.append(mod)
    return mods


def train_all(ctx: TrainContext, artifacts: Any, components: Sequence[str] | None = None) -> str:
    """Train every component into a new run and publish it; returns the run id.

    On any failure the run is marked failed (with the error) and the current pointer is untouched.
    """
    run = artifacts.new_run()
    manifest: dict[str, Any] = {"components": {}}
    try:
        _apply_retention(ctx, ctx.progress)  # expired personal data never reaches a model
        if components is not None:
            manifest["components"].update(_carry_over(artifacts.current(), run.path, set(components)))
        for mod in available_components(components):
            started = time.perf_counter()
            ctx.progress(f"training {mod.NAME}")
            info = mod.train(ctx, run.path / mod.NAME)
            manifest["components"][mod.NAME] = {
                "seconds": round(time.perf_counter() - started, 3),
                **(info or {}),
            }
            log.info("trained %s in %.2fs", mod.NAME, manifest["components"][mod.NAME]["seconds"])
    except Exception as exc:
        artifacts.fail(run, f"{type(exc).__name__}: {exc}")
        raise
    artifacts.publish(run, manifest)
    return run.id


def _carry_over(current: Any, run_path: Path, retrained: set[str]) -> dict[str, Any]:
    """Copy the components *not* being retrained from the current run into the new one.

    A partial training (``components=[...]``) must still publish a complete run, or serving would
    lose every capability that was not retrained. Files are hard-linked (artifacts are never modified
    in place) and copied where links are impossible.
    """
    if current is None:
        return {}
    carried: dict[str, Any] = {}
    previous = current.manifest().get("components", {})
    for name, info in previous.items():
        source = current.path / name
        if name in retrained or not source.is_dir():
            continue
        shutil.copytree(source, run_path / name, copy_function=_link_or_copy)
        carried[name] = {**info, "carried_from": current.id}
    return carried


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _apply_retention(ctx: Any, progress: Callable[[str], None]) -> None:
    """``settings.privacy`` retention (:func:`shopmind.privacy.apply_retention`) before data is read."""
    privacy = getattr(getattr(ctx, "settings", None), "privacy", None)
    store = getattr(ctx, "store", None)
    if privacy is None or store is None or not hasattr(store, "purge_before"):
        return
    from shopmind.privacy import apply_retention

    result = apply_retention(store, privacy, requested_by="training")
    if result.active:
        progress(f"retention: deleted {result.counts}")
