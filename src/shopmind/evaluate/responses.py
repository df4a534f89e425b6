"""Response selection scorers for multi-turn dialogue (ECD Taobao): lexical, semantic, context-aware.

Each scorer gives, for every group ``(context turns, candidates, index of the true reply)``, one score
per candidate; :func:`selection_metrics` turns them into R10@k and MRR. Nothing here is fitted on
labels: the scorers are unsupervised and the context-aware ranker's constants are fixed a priori.

* :func:`tfidf_scores` — TF-IDF cosine between the last ``last_turns`` turns joined and each candidate
  (word uni+bigrams over the corpus's own segmentation, idf from the scored contexts and candidates).
* :func:`encoder_scores` — sentence-encoder cosine. ``decay=None``: the last ``last_turns`` turns
  joined into one text; ``decay=γ``: the context-aware form
  ``s(c) = Σ_{j=0}^{k−1} γ^j cos(v(u_{T−j}), v(c)) / Σ_j γ^j`` over the last ``k`` turns, the latest
  turn weighted most (the reply answers it; earlier turns carry the topic — the turn-level matching of
  SMN, Wu et al. ACL 2017, without its learned aggregation). Encoders with ``encode_passages``
  (E5) embed the turns as queries and the candidates as passages, their asymmetric recipe.
* :func:`fuse_scores` — per-group standardised scores (``(s − mean) / sd`` over the group's
  candidates) averaged with equal weights: a parameter-free fusion of scorers on different scales
  (z-score fusion, Montague & Aslam 2001).

The ECD text is word-segmented with spaces; encoders get it back unsegmented (:func:`unsegment`),
as they were trained on running text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from shopmind.errors import DataError
from shopmind.text import CJK_CLASS

Group = tuple[list[str], list[str], int]
"""``(context turns, candidates, index of the true reply; -1 when none)``."""

MAX_GROUPS = 100_000
"""Groups scored at most in one call (the full ECD test set has 1,000)."""

_CJK_GAP = re.compile(f"(?<=[{CJK_CLASS}]) +(?=[{CJK_CLASS}])")


def unsegment(text: str) -> str:
    """Drop the segmentation spaces between two CJK characters (``"发 邮政 的 哦"`` → ``"发邮政的哦"``)."""
    return _CJK_GAP.sub("", text)


def _check(groups: Sequence[Group]) -> list[Group]:
    if len(groups) > MAX_GROUPS:
        raise DataError("too many response-selection groups", value=len(groups), expected=f"<= {MAX_GROUPS}")
    bad = next((i for i, g in enumerate(groups) if not g[0] or not g[1]), None)
    if bad is not None:
        raise DataError(
            "a response-selection group has no context turn or no candidate",
            value=bad,
            expected="at least one context turn and one candidate per group",
        )
    return [g for g in groups if g[2] >= 0]


def tfidf_scores(groups: Sequence[Group], *, last_turns: int = 3) -> list[np.ndarray]:
    """TF-IDF cosine of each candidate with the last ``last_turns`` context turns joined."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    groups = _check(groups)
    contexts = [" ".join(ctx[-last_turns:]) for ctx, _, _ in groups]
    corpus = contexts + [c for _, cands, _ in groups for c in cands]
    vec = TfidfVectorizer(token_pattern=r"(?u)\S+", ngram_range=(1, 2), sublinear_tf=True).fit(corpus)
    q = vec.transform(contexts)
    out = []
    for i, (_, cands, _) in enumerate(groups):
        out.append(np.asarray((vec.transform(cands) @ q[i].T).toarray()).ravel())
    return out


def encoder_scores(
    groups: Sequence[Group], encoder: Any, *, last_turns: int = 3, decay: float | None = None
) -> list[np.ndarray]:
    """Sentence-encoder cosine of each candidate with the context (see module docstring).

    Every distinct text is encoded once (one batch for the context side, one for the candidates).
    """
    groups = _check(groups)
    if decay is not None and not 0.0 < decay <= 1.0:
        raise DataError("decay out of range", value=decay, expected="0 < decay <= 1")
    if decay is None:
        queries = [[unsegment(" ".join(ctx[-last_turns:]))] for ctx, _, _ in groups]
    else:
        queries = [[unsegment(t) for t in ctx[-last_turns:]] for ctx, _, _ in groups]
    cands = [[unsegment(c) for c in cs] for _, cs, _ in groups]
    q_text = sorted({t for qs in queries for t in qs})
    c_text = sorted({t for cs in cands for t in cs})
    q_vec = encoder.encode(q_text)
    passages = getattr(encoder, "encode_passages", None)
    c_vec = passages(c_text) if passages is not None else encoder.encode(c_text)
    q_row = {t: i for i, t in enumerate(q_text)}
    c_row = {t: i for i, t in enumerate(c_text)}
    out = []
    for qs, cs in zip(queries, cands, strict=True):
        sims = q_vec[[q_row[t] for t in qs]] @ c_vec[[c_row[t] for t in cs]].T  # [turns, candidates]
        if decay is None:
            out.append(np.asarray(sims[0], dtype=np.float64))
        else:
            w = decay ** np.arange(len(qs))[::-1]  # the latest turn (last row) gets weight 1
            out.append(np.asarray(w @ sims / w.sum(), dtype=np.float64))
    return out


def fuse_scores(*scorers: list[np.ndarray]) -> list[np.ndarray]:
    """Equal-weight mean of per-group standardised scores (a constant group contributes zeros)."""
    if not scorers:
        raise DataError("nothing to fuse", expected="at least one scorer's scores")
    n = {len(s) for s in scorers}
    if len(n) != 1:
        raise DataError("scorers cover different numbers of groups", value=sorted(n))
    out = []
    for per_group in zip(*scorers, strict=True):
        zs = []
        for s in per_group:
            sd = s.std()
            zs.append((s - s.mean()) / sd if sd > 0 else np.zeros_like(s))
        out.append(np.mean(zs, axis=0))
    return out


def selection_metrics(groups: Sequence[Group], scores: Sequence[np.ndarray]) -> dict[str, Any]:
    """R10@1, R10@2, R10@5 and MRR of the true reply's rank; ties count against it (pessimistic), so a
    constant scorer gets no credit. Groups without a true reply are skipped (as by the scorers)."""
    groups = _check(groups)
    if len(groups) != len(scores):
        raise DataError("scores do not match the groups", value=len(scores), expected=str(len(groups)))
    ranks = []
    for (_, cands, pos), s in zip(groups, scores, strict=True):
        s = np.asarray(s)
        if s.shape != (len(cands),):
            raise DataError("one score per candidate expected", value=s.shape, expected=str((len(cands),)))
        others = np.delete(s, pos)
        ranks.append(1 + int((others >= s[pos]).sum()))
    r = np.asarray(ranks)
    return {
        "r10@1": round(float((r <= 1).mean()), 4),
        "r10@2": round(float((r <= 2).mean()), 4),
        "r10@5": round(float((r <= 5).mean()), 4),
        "mrr": round(float((1.0 / r).mean()), 4),
        "groups": len(groups),
    }
