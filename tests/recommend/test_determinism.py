"""A user's scores do not depend on the BLAS kernel, the batch size or the input dtype.

Every model is fitted once and saved; fresh processes pinned to each OpenBLAS kernel this CPU can run
(``OPENBLAS_CORETYPE``) load it and score all users in batches of 1, 5 and all, and the same histories
through fold-in as float32 and float64 rows (``kernel_scores.py``). All of them must agree to 1e-9
relative. Before the fix, ``ease_context``'s fusion z-scored rounding noise on near-flat rows and
disagreed by orders of magnitude under the Haswell kernel.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_contract import FAST

from shopmind.recommend import ALGORITHMS, NEURAL, get_algorithm
from shopmind.recommend.base import Runtime

HERE = Path(__file__).parent
RTOL, ATOL = 1e-9, 1e-12

NEURAL_RTOL = 1e-5
"""torch's own CPU kernels (not OpenBLAS) run the neural models in float32: their scores agree to
float32 rounding across batch sizes, which the contract test's ranking checks already cover."""


def cpu_kernels() -> list[str]:
    """OpenBLAS core types this CPU can execute (x86-64), plus the default ("")."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return [""]
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return [""]
    kernels = ["", "Prescott"]
    if "sse4_2" in flags:
        kernels.append("Nehalem")
    if "avx" in flags:
        kernels.append("Sandybridge")
    if {"avx2", "fma"} <= flags:
        kernels += ["Haswell", "Zen"]
    if {"avx512f", "avx512bw", "avx512vl"} <= flags:
        kernels.append("SkylakeX")
    return kernels


@pytest.fixture(scope="module")
def scored(block_dataset, tmp_path_factory) -> dict[str, dict[str, np.ndarray]]:
    """Kernel name → the arrays ``kernel_scores.py`` wrote under that kernel."""
    root = tmp_path_factory.mktemp("kernels")
    models = root / "models"
    models.mkdir()
    names = [n for n in sorted(ALGORITHMS) if n not in NEURAL]
    try:
        import torch  # noqa: F401

        names += sorted(NEURAL)
    except ImportError:
        pass
    for name in names:
        get_algorithm(name)(FAST.get(name), Runtime(seed=7, threads=1)).fit(block_dataset).save(models / name)
    np.save(root / "history.npy", block_dataset.matrix()[:6].toarray())
    out: dict[str, dict[str, np.ndarray]] = {}
    for kernel in cpu_kernels():
        env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        if kernel:
            env["OPENBLAS_CORETYPE"] = kernel
        target = root / f"scores-{kernel or 'default'}.npz"
        subprocess.run(
            [sys.executable, str(HERE / "kernel_scores.py"), str(models), str(target)],
            env=env,
            check=True,
            timeout=600,
        )
        with np.load(target) as data:
            out[kernel or "default"] = {k: data[k] for k in data.files}
    return out


def test_scores_agree_across_kernels_batches_and_dtypes(scored) -> None:
    reference = scored["default"]
    assert reference, "no model was scored"
    failures = []
    for kernel, arrays in scored.items():
        assert arrays.keys() == reference.keys()
        for key, got in arrays.items():
            name, path, *_ = key.split("/")
            # every path of one model is compared with the same model's batch-of-all scores
            base = reference[f"{name}/users/{len(got)}"] if path == "users" else reference[key]
            if path == "history":
                base = reference[f"{name}/history/float64/all"]
            rtol = NEURAL_RTOL if name in NEURAL else RTOL
            if not np.allclose(got, base, rtol=rtol, atol=ATOL, equal_nan=True):
                err = np.max(
                    np.abs(got - base) / np.maximum(np.abs(base), 1e-300), where=np.isfinite(base), initial=0
                )
                failures.append(f"{kernel}: {key} (max relative difference {err:.3g})")
    assert not failures, "scores depend on kernel/batch/dtype:\n" + "\n".join(failures)
