"""Highlighting: ``<em>`` around the words of a text that match the query's index terms.

Latin words are matched after the same analysis as indexing (so "Speakers" is highlighted for the
query "speaker", and "1 TB" for "1tb"); Han text is matched by substring for every Han query term
(the word and its bigrams), longest first, so "处理" is highlighted inside "待处理". Everything else
is HTML-escaped, so the output is safe to insert into a page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from shopmind.search.analyzers import Analyzer
from shopmind.text import CJK_CLASS

_WORD_SPAN = re.compile(r"[0-9A-Za-z\u00c0-\u024f\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+(?:\.[0-9]+)?")
_HAN_TERM = re.compile(rf"^[{CJK_CLASS}]+$")
_HAS_DIGIT = re.compile(r"[0-9\uff10-\uff19]")


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def match_spans(text: str, terms: Iterable[str], analyzer: Analyzer) -> list[tuple[int, int]]:
    """Character spans of ``text`` that match one of the index ``terms``."""
    terms = set(terms)
    if not text or not terms:
        return []
    spans: list[tuple[int, int]] = []
    words = list(_WORD_SPAN.finditer(text))
    for i, m in enumerate(words):
        got = analyzer.analyze(m.group(0))
        if got and any(t in terms for t in got):
            spans.append(m.span())
            continue
        if i + 1 < len(words):  # "1 TB" → 1tb, "TN-2110" → tn2110
            nxt = words[i + 1]
            gap = text[m.end() : nxt.start()]
            # the analyzer only joins across a hyphen/slash or after a number (number + unit); any
            # other pair analyses to the two words' own terms, so skip the (uncached) analysis
            if len(gap) > 1 or not (gap in ("-", "/") or _HAS_DIGIT.search(m.group(0))):
                continue
            alone = set(got) | set(analyzer.analyze(nxt.group(0)))
            joined = analyzer.analyze(text[m.start() : nxt.end()])
            if joined and any(t in terms for t in joined if t not in alone):
                spans.append((m.start(), nxt.end()))
    lowered = text.lower()
    for t in sorted((t for t in terms if _HAN_TERM.match(t)), key=len, reverse=True):
        start = lowered.find(t)
        while start >= 0:
            spans.append((start, start + len(t)))
            start = lowered.find(t, start + len(t))
    return _merge(spans)


def highlight(text: str, terms: Iterable[str], analyzer: Analyzer, *, tag: str = "em") -> str:
    """``text`` HTML-escaped with ``<tag>…</tag>`` around matched spans."""
    spans = match_spans(text, terms, analyzer)
    out, pos = [], 0
    for s, e in spans:
        out.append(html.escape(text[pos:s]))
        out.append(f"<{tag}>{html.escape(text[s:e])}</{tag}>")
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out)


def snippet(text: str, terms: Iterable[str], analyzer: Analyzer, *, width: int = 160) -> str:
    """A ``width``-character window of ``text`` around its first match, highlighted."""
    if len(text) <= width:
        return highlight(text, terms, analyzer)
    spans = match_spans(text, terms, analyzer)
    start = max(0, spans[0][0] - width // 4) if spans else 0
    piece = text[start : start + width]
    return (
        ("…" if start else "")
        + highlight(piece, terms, analyzer)
        + ("…" if start + width < len(text) else "")
    )
