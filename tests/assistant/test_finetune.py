"""Contrastive fine-tuning of the intent encoder: batch construction, effect, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.assistant.finetune import finetune_encoder, label_pair_batches
from shopmind.assistant.intents import IntentClassifier, IntentConfig
from shopmind.embeddings import SentenceTransformerEncoder, packaged_model_path
from shopmind.errors import ArtifactError, ConfigError, DataError

# four intents the frozen MiniLM mixes up (all about an order), four utterances each
TEXTS = [
    "where is my order right now",
    "has my order shipped yet",
    "when will my order arrive",
    "is my order on its way",
    "cancel my order please",
    "I want to stop my order",
    "please call off the order I placed",
    "do not send my order, cancel it",
    "I want to send my order back",
    "how do I return my order",
    "can I return the order for a refund",
    "the order does not fit, I'd like to return it",
    "change the address on my order",
    "my order should go to a different address",
    "update the delivery address of my order",
    "ship my order to my office instead",
]
LABELS = [lab for lab in ("status", "cancel", "return", "address") for _ in range(4)]


def test_label_pair_batches_cover_every_utterance_once_with_unique_labels():
    y = np.array([0] * 5 + [1] * 3 + [2] * 7 + [3])  # intent 3 has one utterance: cannot be paired
    batches = label_pair_batches(y, batch_size=2, rng=np.random.default_rng(0))
    pairs = np.concatenate(batches)
    assert all(b.shape == (2, 2) for b in batches)  # a lone pair (no negative) is dropped
    for b in batches:
        assert len(set(y[b[:, 0]])) == len(b)  # no in-batch negative of the anchor's own intent
    np.testing.assert_array_equal(y[pairs[:, 0]], y[pairs[:, 1]])
    assert (pairs[:, 0] != pairs[:, 1]).all()
    # each pairable utterance is an anchor at most once (lone pairs at the end of an epoch drop)
    anchors = pairs[:, 0]
    assert len(set(anchors.tolist())) == len(anchors)
    assert len(anchors) >= 10 and 15 not in anchors


def _separation(vecs: np.ndarray, y: np.ndarray) -> float:
    sims = vecs @ vecs.T
    same = (y[:, None] == y[None, :]) & ~np.eye(len(y), dtype=bool)
    return float(sims[same].mean() - sims[y[:, None] != y[None, :]].mean())


def test_finetuning_pulls_intents_apart(encoder):
    y = np.unique(LABELS, return_inverse=True)[1]
    before = _separation(encoder.encode(TEXTS), y)
    model = finetune_encoder(packaged_model_path(), TEXTS, LABELS, epochs=3, batch_size=4, lr=1e-4)
    tuned = SentenceTransformerEncoder.from_model(model, name="tuned")
    after = _separation(tuned.encode(TEXTS), y)
    assert after > before + 0.05, (before, after)


def test_finetuned_classifier_roundtrip(tmp_path):
    cfg = IntentConfig(model="embedding", finetune_epochs=1, finetune_batch_size=4, calibration_fraction=0.25)
    clf = IntentClassifier(cfg).fit(TEXTS, LABELS)
    assert clf.calibration["held_out"] == 4 and clf.calibration["folds"] == 1
    path = clf.save(tmp_path / "m")
    assert (path / "encoder").is_dir()
    suffixes = {p.suffix for p in path.rglob("*") if p.is_file()}
    assert not suffixes & {".bin", ".pt", ".pkl", ".pickle"}, suffixes  # safetensors, no pickle
    loaded = IntentClassifier.load(path)
    probe = ["has the order left the warehouse", "I'd like my money back for this order"]
    np.testing.assert_allclose(loaded.predict_proba(probe), clf.predict_proba(probe), atol=1e-5)
    assert [p.oos_score for p in loaded.predict(probe)] == pytest.approx(
        [p.oos_score for p in clf.predict(probe)], abs=1e-5
    )
    # the fine-tuned encoder belongs to the artifact: without it the model does not load
    import shutil

    shutil.rmtree(path / "encoder")
    with pytest.raises(ArtifactError):
        IntentClassifier.load(path)


def test_finetune_errors():
    with pytest.raises(DataError):
        finetune_encoder(packaged_model_path(), ["a", "b"], ["x"], epochs=1)
    with pytest.raises(DataError):
        finetune_encoder(packaged_model_path(), ["a", "b"], ["x", "y"], epochs=0)
    with pytest.raises(DataError):  # no intent with two utterances: nothing to pair
        finetune_encoder(packaged_model_path(), ["a", "b"], ["x", "y"], epochs=1)
    with pytest.raises(ConfigError):
        cfg = IntentConfig(model="embedding", finetune_epochs=1, encoder="openai:m@http://x")
        IntentClassifier(cfg).fit(TEXTS, LABELS)
