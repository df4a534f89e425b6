"""Offline evaluation: intents (BANKING77, Bitext), out-of-scope recall, ECD response selection, sentiment.

Protocols (numbers are comparable only under the same protocol):

* **Intents, full data**: fit on ``train``, accuracy and macro-F1 on ``test`` (BANKING77 official
  split). The ensemble is fitted once; the rows for its TF-IDF and embedding parts are the same
  fitted models scored alone.
* **Fine-tuned encoder** (``IntentConfig.finetune_epochs > 0``): the classifier fine-tunes its own
  copy of the encoder on the training utterances (the fitting part only when a threshold is
  calibrated) and encodes the test utterances itself; cached frozen vectors are not used.
* **Intents, k-shot**: ``k`` utterances per intent sampled from ``train`` with
  ``numpy.random.default_rng(seed)`` (per intent, without replacement, intents in sorted order).
* **Out of scope**: ``n`` intents drawn with the same seeded generator are removed from training;
  their test utterances are out of scope. The threshold is calibrated on held-back *training*
  data only (see :mod:`shopmind.assistant.intents`). Reported: OOS recall (share of OOS test
  utterances rejected), in-scope loss (share of in-scope test utterances rejected) and in-scope
  accuracy (rejections count as errors).
* **Bitext**: seeded stratified 80/20 split of the single file.
* **ECD response selection** (Chinese): for each test context, rank its 10 candidates; R10@1,
  R10@2, R10@5 and MRR. The scorer is unsupervised TF-IDF cosine (word uni+bigrams over the
  corpus's own segmentation, idf from the test contexts and candidates, no labels).
* **Sentiment** (Amazon fashion): stars → ``neg/neu/pos``; split 80/20 seeded **grouped by review
  text** (the file repeats a review for each style variant; a plain row split would put copies in
  both halves); classifier vs VADER lexicon vs the majority class.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.assistant.intents import IntentClassifier, IntentConfig
from shopmind.errors import DataError

log = logging.getLogger(__name__)


def _metrics(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(gold))
    return {
        "accuracy": round(float(accuracy_score(gold, pred)), 4),
        "macro_f1": round(float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)), 4),
    }


def sample_shots(labels: Sequence[str], shots: int, seed: int) -> np.ndarray:
    """Row indices: ``shots`` per label, seeded, labels in sorted order (all rows of smaller labels)."""
    rng = np.random.default_rng(seed)
    y = np.asarray(labels)
    picked = []
    for lab in sorted(set(labels)):
        idx = np.flatnonzero(y == lab)
        picked.append(np.sort(rng.choice(idx, size=min(shots, idx.size), replace=False)))
    return np.sort(np.concatenate(picked))


def stratified_split(labels: Sequence[str], test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.asarray(labels)
    test = []
    for lab in sorted(set(labels)):
        idx = np.flatnonzero(y == lab)
        test.append(rng.choice(idx, size=max(1, round(test_fraction * idx.size)), replace=False))
    test_idx = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(y)), test_idx), test_idx


def _extra_encoders(cfg: IntentConfig, model: str, cache_dir: Path | None) -> list[Any] | None:
    """The config's extra encoders, each behind an :class:`EmbeddingCache` (None for TF-IDF alone)."""
    if model == "tfidf" or not cfg.extra_encoders:
        return None
    from shopmind.embeddings import get_encoder

    return [EmbeddingCache(get_encoder(spec), cache_dir) for spec in cfg.extra_encoders]


class EmbeddingCache:
    """Sentence vectors cached on disk as ``<sha1 of encoder name + texts>.npy`` (benchmarks re-run often)."""

    def __init__(self, encoder: Any, folder: Path | None) -> None:
        self.encoder = encoder
        self.folder = Path(folder) if folder else None
        self.name = getattr(encoder, "name", "enc")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if self.folder is None:
            return self.encoder.encode(texts)
        h = hashlib.sha1(getattr(self.encoder, "name", "enc").encode())
        for t in texts:
            h.update(t.encode("utf-8") + b"\x00")
        path = self.folder / f"{h.hexdigest()}.npy"
        if path.exists():
            return np.load(path, allow_pickle=False)
        vecs = self.encoder.encode(texts)
        self.folder.mkdir(parents=True, exist_ok=True)
        np.save(path, vecs, allow_pickle=False)
        return vecs


def evaluate_intents(
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    test_texts: Sequence[str],
    test_labels: Sequence[str],
    *,
    name: str = "intents",
    model: str = "ensemble",
    shots: int | None = None,
    seed: int = 42,
    oos_holdout: int = 0,
    config: IntentConfig | None = None,
    encoder: Any = None,
    cache_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Rows ``{"name", "metrics", ...}`` for the model (and its parts when ``model="ensemble"``)."""
    cfg = (config or IntentConfig()).model_copy(update={"model": model, "seed": seed})
    tr_t, tr_l = list(train_texts), list(train_labels)
    te_t, te_l = list(test_texts), list(test_labels)
    setting = "full" if not shots else f"{shots}-shot"
    if shots:
        idx = sample_shots(tr_l, shots, seed)
        tr_t, tr_l = [tr_t[i] for i in idx], [tr_l[i] for i in idx]
    emb_tr = emb_te = None
    finetune = model != "tfidf" and cfg.finetune_epochs > 0
    if model != "tfidf" and not finetune:  # a fine-tuned encoder encodes inside the classifier
        if encoder is None:
            from shopmind.embeddings import get_encoder

            encoder = get_encoder(cfg.encoder)
        cache = EmbeddingCache(encoder, cache_dir)
        emb_tr, emb_te = cache.encode(tr_t), cache.encode(te_t)
    rows: list[dict[str, Any]] = []
    common = {"setting": setting, "seed": seed, "n_train": len(tr_t), "n_test": len(te_t)}

    if not oos_holdout:
        clf = IntentClassifier(
            cfg.model_copy(update={"calibration_fraction": 0.0}),
            encoder=encoder,
            extra_encoders=_extra_encoders(cfg, model, cache_dir),
        )
        clf.fit(tr_t, tr_l, embeddings=emb_tr)
        if finetune:
            emb_te = clf.encode(te_t)
        classes = np.array(clf.classes_)
        parts = clf.component_proba(te_t, embeddings=emb_te) if model == "ensemble" else {}
        for part, p in parts.items():
            rows.append(
                {
                    "name": f"{name}/{setting}/{part}",
                    "model": part,
                    "metrics": _metrics(te_l, classes[p.argmax(1)]),
                    **common,
                }
            )
        p = clf.predict_proba(te_t, embeddings=emb_te)
        rows.append(
            {
                "name": f"{name}/{setting}/{model}",
                "model": model,
                "metrics": _metrics(te_l, classes[p.argmax(1)]),
                "weights": clf.weights_,
                **common,
            }
        )
        return rows

    rng = np.random.default_rng(seed)
    intents = sorted(set(tr_l))
    held = set(rng.choice(intents, size=min(oos_holdout, len(intents) - 2), replace=False).tolist())
    keep = [i for i, lab in enumerate(tr_l) if lab not in held]
    clf = IntentClassifier(cfg, encoder=encoder, extra_encoders=_extra_encoders(cfg, model, cache_dir))
    clf.fit(
        [tr_t[i] for i in keep],
        [tr_l[i] for i in keep],
        embeddings=emb_tr[keep] if emb_tr is not None else None,
    )
    common["n_train"] = len(keep)
    preds = clf.predict(te_t, embeddings=clf.encode(te_t) if finetune else emb_te)
    is_oos = np.array([lab in held for lab in te_l])
    metrics = _oos_metrics(clf, preds, te_l, is_oos)
    rows.append(
        {
            "name": f"{name}/{setting}/{model}/oos-{len(held)}",
            "model": model,
            "metrics": metrics,
            "weights": clf.weights_,
            "held_out_intents": sorted(held),
            "n_oos_test": int(is_oos.sum()),
            "max_in_scope_loss": cfg.max_in_scope_loss,
            **common,
        }
    )
    return rows


def _oos_metrics(
    clf: IntentClassifier, preds: Sequence[Any], gold: Sequence[str], is_oos: np.ndarray
) -> dict[str, Any]:
    """Out-of-scope scores at the classifier's calibrated threshold.

    ``oos_recall`` = rejected OOS / OOS; ``oos_precision`` = rejected OOS / rejected (``None`` when
    nothing is rejected); ``in_scope_loss`` = rejected in-scope / in-scope; ``in_scope_accuracy`` =
    correct in-scope predictions / in-scope (a rejection counts as an error).
    """
    rejected = np.array([not p.in_scope for p in preds], dtype=bool)
    correct = np.array([p.intent == g for p, g in zip(preds, gold, strict=True)], dtype=bool)
    n_rejected = int(rejected.sum())

    def mean(mask: np.ndarray) -> float | None:
        return round(float(mask.mean()), 4) if mask.size else None

    return {
        "oos_recall": mean(rejected[is_oos]),
        "oos_precision": round(float((rejected & is_oos).sum() / n_rejected), 4) if n_rejected else None,
        "in_scope_loss": mean(rejected[~is_oos]),
        "in_scope_accuracy": mean(correct[~is_oos]),
        "threshold": round(clf.threshold, 6),
        "calibration_in_scope_loss": round(float(clf.calibration.get("in_scope_loss", 0.0)), 4),
    }


def evaluate_intents_oos_label(
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    test_texts: Sequence[str],
    test_labels: Sequence[str],
    oos_label: str,
    *,
    name: str = "intents",
    model: str = "ensemble",
    shots: int | None = None,
    seed: int = 42,
    config: IntentConfig | None = None,
    encoder: Any = None,
    cache_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Out-of-scope scores on a test file whose out-of-scope rows carry ``oos_label`` (e.g. ``oos``).

    Training rows with ``oos_label`` are dropped (the classifier only knows in-scope intents); the
    threshold is the shipped one, calibrated on held-back training data by :class:`IntentClassifier`
    for ``config.max_in_scope_loss``. Same metrics as the ``oos_holdout`` protocol of
    :func:`evaluate_intents` plus ``oos_precision`` (see :func:`_oos_metrics`); with the held-out
    intents relabelled ``oos`` in the test file and removed from training, both give identical figures.
    """
    cfg = (config or IntentConfig()).model_copy(update={"model": model, "seed": seed})
    keep = [i for i, lab in enumerate(train_labels) if lab != oos_label]
    tr_t, tr_l = [train_texts[i] for i in keep], [train_labels[i] for i in keep]
    te_t, te_l = list(test_texts), list(test_labels)
    if len(set(tr_l)) < 2:
        raise DataError(
            "too few in-scope intents in the training file",
            value=sorted(set(tr_l)),
            expected=f"at least two intents besides {oos_label!r}",
        )
    is_oos = np.array([lab == oos_label for lab in te_l], dtype=bool)
    if not is_oos.any():
        raise DataError(
            "no test row carries the out-of-scope label",
            value=oos_label,
            expected=f"some test rows labelled {oos_label!r} (labels seen: {sorted(set(te_l))[:10]})",
        )
    setting = "full" if not shots else f"{shots}-shot"
    if shots:
        idx = sample_shots(tr_l, shots, seed)
        tr_t, tr_l = [tr_t[i] for i in idx], [tr_l[i] for i in idx]
    finetune = model != "tfidf" and cfg.finetune_epochs > 0
    emb_tr = emb_te = None
    if model != "tfidf" and not finetune:
        if encoder is None:
            from shopmind.embeddings import get_encoder

            encoder = get_encoder(cfg.encoder)
        cache = EmbeddingCache(encoder, cache_dir)
        emb_tr, emb_te = cache.encode(tr_t), cache.encode(te_t)
    clf = IntentClassifier(cfg, encoder=encoder, extra_encoders=_extra_encoders(cfg, model, cache_dir))
    clf.fit(tr_t, tr_l, embeddings=emb_tr)
    preds = clf.predict(te_t, embeddings=clf.encode(te_t) if finetune else emb_te)
    return [
        {
            "name": f"{name}/{setting}/{model}/oos-label",
            "model": model,
            "metrics": _oos_metrics(clf, preds, te_l, is_oos),
            "weights": clf.weights_,
            "oos_label": oos_label,
            "n_oos_test": int(is_oos.sum()),
            "max_in_scope_loss": cfg.max_in_scope_loss,
            "setting": setting,
            "seed": seed,
            "n_train": len(tr_t),
            "n_test": len(te_t),
        }
    ]


# --- ECD response selection ----------------------------------------------------------------------


def evaluate_response_selection(
    groups: list[tuple[list[str], list[str], int]], *, last_turns: int = 3
) -> dict[str, Any]:
    """TF-IDF cosine ranking of each group's candidates against its context (see module docstring;
    :mod:`shopmind.evaluate.responses` has the scorers and the metrics).

    The context is the last ``last_turns`` utterances (the latest carries the question the reply
    answers); groups without a positive are skipped.
    """
    from shopmind.evaluate.responses import selection_metrics, tfidf_scores

    return selection_metrics(groups, tfidf_scores(groups, last_turns=last_turns))


# --- sentiment ------------------------------------------------------------------------------------


def evaluate_sentiment(frame: Any, *, seed: int = 42, test_fraction: float = 0.2) -> list[dict[str, Any]]:
    """Rows for the classifier, the lexicon and the majority class on a text-grouped seeded split."""
    from shopmind.content.sentiment import ReviewAnalyzer, lexicon_sentiment, star_label

    texts = (frame["title"].fillna("") + ". " + frame["text"].fillna("")).str.strip().tolist()
    labels = [star_label(float(s)) for s in frame["rating"]]
    keys = np.array([hashlib.sha1(t.lower().encode("utf-8")).hexdigest() for t in texts])
    uniq = np.unique(keys)
    rng = np.random.default_rng(seed)
    test_keys = set(rng.choice(uniq, size=round(test_fraction * uniq.size), replace=False).tolist())
    test_mask = np.array([k in test_keys for k in keys])
    tr = np.flatnonzero(~test_mask)
    te = np.flatnonzero(test_mask)
    tr_t, tr_y = [texts[i] for i in tr], [frame["rating"].iloc[i] for i in tr]
    te_t, te_l = [texts[i] for i in te], [labels[i] for i in te]
    analyzer = ReviewAnalyzer.train(tr_t, tr_y, min_reviews=1)
    common = {"seed": seed, "n_train": len(tr), "n_test": len(te)}
    rows = [
        {"name": "sentiment/tfidf-logreg", "metrics": _metrics3(te_l, analyzer.predict(te_t)), **common},
        {
            "name": "sentiment/vader-lexicon",
            "metrics": _metrics3(te_l, [lexicon_sentiment(t, "en")[0] for t in te_t]),
            **common,
        },
    ]
    train_labels = [labels[i] for i in tr]
    majority = max(set(train_labels), key=train_labels.count)
    rows.append({"name": "sentiment/majority", "metrics": _metrics3(te_l, [majority] * len(te_l)), **common})
    return rows


def _metrics3(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": round(float(accuracy_score(gold, pred)), 4),
        "macro_f1": round(
            float(f1_score(gold, pred, labels=["neg", "neu", "pos"], average="macro", zero_division=0)), 4
        ),
    }
