"""The one algorithm registry: recommender name → class.

Each model module decorates its class with :func:`register`; ``shopmind/recommend/__init__.py``
imports every model module at its top, so the table is complete as soon as anything under
``shopmind.recommend`` is imported (no lazy discovery, no ``importlib``). This module imports only
:mod:`shopmind.recommend.base`, so every model module — composites included
(:mod:`shopmind.recommend.ensemble`) — can import it at module top without an import loop.

A model lives in the module named after it (``ease_context_fused`` → ``ease_context_fused.py``), except
the families in :data:`GROUPS`, which share their fitting code in one module.

Adding a recommender: a module ``<name>.py`` with a ``@register``-ed :class:`Recommender` subclass whose
``name`` is ``<name>``, and one import line in ``shopmind/recommend/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import ValidationError

from shopmind.errors import ConfigError
from shopmind.presets import Preset
from shopmind.recommend.base import Recommender, Runtime

ALGORITHMS: dict[str, type[Recommender]] = {}
"""Algorithm name → class, in registration order (filled by :func:`register`)."""

GROUPS: dict[str, tuple[str, ...]] = {
    # user- and item-kNN share the blocked sparse similarity code
    "knn": ("user_knn", "item_knn"),
    # trending is popularity with time decay (one scoring class for both)
    "popularity": ("popularity", "trending"),
}
"""Modules that hold several models (module → the model names it registers); every other model's
module is named after the model."""

R = TypeVar("R", bound=Recommender)


def register(cls: type[R]) -> type[R]:
    """Class decorator: add ``cls`` to :data:`ALGORITHMS` under ``cls.name`` (a name is registered once)."""
    name = cls.name
    known = ALGORITHMS.get(name)
    if known is not None and known is not cls:
        raise ConfigError(
            "recommender name registered twice",
            value=f"{name}: {known.__module__}.{known.__qualname__} and {cls.__module__}.{cls.__qualname__}",
            expected="one class per name",
        )
    ALGORITHMS[name] = cls
    return cls


def get_algorithm(name: str) -> type[Recommender]:
    """The recommender class registered under ``name``; ``ConfigError`` for unknown names."""
    cls = ALGORITHMS.get(name)
    if cls is None:
        raise ConfigError("unknown recommender", value=name, expected=", ".join(sorted(ALGORITHMS)))
    return cls


def make_algorithm(
    name: str, config: dict[str, Any] | None = None, runtime: Runtime | None = None
) -> Recommender:
    """Instantiate ``name`` with a config dict (validated by its ``Config``; empty/None = defaults)."""
    return get_algorithm(name)(config or None, runtime)


def torch_models() -> frozenset[str]:
    """Names whose classes import torch when fitted or loaded (``Recommender.uses_torch``)."""
    return frozenset(n for n, cls in ALGORITHMS.items() if cls.uses_torch)


def module_of(name: str) -> str:
    """The module (last dotted part) that holds ``name``: the name itself or its :data:`GROUPS` module."""
    for module, names in GROUPS.items():
        if name in names:
            return module
    return name


__all__ = ["ALGORITHMS", "GROUPS", "get_algorithm", "make_algorithm", "module_of", "register", "torch_models"]


def check_config(where: str, algorithm: str, cfg: Any) -> None:
    """``ConfigError`` starting with ``where`` (the file and table) unless ``algorithm`` is a registered
    recommender and ``cfg`` a table its ``Config`` accepts (presets, ``[recommend.params]`` settings)."""
    if algorithm not in ALGORITHMS:
        raise ConfigError(
            f"{where}: unknown recommender", value=algorithm, expected=", ".join(sorted(ALGORITHMS))
        )
    if not isinstance(cfg, dict):
        raise ConfigError(f"{where} must be a table", value=cfg)
    try:
        get_algorithm(algorithm).Config.model_validate(cfg)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"{where}: '{key}': {first['msg']}", value=first.get("input")) from exc


def check_presets(presets: Sequence[Preset]) -> None:
    """:func:`check_config` of every ``[recommend.<algorithm>]`` table of ``presets``."""
    for preset in presets:
        for algorithm, cfg in preset.recommend.items():
            check_config(f"{preset.path}: [recommend.{algorithm}]", algorithm, cfg)
