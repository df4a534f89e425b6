"""Composite recommenders: one way to build, fit, save, load and nest component models.

A composite (``hybrid``, ``stacked``, ``seq_hybrid``, ``ease_context_fused``) is an :class:`Ensemble`:
its config names its components as ``{algorithm name: config}`` (``components``), each built through the
registry (:mod:`shopmind.recommend.registry`) with the composite's :class:`~shopmind.recommend.base.Runtime`.
A component may itself be an ensemble (nesting), except in composites with ``single_components`` set;
no ensemble contains its own algorithm.

Saved layout (no pickle; each component saves itself, nested ensembles recursively)::

    <dir>/model.json, state.npz          the composite (Recommender.save)
    <dir>/components.json                component names, in fitting order
    <dir>/components/<name>/…            each fitted component

:func:`load_model` restores any saved model from the algorithm its ``model.json`` names, so a
composite loads its components without knowing their classes. Artifacts written before
``components.json`` existed load their components in the order the composite's config gives
(:meth:`Ensemble.fitted_names`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from shopmind.data.dataset import Dataset
from shopmind.errors import ArtifactError, ConfigError
from shopmind.recommend.base import AlgorithmConfig, Recommender, Runtime
from shopmind.recommend.registry import ALGORITHMS, get_algorithm, make_algorithm

log = logging.getLogger(__name__)

COMPONENTS_DIR = "components"
"""Sub-folder of a saved composite holding one folder per component."""

COMPONENTS_FILE = "components.json"
"""The saved composite's component names, in fitting order."""


class EnsembleConfig(AlgorithmConfig):
    """Config of a composite: ``components`` maps an algorithm name to its config (missing keys:
    the algorithm's defaults). Subclasses set their own default components."""

    components: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="algorithm name → config of each component model"
    )


def is_ensemble(name: str) -> bool:
    """Whether the registered algorithm ``name`` is a composite."""
    return issubclass(get_algorithm(name), Ensemble)


def check_components(owner: str, specs: Mapping[str, Any], *, single: bool) -> None:
    """``ConfigError`` unless every component names a registered algorithm other than ``owner`` (and,
    with ``single``, not a composite); each config must be a table."""
    if not specs:
        raise ConfigError(f"{owner} needs at least one component", value={})
    unknown = sorted(n for n in specs if n not in ALGORITHMS)
    if unknown:
        raise ConfigError(
            f"{owner}: unknown component", value=unknown, expected=", ".join(sorted(ALGORITHMS))
        )
    if owner in specs:
        raise ConfigError(f"a {owner} cannot contain itself", value=owner)
    if single:
        nested = sorted(n for n in specs if is_ensemble(n))
        if nested:
            raise ConfigError(
                f"{owner}: components must be single models", value=nested, expected="no composite"
            )
    bad = sorted(n for n, cfg in specs.items() if not isinstance(cfg, Mapping))
    if bad:
        raise ConfigError(f"{owner}: a component's config must be a table", value=bad)


def save_components(directory: Path, models: Mapping[str, Recommender]) -> None:
    """Each model under ``directory/components/<name>`` and the names, in order, in ``components.json``."""
    for name, model in models.items():
        model.save(directory / COMPONENTS_DIR / name)
    (directory / COMPONENTS_FILE).write_text(json.dumps(list(models)))


def load_model(directory: Path, runtime: Runtime | None = None) -> Recommender:
    """A saved model of any registered algorithm: the one its ``model.json`` names."""
    meta_path = directory / "model.json"
    if not meta_path.exists():
        raise ArtifactError("model manifest missing", value=str(meta_path))
    algorithm = json.loads(meta_path.read_text()).get("algorithm")
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        raise ArtifactError(
            "saved model names an unknown algorithm",
            value=f"{meta_path}: {algorithm!r}",
            expected=", ".join(sorted(ALGORITHMS)),
        )
    return get_algorithm(algorithm).load(directory, runtime)


def load_components(
    directory: Path, runtime: Runtime | None, default: Sequence[str]
) -> dict[str, Recommender]:
    """The components saved by :func:`save_components` in their saved order (``default`` when the
    folder has no ``components.json``: artifacts saved before it existed)."""
    path = directory / COMPONENTS_FILE
    names = json.loads(path.read_text()) if path.exists() else list(default)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ArtifactError("components.json must list component names", value=str(path))
    return {n: load_model(directory / COMPONENTS_DIR / n, runtime) for n in names}


class Ensemble(Recommender):
    """Base of the composite recommenders (module docstring).

    Subclasses implement scoring from ``self.models`` (name → fitted component) and may narrow
    :meth:`fitted_names` (e.g. components with weight 0 are not fitted); saving and loading the
    components is done here, a subclass's own state through ``_state``/``save``/``_restore`` as usual
    (calling ``super()``).
    """

    single_components: ClassVar[bool] = False
    """True: the components must be single models (no composite inside)."""

    config: EnsembleConfig

    def __init__(
        self, config: AlgorithmConfig | dict[str, Any] | None = None, runtime: Runtime | None = None
    ) -> None:
        super().__init__(config, runtime)
        check_components(self.name, self.config.components, single=self.single_components)
        self.models: dict[str, Recommender] = {}

    def fitted_names(self) -> list[str]:
        """The components fitted, in order (default: every configured one)."""
        return list(self.config.components)

    def make_component(self, name: str) -> Recommender:
        """An unfitted component ``name`` with its configured config and this model's runtime."""
        return make_algorithm(name, self.config.components[name], self.runtime)

    def fit_components(self, dataset: Dataset, names: Sequence[str] | None = None) -> dict[str, Recommender]:
        """``names`` (default :meth:`fitted_names`) built and fitted on ``dataset``, in order."""
        models: dict[str, Recommender] = {}
        for name in self.fitted_names() if names is None else names:
            started = time.perf_counter()
            models[name] = self.make_component(name).fit(dataset)
            log.info("%s: fitted %s in %.1fs", self.name, name, time.perf_counter() - started)
        return models

    def save(self, directory: Path) -> None:
        super().save(directory)
        save_components(directory, self.models)

    def _restore(self, arrays: dict[str, Any], directory: Path) -> None:
        self.models = load_components(directory, self.runtime, self.fitted_names())


__all__ = [
    "COMPONENTS_DIR",
    "COMPONENTS_FILE",
    "Ensemble",
    "EnsembleConfig",
    "check_components",
    "is_ensemble",
    "load_components",
    "load_model",
    "save_components",
]
