"""Recommendation algorithms behind one interface (``shopmind.recommend.base.Recommender``).

Every model module is imported here, at the top, so the one registry
(:mod:`shopmind.recommend.registry`: ``ALGORITHMS``, name → class) is complete whenever anything in
this package is used. A model's module is named after it (``ease_context_fused`` →
``ease_context_fused.py``) except the families listed in ``registry.GROUPS``. torch is imported only
when a neural model (``uses_torch``) is fitted or loaded.
"""

from __future__ import annotations

from shopmind.recommend import (  # noqa: F401 - imported to register their models
    als,
    bpr,
    content,
    ease,
    ease_context,
    ease_context_fused,
    hybrid,
    knn,
    neumf,
    popularity,
    sar,
    sasrec,
    seq_cooc,
    seq_hybrid,
    seq_rules,
    stacked,
)
from shopmind.recommend.base import AlgorithmConfig, Recommender, Runtime
from shopmind.recommend.registry import ALGORITHMS, get_algorithm, make_algorithm, register, torch_models

NEURAL: frozenset[str] = torch_models()
"""Names whose models import torch (callers may skip them when torch is unwanted)."""

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
