"""Reasons for recommended items, derived from the model that scored them.

* item-item models (item-kNN, SAR, EASE, ALS item factors, the hybrid's blend): the history item
  ``j`` with the largest contribution ``x_uj · sim(j, i)`` → "because you bought X";
* content: attributes the item shares with the user's history (brand, category), else the TF-IDF
  terms contributing most to ``cos(profile, v_i)`` → "matches your interest in …";
* popularity / trending → "popular in Z" / "trending in Z";
* user-kNN → "customers with similar taste liked it";
* a hybrid asks which component contributed most (``w_c · norm_c(u, i)``) and uses its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from shopmind.catalog import Catalog
from shopmind.recommend.base import Recommender

STRENGTH: dict[str, int] = {
    "view": 1,
    "click": 1,
    "wishlist": 2,
    "cart": 3,
    "rating": 4,
    "review": 4,
    "purchase": 5,
}
"""How strong an event is, for choosing the verb of "because you … X" (strongest event wins)."""

ACTIONS: dict[int, str] = {1: "view", 2: "save", 3: "cart", 4: "rate", 5: "purchase"}
"""The explanation's ``action`` code per event strength (clients phrase it in their language)."""
VERBS: dict[str, str] = {
    "view": "viewed",
    "save": "saved",
    "cart": "added to your cart",
    "rate": "rated",
    "purchase": "bought",
}

POPULAR = frozenset({"popularity", "trending"})
MAX_HISTORY = 200  # most recent/heaviest history items considered for "because you … X"


class History(NamedTuple):
    """One user's interaction row: sorted item indices and their float32 weights."""

    indices: np.ndarray
    data: np.ndarray

    @property
    def nnz(self) -> int:
        return len(self.indices)

    def csr(self, n_items: int) -> sp.csr_matrix:
        """The row as a 1×``n_items`` CSR matrix (for ``score_history``)."""
        return sp.csr_matrix((self.data, self.indices, np.array([0, self.nnz])), shape=(1, n_items))


@dataclass(frozen=True)
class _ItemFacts:
    """``brand[i]``: id of item ``i``'s brand (−1: none); ``prefix[i, d]``: id of the lower-cased first
    ``d + 1`` components of its category path (−1 past its depth). Equal ids ⇔ equal brand / prefix."""

    brand: np.ndarray
    prefix: np.ndarray

    @classmethod
    def of(cls, catalog: Catalog) -> _ItemFacts:
        brand_ids: dict[str, int] = {}
        prefix_ids: dict[tuple[str, ...], int] = {}
        n = len(catalog)
        depth = max((len(p) for p in catalog.category), default=0)
        brand = np.full(n, -1, dtype=np.int64)
        prefix = np.full((n, max(depth, 1)), -1, dtype=np.int64)
        for i in range(n):
            b = catalog.brand[i]
            if b:
                brand[i] = brand_ids.setdefault(b, len(brand_ids))
            path = tuple(c.lower() for c in catalog.category[i])
            for d in range(len(path)):
                prefix[i, d] = prefix_ids.setdefault(path[: d + 1], len(prefix_ids))
        return cls(brand, prefix)


@dataclass
class Explainer:
    """Builds reasons from a catalogue (titles, categories, brands)."""

    catalog: Catalog
    _facts: _ItemFacts | None = field(default=None, init=False, repr=False)

    def title(self, i: int) -> str:
        return self.catalog.title[i]

    def because(
        self,
        model: Recommender,
        history: History,
        targets: np.ndarray,
        strength: dict[int, int] | None = None,
        session: set[int] | None = None,
    ) -> list[tuple[str, dict[str, Any]] | None]:
        """ "because you bought X" per target from ``model``'s item similarity (None when none)."""
        if not model.supports_similar or history.nnz == 0 or not len(targets):
            return [None] * len(targets)
        hist, w = history.indices, history.data.astype(np.float64)
        if len(hist) > MAX_HISTORY:
            keep = np.argsort(-w, kind="stable")[:MAX_HISTORY]
            hist, w = hist[keep], w[keep]
        sims = model.similarity_block(hist, np.asarray(targets))
        contrib = w[:, None] * sims
        best = np.argmax(contrib, axis=0)
        out: list[tuple[str, dict[str, Any]] | None] = []
        for col, b in enumerate(best):
            if not contrib[b, col] > 0:
                out.append(None)
                continue
            j = int(hist[b])
            item_id = self.catalog.ids[j]
            title = self.title(j)
            info: dict[str, Any] = {
                "kind": "because",
                "model": model.name,
                "because": item_id,
                "title": title,
            }
            if session and j in session:
                text = f"similar to {title}, which you viewed just now"
                info["action"] = "session"
            else:
                info["action"] = ACTIONS.get((strength or {}).get(j, 1), "view")
                text = f"because you {VERBS[info['action']]} {title}"
            out.append((text, info))
        return out

    def _item_facts(self) -> _ItemFacts:
        """Per-item brand and category-prefix ids — a history's facts are then a numpy gather instead
        of a Python loop over it (built on first use, ≈ 50 ms for 20k items; :meth:`refresh`)."""
        facts = self._facts
        if facts is None:
            facts = self._facts = _ItemFacts.of(self.catalog)
        return facts

    def refresh(self) -> None:
        """Rebuild the per-item facts now (the catalogue's brands or categories changed)."""
        self._facts = _ItemFacts.of(self.catalog)

    def history_facts(self, history_items: np.ndarray) -> tuple[set[int], set[int]]:
        """Brand ids and lower-cased category-prefix ids of a history (computed once per request)."""
        facts = self._item_facts()
        hist = np.asarray(history_items, dtype=np.int64)
        brands = facts.brand[hist]
        prefixes = facts.prefix[hist]
        return set(np.unique(brands[brands >= 0]).tolist()), set(np.unique(prefixes[prefixes >= 0]).tolist())

    def content(
        self,
        history_items: np.ndarray,
        target: int,
        facts: tuple[set[int], set[int]] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Shared brand / category between ``target`` and the history, most specific first.

        The category match is the deepest prefix of the target's path (case-insensitive) that is
        also a prefix of a history item's path; ``facts`` (:meth:`history_facts`) avoids redoing
        the history's part for every target.
        """
        brands, prefixes = facts if facts is not None else self.history_facts(history_items)
        item = self._item_facts()
        matches: list[str] = []
        # the same facts as fields, so that a client can phrase them in its own language
        shared: dict[str, str] = {}
        if item.brand[target] >= 0 and int(item.brand[target]) in brands:
            shared["brand"] = str(self.catalog.brand[target])
            matches.append(f"brand {shared['brand']}")
        path = self.catalog.category[target]
        target_prefixes = item.prefix[target].tolist()
        for depth in range(len(path), 0, -1):
            if target_prefixes[depth - 1] in prefixes:
                shared["category"] = path[depth - 1]
                matches.append(f"category {shared['category']}")
                break
        if matches:
            return (
                f"matches your interest in {' and '.join(matches)}",
                {"kind": "content", "matching": matches, **shared},
            )
        return "matches items you liked", {"kind": "content", "matching": []}

    def popular(
        self, target: int, category: str | None = None, trending: bool = True
    ) -> tuple[str, dict[str, Any]]:
        cat = category or self.catalog.top_category(target)
        # "trending", not "this week": the data may have ended long before the request
        if trending:
            text = f"trending in {cat}" if cat else "trending"
        else:
            text = f"popular in {cat}" if cat else "popular with customers"
        return text, {"kind": "popular", "category": cat, "trending": trending}


def dominant_component(parts: Mapping[str, Any], weights: dict[str, float], targets: np.ndarray) -> list[str]:
    """Per target item, the hybrid component with the largest ``w_c · norm_c`` (row 0 of parts).

    ``parts`` holds dense normalised arrays or lazy ``hybrid.Part`` objects (evaluated at the
    targets only).
    """
    if not parts:
        return ["popularity"] * len(targets)
    names = list(parts)
    targets = np.asarray(targets, dtype=np.int64)
    contrib = np.vstack(
        [
            weights[n] * (parts[n].at(0, targets) if hasattr(parts[n], "at") else parts[n][0, targets])
            for n in names
        ]
    )
    return [names[k] for k in np.argmax(contrib, axis=0)]
