"""Merchandising rules: per query, hide / boost / bury products and pin some at fixed positions.

A shop's rules are data it edits at run time (``PUT /search/rules`` → ``SearchService.set_rules``,
saved to ``rules.json`` beside the artifacts and folded into the next index), not settings.
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

    def applies(self, query: str) -> bool:
        q, r = " ".join(normalize(query).split()), " ".join(normalize(self.query).split())
        return q == r if self.match == "exact" else r in q


def parse_rules(rules: Iterable[Mapping[str, Any]] | None) -> list[Rule]:
    """Validated rules from dicts (``rules.json``, the API); raises :class:`ConfigError`."""
    out = []
    for r in rules or ():
        unknown = set(r) - set(RULE_KEYS)
        if unknown or "query" not in r:
            raise ConfigError("bad merchandising rule", value=dict(r), expected=", ".join(RULE_KEYS))
        out.append(Rule(**{k: v for k, v in r.items()}))
    return out


def apply_rules(
    rules: Iterable[Rule],
    query: str,
    rows: np.ndarray,
    scores: np.ndarray,
    row_of: Mapping[str, int],
    alive: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, set[int], int, list[int]]:
    """Ranked ``rows``/``scores`` after the rules that apply to ``query``.

    Returns ``(rows, scores, pinned rows, pins that were not among the matches, hidden rows)``. Order
    of operations per rule: hide, boost (to the top, keeping their order), bury (to the bottom); then
    every pin, lowest position first. A pinned product that did not match takes the best score.
    """
    active = [r for r in rules if r.applies(query)]
    if not active:
        return rows, scores, set(), 0, []

    def to_rows(ids: Iterable[str]) -> list[int]:
        return [row_of[i] for i in ids if i in row_of and alive[row_of[i]]]

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
        got = to_rows([iid])
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
