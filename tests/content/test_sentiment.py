"""Review sentiment: star labels, trained classifier, lexicon fallbacks, aspects per product."""

from __future__ import annotations

import pytest

from shopmind.content.sentiment import (
    ReviewAnalyzer,
    find_aspects,
    lexicon_sentiment,
    macro_f1,
    star_label,
)


def test_star_labels():
    assert [star_label(s) for s in (1, 2, 3, 4, 5)] == ["neg", "neg", "neu", "pos", "pos"]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I love it, works great!", "pos"),
        ("Terrible, it broke after a day. Awful.", "neg"),
        ("质量很好，非常满意，推荐购买", "pos"),
        ("质量太差了，非常失望，差评", "neg"),
    ],
)
def test_lexicon_fallbacks(text, label):
    assert lexicon_sentiment(text)[0] == label


def test_aspects_en_and_zh():
    found = find_aspects("Delivery was fast but the battery drains quickly. 包装很好，尺码偏小。")
    aspects = {a for a, _ in found}
    assert {"delivery", "battery", "packaging", "size"} <= aspects
    clause = dict(found)["battery"]
    assert "battery" in clause and "Delivery" not in clause


def test_few_reviews_use_lexicon():
    analyzer = ReviewAnalyzer.train(["great", "bad"], [5, 1], min_reviews=50)
    assert analyzer.method == "lexicon"
    assert analyzer.predict(["This is wonderful"]) == ["pos"]


def test_classifier_on_the_tiny_shop_beats_majority(store):
    frame = store.reviews_frame()
    texts = (frame["title"].fillna("") + " " + frame["text"].fillna("")).tolist()
    stars = frame["rating"].tolist()
    n = len(texts)
    cut = int(n * 0.7)
    analyzer = ReviewAnalyzer.train(texts[:cut], stars[:cut], min_reviews=30)
    assert analyzer.method == "classifier"
    gold = [star_label(s) for s in stars[cut:]]
    pred = analyzer.predict(texts[cut:])
    majority = max(set(gold), key=gold.count)
    acc = sum(p == g for p, g in zip(pred, gold, strict=True)) / len(gold)
    assert acc > sum(g == majority for g in gold) / len(gold) - 0.05
    assert macro_f1(gold, pred) > macro_f1(gold, [majority] * len(gold))


def test_insights_per_product(store, tmp_path):
    frame = store.reviews_frame()
    item_id = frame["item_id"].value_counts().index[0]
    analyzer = ReviewAnalyzer.train(
        (frame["title"].fillna("") + " " + frame["text"].fillna("")).tolist(),
        frame["rating"].tolist(),
        min_reviews=30,
    )
    out = analyzer.insights(store.reviews_frame(item_id))
    assert out["n_reviews"] == int((frame["item_id"] == item_id).sum())
    assert sum(out["sentiment"].values()) == out["n_reviews"]
    for a in out["aspects"]:
        assert a["mentions"] == a["pos"] + a["neu"] + a["neg"] and -1 <= a["score"] <= 1
    analyzer.save(tmp_path / "s")
    again = ReviewAnalyzer.load(tmp_path / "s").insights(store.reviews_frame(item_id))
    assert again == out


def test_known_aspect_summary():
    reviews = [
        {"rating": 5, "text": "Delivery was fast. Great quality."},
        {"rating": 1, "text": "Delivery was slow and late, terrible."},
        {"rating": 4, "text": "Good quality, love it."},
    ]
    out = ReviewAnalyzer().insights(reviews)
    by = {a["aspect"]: a for a in out["aspects"]}
    assert by["delivery"]["mentions"] == 2 and by["delivery"]["pos"] == 1 and by["delivery"]["neg"] == 1
    assert by["quality"]["pos"] == 2 and by["quality"]["score"] == 1.0
    assert out["mean_rating"] == pytest.approx(10 / 3, abs=1e-3)
