"""Intent models: TF-IDF, embeddings, ensemble, out-of-scope threshold, save/load without pickle."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.assistant.intents import (
    OUT_OF_SCOPE,
    IntentClassifier,
    IntentConfig,
    calibrate_threshold,
    humanise_intent,
    read_intent_csv,
)
from shopmind.assistant.service import builtin_intents
from shopmind.errors import ArtifactError, ConfigError, DataError, NotFittedError
from shopmind.text import detect_language

# unseen paraphrases (not in the packaged training set), English and Chinese
HELD_OUT = [
    ("hey hello", "greeting"),
    ("has order ORD-0003-000777 left the warehouse yet", "order_status"),
    ("what's the tracking code for my parcel", "track_order"),
    ("please cancel the order I placed yesterday", "cancel_order"),
    ("the jacket is too small and I want to send it back", "return_request"),
    ("how much does delivery cost", "shipping_info"),
    ("can I pay using apple pay", "payment"),
    ("is my blender covered by a warranty", "warranty"),
    ("I forgot my login password", "account"),
    ("connect me with a real human", "human_handoff"),
    ("thank you so much for your help", "thanks"),
    ("我的快递到哪里了", "track_order"),
    ("帮我取消这个订单", "cancel_order"),
    ("支持微信支付吗", "payment"),
    ("我要转人工客服", "human_handoff"),
    ("你们包邮吗", "shipping_info"),
]


@pytest.fixture(scope="module")
def data():
    return builtin_intents()


@pytest.fixture(scope="module")
def tfidf(data):
    return IntentClassifier(IntentConfig(model="tfidf")).fit(*data)


def test_builtin_set_is_bilingual_and_balanced(data):
    texts, labels = data
    counts = {c: labels.count(c) for c in set(labels)}
    assert len(counts) >= 14 and min(counts.values()) >= 20
    for intent in counts:
        langs = {detect_language(t) for t, lab in zip(texts, labels, strict=True) if lab == intent}
        assert langs == {"en", "zh"}, intent


def test_tfidf_model_on_unseen_paraphrases(tfidf):
    preds = tfidf.predict([t for t, _ in HELD_OUT])
    correct = [p.intent == gold for p, (_, gold) in zip(preds, HELD_OUT, strict=True)]
    assert np.mean(correct) >= 0.8, [(t, p.intent) for (t, _), p in zip(HELD_OUT, preds, strict=True)]


def test_embedding_and_ensemble_models(data, encoder):
    texts, labels = data
    # a 12-per-intent subset keeps the CPU encoding short
    keep: dict[str, int] = {}
    sub_t, sub_l = [], []
    for t, lab in zip(texts, labels, strict=True):
        if keep.get(lab, 0) < 12 and detect_language(t) == "en":
            keep[lab] = keep.get(lab, 0) + 1
            sub_t.append(t)
            sub_l.append(lab)
    emb = encoder.encode(sub_t)
    cfg = IntentConfig(model="ensemble", ensemble_weight=0.4, calibration_fraction=0.0)
    ens = IntentClassifier(cfg, encoder=encoder).fit(sub_t, sub_l, embeddings=emb)
    only_emb = IntentClassifier(cfg.model_copy(update={"model": "embedding"}), encoder=encoder).fit(
        sub_t, sub_l, embeddings=emb
    )
    only_tfidf = IntentClassifier(cfg.model_copy(update={"model": "tfidf"})).fit(sub_t, sub_l)
    probe = [t for t, _ in HELD_OUT if detect_language(t) == "en"]
    gold = [g for t, g in HELD_OUT if detect_language(t) == "en"]
    pe = only_emb.predict_proba(probe)
    pt = only_tfidf.predict_proba(probe)
    pens = ens.predict_proba(probe)
    # the ensemble is exactly the weighted probability average of its parts
    np.testing.assert_allclose(pens, 0.4 * pt + 0.6 * pe, atol=1e-5)
    acc_emb = np.mean(np.array(only_emb.classes_)[pe.argmax(1)] == np.array(gold))
    assert acc_emb >= 0.7
    assert np.mean(np.array(ens.classes_)[pens.argmax(1)] == np.array(gold)) >= 0.7
    # the OOS score is α · the top probability plus the cosine to the nearest training utterance
    q = encoder.encode(probe)
    preds = ens.predict(probe, embeddings=q)
    expected = cfg.oos_msp_weight * pens.max(1) + (q @ emb.T).max(1)
    np.testing.assert_allclose([p.oos_score for p in preds], expected, atol=1e-4)


def test_calibrate_threshold_known_answer():
    scores = np.arange(1, 101) / 100.0  # 0.01 … 1.00
    tau = calibrate_threshold(scores, 0.03)
    assert tau == pytest.approx(0.04)
    assert np.mean(scores < tau) == pytest.approx(0.03)
    assert calibrate_threshold(scores, 0.0) == pytest.approx(0.01)  # rejects nothing


def test_calibrate_threshold_with_confidence_is_clopper_pearson():
    from scipy.stats import beta

    scores = np.arange(1, 1411) / 1410.0
    tau = calibrate_threshold(scores, 0.03, confidence=0.9)
    m = int(np.sum(scores < tau))  # rejections allowed
    assert m < int(0.03 * scores.size)  # stricter than the point estimate
    assert beta.ppf(0.9, m + 1, scores.size - m) <= 0.03 < beta.ppf(0.9, m + 2, scores.size - m - 1)
    # too few scores to guarantee the budget: reject nothing
    assert calibrate_threshold(np.arange(1, 101) / 100.0, 0.03, confidence=0.9) == pytest.approx(0.01)


def test_out_of_scope_decision(data):
    texts, labels = data
    held_intent = "warranty"
    train = [(t, lab) for t, lab in zip(texts, labels, strict=True) if lab != held_intent]
    # a few hundred utterances cannot guarantee a budget with confidence: the point-estimate rule
    clf = IntentClassifier(IntentConfig(model="tfidf", max_in_scope_loss=0.05, calibration_confidence=0)).fit(
        [t for t, _ in train], [lab for _, lab in train]
    )
    assert 0 < clf.threshold < 1
    assert clf.calibration["in_scope_loss"] <= 0.05
    unseen = [t for t, lab in zip(texts, labels, strict=True) if lab == held_intent]
    oos = clf.predict([*unseen, "what is the capital of france", "sing me a song about dragons"])
    in_scope = clf.predict([t for t, g in HELD_OUT if g != held_intent])
    assert np.mean([not p.in_scope for p in oos]) > np.mean([not p.in_scope for p in in_scope])
    rejected = [p for p in oos if not p.in_scope]
    assert rejected and all(p.intent == OUT_OF_SCOPE for p in rejected)


def test_save_load_roundtrip_without_pickle(tfidf, tmp_path):
    path = tfidf.save(tmp_path / "m")
    assert {p.suffix for p in path.iterdir()} <= {".json", ".npz", ".npy"}
    for npz in path.glob("*.npz"):
        np.load(npz, allow_pickle=False)  # raises if anything needed pickle
    loaded = IntentClassifier.load(path)
    probe = [t for t, _ in HELD_OUT]
    np.testing.assert_allclose(loaded.predict_proba(probe), tfidf.predict_proba(probe), atol=1e-6)
    assert loaded.threshold == tfidf.threshold and loaded.classes_ == tfidf.classes_


def test_models_saved_before_the_msp_weight_load_with_weight_one(tfidf, tmp_path):
    import json

    path = tfidf.save(tmp_path / "old")
    meta = json.loads((path / "intents.json").read_text(encoding="utf-8"))
    del meta["config"]["oos_msp_weight"]
    (path / "intents.json").write_text(json.dumps(meta), encoding="utf-8")
    assert IntentClassifier.load(path).config.oos_msp_weight == 1.0  # its τ was calibrated with α = 1


def test_errors(tmp_path):
    with pytest.raises(DataError):
        IntentClassifier(IntentConfig(model="tfidf")).fit(["a", "b"], ["x"])
    with pytest.raises(DataError):
        IntentClassifier(IntentConfig(model="tfidf")).fit(["a b", "c d"], ["x", OUT_OF_SCOPE])
    with pytest.raises(NotFittedError):
        IntentClassifier(IntentConfig(model="tfidf")).predict(["hello"])
    with pytest.raises(ArtifactError):
        IntentClassifier.load(tmp_path / "missing")
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError):
        read_intent_csv(bad)


class _BagOfCharsEncoder:
    """A tiny deterministic stand-in for the sentence encoder: L2-normalised letter counts."""

    name = "bag-of-chars"

    def encode(self, texts, batch_size=64):
        x = np.array([[t.lower().count(c) for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts], float)
        return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)).astype(np.float32)


def test_label_names_as_examples():
    texts = ["when does it come", "is it on the way", "how much for a euro", "price of dollars today"]
    labels = ["card_arrival", "card_arrival", "exchange_rate", "exchange_rate"]
    assert (
        humanise_intent("card_arrival") == "card arrival"
        and humanise_intent("top-up.failed") == "top up failed"
    )
    plain = IntentClassifier(IntentConfig(model="tfidf", calibration_fraction=0.0)).fit(texts, labels)
    # two intents: sklearn's single binary logit must become two softmax rows, not one copied twice
    assert [p.intent for p in plain.predict(texts)] == labels
    named = IntentClassifier(IntentConfig(model="tfidf", calibration_fraction=0.0, label_examples=True))
    named.fit(texts, labels)
    probe = ["card arrival", "exchange rate"]
    assert [p.intent for p in named.predict(probe)] == ["card_arrival", "exchange_rate"]
    # the name is evidence the plain model lacks
    assert named.predict_proba(["exchange rate"])[0, 1] > plain.predict_proba(["exchange rate"])[0, 1]
    # precomputed vectors get the names' vectors appended; the names never enter the calibration part
    enc = _BagOfCharsEncoder()
    more_t, more_l = texts * 3, labels * 3
    cfg = IntentConfig(model="ensemble", calibration_fraction=0.25, label_examples=True)
    clf = IntentClassifier(cfg, encoder=enc).fit(more_t, more_l, embeddings=enc.encode(more_t))
    # slices of 25 % of each intent's 6 real utterances (2): three folds hold out all 12, never a name
    assert clf.calibration["held_out"] == 12 and clf.calibration["folds"] == 3
    assert clf._ref.shape[0] == len(more_t) + 2  # refit on every utterance plus the two names


def test_nearest_neighbour_head(tmp_path):
    enc = _BagOfCharsEncoder()
    texts = ["when does it come", "is it on the way", "how much for a euro", "price of dollars today"]
    texts += ["lost my card", "my card was stolen"]
    labels = ["arrival", "arrival", "rate", "rate", "lost", "lost"]
    cfg = IntentConfig(calibration_fraction=0.0, ensemble_weight=0.25, knn_weight=0.25, knn_temperature=20)
    clf = IntentClassifier(cfg, encoder=enc).fit(texts, labels, embeddings=enc.encode(texts))
    probe = ["where is it now", "euro price", "card gone"]
    q = enc.encode(probe)
    # p_knn = softmax(T · max cosine to each intent's training vectors), written out naively
    ref, y = enc.encode(texts), np.array(labels)
    per = np.stack([(q @ ref[y == c].T).max(1) for c in clf.classes_], axis=1)
    z = np.exp(20 * (per - per.max(1, keepdims=True)))
    parts = clf.component_proba(probe, embeddings=q)
    np.testing.assert_allclose(parts["knn"], z / z.sum(1, keepdims=True), atol=1e-5)
    np.testing.assert_allclose(
        clf.predict_proba(probe, embeddings=q),
        0.25 * parts["tfidf"] + 0.25 * parts["knn"] + 0.5 * parts["embedding"],
        atol=1e-6,
    )
    loaded = IntentClassifier.load(clf.save(tmp_path / "knn"), encoder=enc)
    np.testing.assert_allclose(loaded.predict_proba(probe), clf.predict_proba(probe), atol=1e-6)
    with pytest.raises(ConfigError):
        IntentClassifier(IntentConfig(model="tfidf", knn_weight=0.2))
    with pytest.raises(ConfigError):
        IntentClassifier(IntentConfig(ensemble_weight=0.7, knn_weight=0.4))


def test_threshold_is_calibrated_on_every_fold(data):
    """Folds are disjoint and stratified; τ comes from all their held-out scores pooled."""
    texts, labels = data
    one = IntentClassifier(IntentConfig(model="tfidf", calibration_folds=1)).fit(texts, labels)
    five = IntentClassifier(IntentConfig(model="tfidf", calibration_folds=5)).fit(texts, labels)
    folds = five._calibration_folds(np.array([five.classes_.index(x) for x in labels]))
    held = np.concatenate([h for _, h in folds])
    assert len(folds) == 5 and len(np.unique(held)) == held.size  # disjoint
    assert five.calibration["held_out"] == held.size > one.calibration["held_out"]
    assert five.calibration["folds"] == 5
    assert five.calibration["in_scope_loss"] <= five.config.max_in_scope_loss
