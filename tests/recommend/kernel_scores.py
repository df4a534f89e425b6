"""Score saved models through several code paths; run as a script in a fresh process.

``python kernel_scores.py MODELS_DIR OUT.npz`` loads every model saved under ``MODELS_DIR/<name>``
and writes, per model, the scores of all users computed in batches of 1, 5 and all users, plus the
fold-in scores of the same histories as float32 and float64 rows. The caller sets
``OPENBLAS_CORETYPE`` to pick the BLAS kernel this process runs (``test_determinism.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from shopmind.recommend import get_algorithm
from shopmind.recommend.base import Runtime


def in_batches(fn, n: int, size: int) -> np.ndarray:
    return np.vstack([fn(np.arange(start, min(start + size, n))) for start in range(0, n, size)])


def main(models_dir: Path, out: Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    history = np.load(models_dir.parent / "history.npy")
    for directory in sorted(p for p in models_dir.iterdir() if p.is_dir()):
        name = json.loads((directory / "model.json").read_text())["algorithm"]
        model = get_algorithm(name).load(directory, Runtime(threads=1))
        n = model.n_users
        for size in (1, 5, n):
            arrays[f"{name}/users/{size}"] = in_batches(model.score_users, n, size)
        if model.supports_fold_in:
            for dtype in (np.float32, np.float64):
                rows = sp.csr_matrix(history.astype(dtype))
                arrays[f"{name}/history/{np.dtype(dtype).name}/1"] = np.vstack(
                    [model.score_history(rows[i : i + 1]) for i in range(rows.shape[0])]
                )
                arrays[f"{name}/history/{np.dtype(dtype).name}/all"] = model.score_history(rows)
    np.savez(out, **arrays)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
