"""ECD-style response selection scorers on tiny fixtures with known ranks."""

from __future__ import annotations

import numpy as np
import pytest

from shopmind.errors import DataError
from shopmind.evaluate.responses import (
    encoder_scores,
    fuse_scores,
    selection_metrics,
    tfidf_scores,
    unsegment,
)

GROUPS = [
    (["我 想 买 鞋子", "有 现货 吗"], ["有 现货 的 哦", "不 包邮", "亲 在 的"], 0),
    (["快递 到 了 吗", "什么 时候 发货"], ["今天 下午 发货", "有 现货", "好 的"], 0),
]


def test_unsegment_joins_cjk_only():
    assert unsegment("发 邮政 的 哦") == "发邮政的哦"
    assert unsegment("EMS 随机 发 iphone 12") == "EMS 随机发 iphone 12"


def test_selection_metrics_known_ranks_and_pessimistic_ties():
    groups = [([""], ["a", "b", "c"], 1), (["x"], ["a", "b", "c"], 2), (["y"], ["a", "b", "c"], 0)]
    scores = [np.array([0.1, 0.9, 0.2]), np.array([0.5, 0.9, 0.7]), np.array([1.0, 1.0, 1.0])]
    m = selection_metrics(groups, scores)
    # ranks 1, 2, 3 (a constant scorer puts the true reply last)
    assert m["r10@1"] == pytest.approx(1 / 3, abs=1e-4) and m["r10@2"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3, abs=1e-4)
    with pytest.raises(DataError):
        selection_metrics(groups, scores[:2])


def test_tfidf_ranks_the_overlapping_reply_first():
    m = selection_metrics(GROUPS, tfidf_scores(GROUPS))
    assert m["r10@1"] == 1.0 and m["groups"] == 2


class _Letters:
    """Unit vectors of CJK-character counts over a fixed alphabet (deterministic stand-in encoder)."""

    name = "letters"
    alphabet = "现货有发今天快递鞋"

    def encode(self, texts, batch_size=64):
        x = np.array([[t.count(c) for c in self.alphabet] for t in texts], float) + 1e-3
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_turn_weighted_encoder_score_is_the_decayed_mean():
    enc = _Letters()
    s = encoder_scores(GROUPS[:1], enc, decay=0.5)[0]
    turns = enc.encode([unsegment(t) for t in GROUPS[0][0]])
    cands = enc.encode([unsegment(c) for c in GROUPS[0][1]])
    expected = (0.5 * turns[0] @ cands.T + 1.0 * turns[1] @ cands.T) / 1.5
    np.testing.assert_allclose(s, expected, atol=1e-6)
    with pytest.raises(DataError):
        encoder_scores(GROUPS, enc, decay=0.0)


def test_fuse_scores_is_scale_free():
    a = [np.array([1.0, 2.0, 3.0])]
    b = [np.array([100.0, 200.0, 300.0])]
    np.testing.assert_allclose(fuse_scores(a, b)[0], fuse_scores(a)[0])
    assert np.allclose(fuse_scores([np.array([2.0, 2.0])])[0], 0.0)
