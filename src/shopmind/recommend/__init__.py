"""Recommendation algorithms behind one interface (``shopmind.recommend.base.Recommender``).

``ALGORITHMS`` maps each algorithm name to ``"module:Class"``; modules are imported lazily by
:func:`get_algorithm`, so torch is only loaded for the neural models. Every module registers its
classes with ``@register`` (``shopmind.recommend.base.register``) as well.
"""

from __future__ import annotations

import importlib

from shopmind.errors import ConfigError
from shopmind.recommend.base import AlgorithmConfig, Recommender, Runtime, register

ALGORITHMS: dict[str, str] = {
    "popularity": "shopmind.recommend.popularity:Popularity",
    "trending": "shopmind.recommend.popularity:Trending",
    "user_knn": "shopmind.recommend.knn:UserKNN",
    "item_knn": "shopmind.recommend.knn:ItemKNN",
    "sar": "shopmind.recommend.sar:SAR",
    "seq_cooc": "shopmind.recommend.seqcooc:SeqCooc",
    "ease": "shopmind.recommend.ease:EASE",
    "ease_context": "shopmind.recommend.ease_context:ContextEASE",
    "ease_context_fused": "shopmind.recommend.ease_fusion:FusedContextEASE",
    "als": "shopmind.recommend.mf:ALS",
    "bpr": "shopmind.recommend.mf:BPR",
    "content": "shopmind.recommend.content:ContentBased",
    "hybrid": "shopmind.recommend.hybrid:Hybrid",
    "seq_rules": "shopmind.recommend.seqrules:SequentialRules",
    "stacked": "shopmind.recommend.stacking:Stacked",
    # neural models: torch is imported only when one of these is asked for
    "neumf": "shopmind.recommend.neural:NeuMF",
    "sasrec": "shopmind.recommend.sequential:SASRec",
    "seq_hybrid": "shopmind.recommend.seqhybrid:SequentialHybrid",
}
"""Algorithm name → ``"module:Class"`` (lazily imported)."""

NEURAL: frozenset[str] = frozenset({"neumf", "sasrec", "seq_hybrid"})
"""Names whose modules import torch (callers may skip them when torch is unwanted)."""


def get_algorithm(name: str) -> type[Recommender]:
    """The recommender class registered under ``name``; raises ``ConfigError`` for unknown names."""
    if name not in ALGORITHMS:
        raise ConfigError("unknown recommender", value=name, expected=", ".join(sorted(ALGORITHMS)))
    module, _, cls_name = ALGORITHMS[name].partition(":")
    mod = importlib.import_module(module)
    if name in register.classes:
        return register.classes[name]
    cls = getattr(mod, cls_name, None)
    if cls is None:
        raise ConfigError("algorithm class not found", value=ALGORITHMS[name], expected="module:Class")
    return cls


def make_algorithm(name: str, config: dict | None = None, runtime: Runtime | None = None) -> Recommender:
    """Instantiate ``name`` with a config dict (validated by its ``Config``)."""
    return get_algorithm(name)(config or None, runtime)


__all__ = [
    "ALGORITHMS",
    "NEURAL",
    "AlgorithmConfig",
    "Recommender",
    "Runtime",
    "get_algorithm",
    "make_algorithm",
    "register",
]
