"""Learned ensemble member weights (issue 20): the pool learns per shop which member to trust."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.assistant.intents import IntentClassifier, IntentConfig, learn_pool_weights, simplex_grid
from shopmind.errors import ArtifactError, ConfigError

WORDS = {
    "ship": ["parcel", "delivery", "courier", "tracking", "arrive"],
    "pay": ["card", "invoice", "charge", "wallet", "refund"],
    "size": ["small", "large", "fits", "medium", "length"],
}


class _NoiseEncoder:
    """Unit vectors that depend on the text only through a hash: no information about the intent."""

    name = "noise"

    def encode(self, texts, batch_size=64):
        out = np.stack([np.random.default_rng(abs(hash(t)) % 2**32).normal(size=16) for t in texts])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


class _OracleEncoder:
    """Vectors that point at the intent named by the text's hidden first letter code (A/B/C)."""

    name = "oracle"

    def encode(self, texts, batch_size=64):
        rng = np.random.default_rng(0)
        base = {"A": 0, "B": 1, "C": 2}
        out = np.zeros((len(texts), 8))
        for i, t in enumerate(texts):
            out[i, base[t[0]]] = 1.0
        out += 0.05 * rng.normal(size=out.shape)
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def _lexical_data(n: int = 30) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(1)
    texts, labels = [], []
    for intent, words in WORDS.items():
        for _ in range(n):
            texts.append(" ".join(rng.choice(words, size=3)) + f" q{rng.integers(1000)}")
            labels.append(intent)
    return texts, labels


def _semantic_data(n: int = 30) -> tuple[list[str], list[str]]:
    """Words carry no signal (shared filler); only the oracle encoder sees the intent."""
    rng = np.random.default_rng(2)
    filler = ["hello", "please", "thanks", "today", "again", "now"]
    texts, labels = [], []
    for code, intent in zip("ABC", WORDS, strict=True):
        for _ in range(n):
            texts.append(code + " " + " ".join(rng.choice(filler, size=3)))
            labels.append(intent)
    return texts, labels


def test_simplex_grid_covers_the_simplex():
    grid = simplex_grid(3, 0.05)
    assert grid.shape == (231, 3)  # C(22, 2)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert (grid >= 0).all() and {tuple(r) for r in grid} >= {(1.0, 0.0, 0.0), (0.0, 0.0, 1.0)}


def test_pool_weights_known_answer():
    y = np.array([0, 1, 0, 1])
    good = np.array([[0.9, 0.1], [0.1, 0.9], [0.8, 0.2], [0.2, 0.8]])
    bad = good[:, ::-1]
    assert learn_pool_weights({"a": bad, "b": good}, y) == {"a": 0.0, "b": 1.0}
    # two equally good members: the log score of a mix of identical members is flat; the grid's
    # first point at that score wins
    w = learn_pool_weights({"a": good, "b": good}, y)
    assert sum(w.values()) == pytest.approx(1.0)
    w_acc = learn_pool_weights({"a": bad, "b": good}, y, objective="accuracy")
    assert w_acc["b"] > 0.5


@pytest.mark.parametrize("objective", ["log_score", "accuracy"])
def test_learned_weights_trust_tfidf_when_the_encoder_is_noise(objective):
    texts, labels = _lexical_data()
    cfg = IntentConfig(calibration_fraction=0.0, weight_objective=objective)
    clf = IntentClassifier(cfg, encoder=_NoiseEncoder()).fit(texts, labels)
    assert clf.weights_["tfidf"] >= 0.8, clf.weights_  # the previous fixed default gave 0.5
    assert clf.calibration["weight_folds"] == 5


def test_learned_weights_trust_the_encoder_when_words_carry_nothing():
    texts, labels = _semantic_data()
    clf = IntentClassifier(IntentConfig(calibration_fraction=0.0), encoder=_OracleEncoder()).fit(
        texts, labels
    )
    assert clf.weights_["embedding"] >= 0.8, clf.weights_
    probe = ["B hello thanks", "C now again", "A please today"]
    assert [p.intent for p in clf.predict(probe)] == ["pay", "size", "ship"]


def test_fixed_weight_is_kept():
    texts, labels = _lexical_data()
    clf = IntentClassifier(
        IntentConfig(calibration_fraction=0.0, ensemble_weight=0.3), encoder=_NoiseEncoder()
    )
    clf.fit(texts, labels)
    assert clf.weights_ == {"tfidf": 0.3, "embedding": pytest.approx(0.7)}


def test_extra_encoder_member_round_trips(tmp_path):
    """A second encoder is one more member; weights and its head survive save/load."""
    texts, labels = _semantic_data()
    cfg = IntentConfig(extra_encoders=("oracle-spec",), calibration_fraction=0.2, calibration_folds=2)
    clf = IntentClassifier(cfg, encoder=_NoiseEncoder(), extra_encoders=[_OracleEncoder()]).fit(texts, labels)
    assert clf.members() == ["tfidf", "embedding", "embedding:oracle-spec"]
    assert clf.weights_["embedding:oracle-spec"] >= 0.8, clf.weights_
    assert clf.calibration["held_out"] > 0 and clf.threshold > 0  # τ from the same folds
    probe = ["A hello", "C thanks now"]
    loaded = IntentClassifier.load(
        clf.save(tmp_path / "m"), encoder=_NoiseEncoder(), extra_encoders=[_OracleEncoder()]
    )
    assert loaded.weights_ == clf.weights_
    np.testing.assert_allclose(loaded.predict_proba(probe), clf.predict_proba(probe), atol=1e-6)
    with pytest.raises(ConfigError):
        IntentClassifier(cfg, extra_encoders=[])


def test_weights_not_matching_members_are_refused(tmp_path):
    texts, labels = _lexical_data(10)
    clf = IntentClassifier(IntentConfig(calibration_fraction=0.0), encoder=_NoiseEncoder()).fit(texts, labels)
    path = clf.save(tmp_path / "m")
    import json

    meta = json.loads((path / "intents.json").read_text(encoding="utf-8"))
    meta["weights"] = {"tfidf": 1.0}
    (path / "intents.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ArtifactError):
        IntentClassifier.load(path, encoder=_NoiseEncoder())
