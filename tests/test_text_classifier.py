"""The shared linear text classifier (TF-IDF word ⊕ char n-grams → logistic regression)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shopmind.assistant.intents import IntentClassifier, IntentConfig
from shopmind.errors import ArtifactError, DataError, NotFittedError
from shopmind.text_classifier import TextClassifier, TfidfParams

TEXTS = [
    "fast delivery, great quality",
    "love it, works great",
    "terrible, broke after a day",
    "awful quality, very disappointed",
    "it is ok, nothing special",
    "average product, fine for the price",
    "质量很好，非常满意",
    "质量太差了，非常失望",
    "一般般，还可以",
]
LABELS = ["pos", "pos", "neg", "neg", "neu", "neu", "pos", "neg", "neu"]


def test_fit_predict_and_roundtrip(tmp_path):
    clf = TextClassifier(TfidfParams(c=5.0, class_weight="balanced")).fit(TEXTS, LABELS)
    assert clf.classes_ == ["neg", "neu", "pos"]
    assert clf.predict(TEXTS) == LABELS  # separable training set
    p = clf.predict_proba(["great quality", "非常失望"])
    assert p.shape == (2, 3) and np.allclose(p.sum(axis=1), 1.0)
    again = TextClassifier.load(clf.save(tmp_path / "clf"))
    assert again.params == clf.params
    np.testing.assert_array_equal(again.predict_proba(TEXTS), clf.predict_proba(TEXTS))


def test_loads_a_review_classifier_saved_by_the_intent_classifier(tmp_path):
    # sentiment models trained before the shared module were saved by IntentClassifier(model="tfidf")
    cfg = IntentConfig(model="tfidf", c_tfidf=5.0, calibration_fraction=0.0, class_weight="balanced")
    old = IntentClassifier(cfg).fit(TEXTS, LABELS)
    old.save(tmp_path / "old")
    new = TextClassifier.load(tmp_path / "old")
    assert new.classes_ == old.classes_
    assert new.params == TfidfParams(c=5.0, class_weight="balanced")
    np.testing.assert_allclose(new.predict_proba(TEXTS), old.predict_proba(TEXTS), atol=1e-12)


def test_errors(tmp_path):
    with pytest.raises(NotFittedError):
        TextClassifier().predict_proba(["x"])
    with pytest.raises(DataError, match="differ in length"):
        TextClassifier().fit(["a", "b"], ["x"])
    with pytest.raises(DataError, match="two classes"):
        TextClassifier().fit(["a", "b"], ["x", "x"])
    with pytest.raises(ArtifactError, match="not found"):
        TextClassifier.load(tmp_path / "missing")
    TextClassifier().fit(TEXTS, LABELS).save(tmp_path / "c")
    meta = json.loads((tmp_path / "c" / "classifier.json").read_text())
    (tmp_path / "c" / "classifier.json").write_text(json.dumps({**meta, "format": 9}))
    with pytest.raises(ArtifactError, match="format"):
        TextClassifier.load(tmp_path / "c")
    (tmp_path / "c" / "classifier.json").write_text(json.dumps(meta))
    (tmp_path / "c" / "tfidf.npz").unlink()
    with pytest.raises(ArtifactError, match="incomplete"):
        TextClassifier.load(tmp_path / "c")
