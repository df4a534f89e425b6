"""The ONNX Runtime encoder gives the sentence-transformers vectors for the packaged model."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.embeddings import SentenceTransformerEncoder, load_local_encoder, packaged_model_path
from shopmind.embeddings_onnx import OnnxSentenceEncoder, exportable

TEXTS = [
    "noise cancelling over-ear headphones",
    "1 TB portable SSD, USB-C",
    "退货政策 七天无理由",
    "Can I change the delivery address of order 1234 after it shipped?" * 3,
    "",
]


@pytest.fixture(scope="module")
def encoders(tmp_path_factory: pytest.TempPathFactory) -> tuple[SentenceTransformerEncoder, object]:
    mp = pytest.MonkeyPatch()
    mp.setenv("SHOPMIND_CACHE_DIR", str(tmp_path_factory.mktemp("onnx-cache")))
    try:
        torch_encoder = SentenceTransformerEncoder(packaged_model_path())
        fast = load_local_encoder(packaged_model_path())
    finally:
        mp.undo()
    return torch_encoder, fast


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
