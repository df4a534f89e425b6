"""The ONNX Runtime encoder gives the sentence-transformers vectors for the packaged model."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from shopmind import embeddings_onnx
from shopmind.embeddings import SentenceTransformerEncoder, load_local_encoder, packaged_model_path
from shopmind.embeddings_onnx import OnnxSentenceEncoder, exportable

TEXTS = [
    "noise cancelling over-ear headphones",
    "1 TB portable SSD, USB-C",
    "退货政策 七天无理由",
    "Can I change the delivery address of order 1234 after it shipped?" * 3,
    "",
]


EXPORTS: dict[str, list] = {"calls": [], "warnings": []}
"""What the module's encoders fixture saw: export() calls and the warnings raised while loading."""


@pytest.fixture(scope="module")
def encoders(tmp_path_factory: pytest.TempPathFactory) -> tuple[SentenceTransformerEncoder, object]:
    mp = pytest.MonkeyPatch()
    EXPORTS["cache"] = [tmp_path_factory.mktemp("onnx-cache")]
    mp.setenv("SHOPMIND_CACHE_DIR", str(EXPORTS["cache"][0]))
    real_export = embeddings_onnx.export

    def counted(model: object, target: Path) -> None:
        EXPORTS["calls"].append(target)
        real_export(model, target)

    mp.setattr(embeddings_onnx, "export", counted)
    try:
        torch_encoder = SentenceTransformerEncoder(packaged_model_path())
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            fast = load_local_encoder(packaged_model_path())
            again = load_local_encoder(packaged_model_path())  # the cached graph: no second export
        EXPORTS["warnings"] = [f"{w.category.__name__}: {w.message}" for w in seen]
    finally:
        mp.undo()
    assert isinstance(again, OnnxSentenceEncoder)
    return torch_encoder, fast


def test_the_export_runs_once_and_shows_no_warnings(encoders) -> None:
    assert len(EXPORTS["calls"]) == 1 and EXPORTS["calls"][0].exists()
    assert EXPORTS["warnings"] == []


def test_packaged_model_runs_on_onnx_with_the_same_vectors(encoders) -> None:
    torch_encoder, fast = encoders
    assert isinstance(fast, OnnxSentenceEncoder)
    expected = torch_encoder.encode(TEXTS)
    got = fast.encode(TEXTS, batch_size=2)  # several batches, mixed lengths: order must be restored
    assert got.shape == expected.shape == (len(TEXTS), fast.dim)
    assert np.min(np.sum(got * expected, axis=1)) > 0.9999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_only_mean_pooled_normalised_models_are_exported(encoders) -> None:
    torch_encoder, _ = encoders
    assert exportable(torch_encoder.model)
    assert not exportable(list(torch_encoder.model)[:2])  # no Normalize module: the graph would differ


def test_onnx_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMIND_ONNX", "0")
    assert isinstance(load_local_encoder(packaged_model_path()), SentenceTransformerEncoder)


def test_a_checked_graph_is_opened_without_pytorch(encoders) -> None:
    """Once exported and checked, a new process encodes without importing torch or sentence-transformers."""
    import json
    import os
    import subprocess
    import sys

    torch_encoder, _ = encoders
    code = (
        "import json, sys\n"
        "from shopmind.embeddings import load_local_encoder, packaged_model_path\n"
        "enc = load_local_encoder(packaged_model_path())\n"
        f"vecs = enc.encode({TEXTS!r}, batch_size=2)\n"
        "print(json.dumps({'type': type(enc).__name__, 'vecs': vecs.tolist(),"
        " 'torch': 'torch' in sys.modules, 'st': 'sentence_transformers' in sys.modules}))\n"
    )
    env = {**os.environ, "SHOPMIND_CACHE_DIR": str(EXPORTS["cache"][0])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["type"] == "OnnxSentenceEncoder" and not got["torch"] and not got["st"]
    expected = torch_encoder.encode(TEXTS)
    assert np.min(np.sum(np.array(got["vecs"], np.float32) * expected, axis=1)) > 0.9999
