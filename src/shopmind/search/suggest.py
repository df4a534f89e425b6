"""Autocomplete: prefix completion over titles, brands, categories and past queries.

Entries are ``(key, text, kind, weight)``; keys are normalised (NFKC, lower-case). A title is also
keyed by its suffixes that start at its 2nd–4th word, so "airpods" completes "Apple AirPods Pro".
Lookup is a binary search for the prefix range in the sorted key array (``O(log n + m)``), then the
``k`` heaviest distinct texts win. Weights: products by popularity, brands and categories by product
count, queries by how often they were searched with results (mined from the search log), queries
first at equal weight because they are phrased the way shoppers type.
"""

from __future__ import annotations

import bisect
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from shopmind.text import normalize

MAX_SCAN = 5000  # entries scanned for a very short prefix; heavier ones are found first anyway


class Suggester:
    def __init__(self, entries: Iterable[tuple[str, str, str, float]] = ()) -> None:
        self._set(entries)

    def _set(self, entries: Iterable[tuple[str, str, str, float]]) -> None:
        items = sorted(entries)
        self.keys = [e[0] for e in items]
        self.entries = items

    @classmethod
    def build(
        cls,
        titles: Sequence[str],
        popularity: Sequence[float],
        brands: Iterable[str | None],
        categories: Iterable[Sequence[str]],
        queries: Counter[str] | None = None,
    ) -> Suggester:
        entries: list[tuple[str, str, str, float]] = []
        for title, pop in zip(titles, popularity, strict=True):
            if not title:
                continue
            w = 1.0 + math.log1p(max(float(pop), 0.0))
            norm = normalize(title).strip()
            entries.append((norm, title, "product", w))
            words = norm.split()
            for i in range(1, min(4, len(words))):
                entries.append((" ".join(words[i:]), title, "product", w * 0.8))
        for brand, n in Counter(b for b in brands if b).items():
            entries.append((normalize(brand).strip(), brand, "brand", 1.0 + math.log1p(n)))
        cat_counts: Counter[str] = Counter()
        for path in categories:
            for c in path or ():
                cat_counts[str(c)] += 1
        for cat, n in cat_counts.items():
            entries.append((normalize(cat).strip(), cat, "category", 1.0 + math.log1p(n)))
        for q, n in (queries or Counter()).items():
            qn = normalize(q).strip()
            if qn:
                entries.append((qn, qn, "query", 1.5 + math.log1p(n)))
        return cls(entries)

    def add_titles(self, titles: Sequence[str]) -> None:
        """Add product titles (live updates): a few are inserted in place, many trigger one re-sort."""
        new = [(normalize(t).strip(), t, "product", 1.0) for t in titles if t]
        if len(new) > 1000:
            self._set([*self.entries, *new])
            return
        for e in new:  # O(n) list insert each, instead of an O(n log n) sort of every entry
            i = bisect.bisect_right(self.entries, e)
            self.entries.insert(i, e)
            self.keys.insert(i, e[0])

    def suggest(self, prefix: str, k: int = 8) -> list[dict[str, object]]:
        """Up to ``k`` completions ``{"text", "kind", "score"}``, heaviest first."""
        p = normalize(prefix).strip()
        if not p or k <= 0:
            return []
        lo = bisect.bisect_left(self.keys, p)
        hi = bisect.bisect_left(self.keys, p + "\U0010ffff", lo)
        best: dict[str, tuple[float, str]] = {}
        for key, text, kind, w in self.entries[lo : min(hi, lo + MAX_SCAN)]:
            score = w + (0.5 if key == p else 0.0)
            if text not in best or best[text][0] < score:
                best[text] = (score, kind)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]
        return [{"text": t, "kind": kind, "score": round(s, 4)} for t, (s, kind) in ranked]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.entries, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Suggester:
        return cls(tuple(e) for e in json.loads(path.read_text(encoding="utf-8")))  # type: ignore[misc]
