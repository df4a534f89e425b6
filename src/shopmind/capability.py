"""What every capability (recommend, search, assistant, forecast) offers the pipeline and the engine.

A capability is a module with

    NAME: str
    def train(ctx: TrainContext, out_dir: Path) -> dict      # writes artifacts, returns manifest info

and a service class satisfying :class:`CapabilityService`, which loads those artifacts for serving.
This module sits below every capability: it imports only settings, data and the store contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, Self

from shopmind.config import Settings
from shopmind.data.dataset import Dataset, EventWeights
from shopmind.store.base import Store


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


class TrainFunction(Protocol):
    def __call__(self, ctx: TrainContext, out_dir: Path) -> dict[str, Any]: ...


class CapabilityService(Protocol):
    """A trained capability loaded for serving from one run's ``<run>/<name>`` folder.

    ``deps`` are services loaded before it in the registry's order (for example search receives the
    recommend service), passed by keyword when the class's ``load`` names them.
    """

    @classmethod
    def load(cls, path: Path, store: Store, **deps: Any) -> Self: ...
