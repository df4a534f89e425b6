"""Merchandising rules: per query, hide / boost / bury products and pin some at fixed positions.

A shop's rules are data it edits at run time (``PUT /admin/search/rules`` → ``Engine.set_search_rules``,
saved to ``rules.json`` in the shop's search data folder, applied by every worker at once and kept by
the next training), not settings. A rule's query is compared after :func:`normalize_query`, so
"ＴＶ  Stand" and "tv stand", or full- and half-width Chinese punctuation, are the same query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopmind.errors import ConfigError
from shopmind.text import normalize

RULE_KEYS = ("query", "match", "pin", "boost", "bury", "hide")


@dataclass
class Rule:
    """A merchandising rule: for a query, hide / boost / bury products and pin one at a position."""

    query: str
    match: str = "exact"  # exact | contains
    pin: list[dict[str, Any]] = field(default_factory=list)  # [{"id": "sku1", "position": 1}]
    boost: list[str] = field(default_factory=list)
    bury: list[str] = field(default_factory=list)
    hide: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.match not in ("exact", "contains"):
            raise ConfigError("unknown rule match", value=self.match, expected="exact or contains")
        for p in self.pin:
            if "id" not in p or int(p.get("position", 0)) < 1:
                raise ConfigError("a pin needs an id and a position >= 1", value=p)
        self._key = normalize_query(self.query)  # not a field: asdict (rules.json) leaves it out

    def applies(self, query: str) -> bool:
        return self.applies_normalized(normalize_query(query))

    def applies_normalized(self, q: str) -> bool:
        """Whether the rule applies to ``q``, a query already passed through :func:`normalize_query`."""
        return q == self._key if self.match == "exact" else self._key in q


def normalize_query(query: str) -> str:
    """A query as rules compare it: NFKC, lower case, single spaces (``"ＴＶ  Stand"`` → ``"tv stand"``)."""
    return " ".join(normalize(query).split())


def parse_rules(rules: Iterable[Mapping[str, Any]] | None) -> list[Rule]:
    """Validated rules from dicts (``rules.json``, the API); raises :class:`ConfigError`."""
    out = []
    for r in rules or ():
        unknown = set(r) - set(RULE_KEYS)
        if unknown or "query" not in r:
            raise ConfigError("bad merchandising rule", value=dict(r), expected=", ".join(RULE_KEYS))
        out.append(Rule(**{k: v for k, v in r.items()}))
    return out


class RuleIndex:
    """Rules by normalised query: the exact ones in a dict (one lookup per query, however many rules
    the shop has), the ``contains`` ones scanned. :meth:`active` keeps the rules' order."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self.rules = list(rules)
        self._exact: dict[str, list[int]] = {}
        self._contains: list[int] = []
        for i, r in enumerate(self.rules):
            if r.match == "exact":
                self._exact.setdefault(r._key, []).append(i)
            else:
                self._contains.append(i)

    def active(self, query: str) -> list[Rule]:
        """The rules that apply to ``query``, in the order they were given."""
        q = normalize_query(query)
        hits = self._exact.get(q, []) + [i for i in self._contains if self.rules[i]._key in q]
        return [self.rules[i] for i in sorted(hits)]


def apply_rules(
    rules: Iterable[Rule],
    query: str,
    rows: np.ndarray,
    scores: np.ndarray,
    row_of: Mapping[str, int],
    alive: np.ndarray,
    eligible: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, set[int], int, list[int]]:
    """Ranked ``rows``/``scores`` after the rules that apply to ``query``.

    Returns ``(rows, scores, pinned rows, pins that were not among the matches, hidden rows)``. Order
    of operations per rule: hide, boost (to the top, keeping their order), bury (to the bottom); then
    every pin, lowest position first. A pinned product that did not match takes the best score.
    ``eligible``: rows a pin may bring in (the shopper's filters; default ``alive``); hidden rows are
    every live row the rules hide, filtered or not, so counts under other filters leave them out too.
    """
    q = normalize_query(query)  # once, not once per rule
    active = [r for r in rules if r.applies_normalized(q)]
    if not active:
        return rows, scores, set(), 0, []

    def to_rows(ids: Iterable[str], mask: np.ndarray = alive) -> list[int]:
        return [row_of[i] for i in ids if i in row_of and mask[row_of[i]]]

    order = rows.tolist()
    sc = dict(zip(order, scores.tolist(), strict=True))
    extra = 0
    hidden: list[int] = []
    for rule in active:
        hide = set(to_rows(rule.hide))
        hidden.extend(hide)
        order = [r for r in order if r not in hide]
        bset = set(to_rows(rule.boost))
        order = [r for r in order if r in bset] + [r for r in order if r not in bset]
        bury = set(to_rows(rule.bury))
        order = [r for r in order if r not in bury] + [r for r in order if r in bury]
    pinned: set[int] = set()
    pins = sorted((int(p["position"]), str(p["id"])) for rule in active for p in rule.pin)
    for pos, iid in pins:
        got = to_rows([iid], alive if eligible is None else eligible)
        if not got:
            continue
        r = got[0]
        if r not in sc:
            extra += 1
            sc[r] = max(sc.values(), default=1.0)
        order = [x for x in order if x != r]
        order.insert(min(pos - 1, len(order)), r)
        pinned.add(r)
    return np.asarray(order, np.int64), np.asarray([sc[r] for r in order], np.float64), pinned, extra, hidden
