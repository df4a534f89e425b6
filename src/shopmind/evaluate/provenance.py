"""What produced a benchmark figure: library versions, BLAS, platform — recorded in every ``--json``.

A figure that cannot be reproduced is usually explained by one of these (a changed library default, a
different BLAS kernel, a different thread count), so each evaluation JSON carries them.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from typing import Any

PACKAGES = (
    "shopmind",
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "implicit",
    "cornac",
    "lightgbm",
    "bm25s",
    "onnxruntime",
    "sentence-transformers",
    "transformers",
    "usearch",
    "torch",
    "statsforecast",
)
"""Distributions whose versions are recorded (absent ones are left out)."""


def library_versions() -> dict[str, str]:
    """``{distribution: version}`` of :data:`PACKAGES` that are installed."""
    out: dict[str, str] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def provenance(threads: int | None = None) -> dict[str, Any]:
    """Versions, Python, platform, BLAS libraries (threadpoolctl) and the thread count asked for."""
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "versions": library_versions(),
    }
    if threads is not None:
        info["threads"] = threads
    from threadpoolctl import threadpool_info  # a scikit-learn dependency

    info["blas"] = [
        {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
        for p in threadpool_info()
    ]
    return info
