"""Rank fixed vectors with :class:`SemanticIndex` in a fresh process; run as a script.

``python semantic_topn.py IN.npz OUT.npz`` reads ``vectors`` and ``queries``, ranks every query's top
5 / 10 / 50 rows through the exact and the HNSW paths, with and without a filter, and writes the rows
and similarities, and the keyword side's top rows of tied scores (``engine._top``). The caller picks NumPy's SIMD dispatch (``NPY_DISABLE_CPU_FEATURES``) and the
OpenBLAS kernel (``OPENBLAS_CORETYPE``) of this process (``test_semantic_determinism.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from shopmind.search.retrieval import top_rows as _top
from shopmind.search.semantic import SemanticIndex


def main(source: Path, out: Path) -> None:
    data = np.load(source)
    vectors, queries = data["vectors"], data["queries"]
    alive = np.arange(len(vectors)) % 3 != 0
    arrays: dict[str, np.ndarray] = {}
    for path, threshold in (("exact", 10**9), ("hnsw", 100)):
        index = SemanticIndex(vectors, ann_threshold=threshold)
        index._maybe_build_ann()
        for qi, q in enumerate(queries):
            for n in (5, 10, 50):
                for name, mask in (("all", None), ("filtered", alive)):
                    rows, sims = index.top(q, n, alive=mask)
                    arrays[f"{path}/{qi}/{n}/{name}/rows"] = rows
                    arrays[f"{path}/{qi}/{n}/{name}/sims"] = sims
            arrays[f"{path}/{qi}/cosine"] = index.similarities(q, np.arange(0, len(vectors), 7))
    # keyword candidates: many equal scores (duplicate products), cut inside a run of ties
    rng = np.random.default_rng(5)
    rows = rng.permutation(5000)
    key = np.round(rng.gamma(2.0, size=5000), 1)
    for n in (10, 200, 1000):
        arrays[f"lexical/{n}/rows"], arrays[f"lexical/{n}/key"] = _top(rows, key, n)
    np.savez(out, **arrays)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
