"""Semantic rankings do not depend on the CPU: same rows, same order, same similarities.

Duplicate products have equal vectors, so their similarities tie. Before the fix the order of tied
rows came from NumPy's ``argpartition``, whose tie order differs between its AVX-512, AVX2 and
baseline implementations, and the similarities from float32 BLAS / usearch kernels, which differ in
the last bit between instruction sets: on the chorus set the semantic and hybrid runs, and so the
reranker's training candidates, differed between an AVX-512 and an AVX2 CPU. Now ties go to the lower
row and similarities are accumulated in float64; a fresh process per NumPy dispatch level and
OpenBLAS kernel this CPU can run must give bit-identical results.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shopmind.search.retrieval import top_rows as _top
from shopmind.search.semantic import SemanticIndex, exact_similarities, top_n

HERE = Path(__file__).parent


def _tied_vectors() -> tuple[np.ndarray, np.ndarray]:
    """2,000 unit vectors where rows 100–139 repeat row 40 (40 duplicates) and queries hit them."""
    rng = np.random.default_rng(3)
    v = rng.normal(size=(2000, 32)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v[100:140] = v[40]
    v[500:520] = v[7]
    q = np.vstack([v[40], v[7], 0.6 * v[40] + 0.8 * v[7], rng.normal(size=(3, 32))]).astype(np.float32)
    return v, q / np.linalg.norm(q, axis=1, keepdims=True)


@pytest.mark.parametrize("threshold", [10**9, 100], ids=["exact", "hnsw"])
def test_ties_go_to_the_lower_row(threshold):
    v, q = _tied_vectors()
    index = SemanticIndex(v, ann_threshold=threshold)
    index._maybe_build_ann()
    rows, sims = index.top(q[0], 10)
    assert np.all(sims == sims[0]) and set(rows.tolist()) <= {40, *range(100, 140)}
    assert np.all(np.diff(rows) > 0)
    if threshold > len(v):  # exact search sees all 41 copies: the ten lowest rows
        assert rows.tolist() == [40, *range(100, 109)]
        alive = np.ones(len(v), bool)
        alive[[40, 100, 101]] = False
        assert index.top(q[0], 5, alive=alive)[0].tolist() == list(range(102, 107))
    rows, sims = index.top(q[2], 50)
    assert np.all(np.diff(sims) <= 0)
    for s in np.unique(sims):  # within every run of equal similarity, rows ascend
        assert np.all(np.diff(rows[sims == s]) > 0)


def test_exact_similarities_are_float64_dot_products_rounded_once():
    v, q = _tied_vectors()
    want = (v.astype(np.float64) @ q[3].astype(np.float64)).astype(np.float32)
    assert np.array_equal(exact_similarities(v, q[3]), want)
    rows, sims = top_n(np.array([5, 3, 9, 1]), np.array([0.5, 0.7, 0.7, 0.1], np.float32), 3)
    assert rows.tolist() == [3, 9, 5] and sims.tolist() == pytest.approx([0.7, 0.7, 0.5])


def test_keyword_top_breaks_ties_at_the_cut_by_row():
    rows = np.array([9, 4, 7, 1, 8, 3, 6])
    key = np.array([2.0, 5.0, 2.0, 2.0, 1.0, 2.0, 5.0])
    got, keys = _top(rows, key, 4)
    # 4 and 6 score 5; of the four rows scoring 2, the lowest two (1 and 3) make the cut
    assert got.tolist() == [4, 6, 1, 3] and keys.tolist() == [5.0, 5.0, 2.0, 2.0]
    full_rows = _top(rows, key, len(rows))[0]
    for n in (1, 2, 3, 5, 6, 7, 10):
        assert _top(rows, key, n)[0].tolist() == full_rows[:n].tolist()


def _variants() -> list[dict[str, str]]:
    """Process environments: NumPy SIMD dispatch levels × OpenBLAS kernels this CPU can execute."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return [{}]
    flags = set(Path("/proc/cpuinfo").read_text().split()) if Path("/proc/cpuinfo").exists() else set()
    out: list[dict[str, str]] = [{}, {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"}]
    if "avx512f" in flags:
        out.append({"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"})
    out.append({"OPENBLAS_CORETYPE": "Prescott"})
    if {"avx2", "fma"} <= flags:
        out.append({"OPENBLAS_CORETYPE": "Haswell"})
    return out


@pytest.mark.slow
def test_same_ranking_under_every_numpy_dispatch_and_blas_kernel(tmp_path):
    v, q = _tied_vectors()
    np.savez(tmp_path / "in.npz", vectors=v, queries=q)
    results = []
    for i, extra in enumerate(_variants()):
        env = {
            k: v for k, v in os.environ.items() if k not in ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE")
        }
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", **extra)
        target = tmp_path / f"out-{i}.npz"
        subprocess.run(
            [sys.executable, str(HERE / "semantic_topn.py"), str(tmp_path / "in.npz"), str(target)],
            env=env,
            check=True,
            timeout=300,
        )
        results.append((extra, dict(np.load(target))))
    (_, first), rest = results[0], results[1:]
    for extra, got in rest:
        assert got.keys() == first.keys()
        differ = [k for k in first if not np.array_equal(first[k], got[k])]
        assert not differ, f"{extra}: {differ[:5]}"
