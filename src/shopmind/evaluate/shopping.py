"""Shopping questions with known answers: does the assistant respect price, brand and category?

:func:`generate_questions` writes English and Chinese questions from a catalogue and its category
tree (the synthetic demo shop's ``categories.json`` gives the Chinese category and brand names),
each with the constraints it states and whether any catalogue item satisfies them:

* a category alone (``"do you sell headphones?"``, ``"有没有耳机？"``; every product listed must
  be in it);
* a category with an upper bound, a lower bound or a range (``"do you sell headphones under $50?"``,
  ``"50元以内的耳机"``, ``"20到40元的袜子"``), bounds drawn from that category's own price quantiles;
* a brand and a category with a bound (``"Sony headphones under $200"``, ``"索尼耳机200元以内"``);
* distractor numbers that are not prices (``"I have a 50 inch TV, any speakers under $80?"``);
* questions nothing matches: a bound below the category's cheapest item, a brand the category
  does not carry (the correct answer says so).

:func:`score` runs each question as a fresh chat turn and checks the products the reply lists as
*matches* (``ChatReply.products`` with ``match: true``) against the catalogue records:

* a **violation** is a listed match that breaks a stated constraint (price outside the bound, other
  brand, other category); alternatives offered after "nothing matches" are labelled as such and
  are not matches;
* a question is **correct** when it has no violation and, if some catalogue item matches, at
  least one product is listed; when nothing matches, correct means no product was listed as a
  match.

Bounds are inclusive and in the catalogue's currency (``"50元"`` is read as 50 in the shop's
currency), as in :mod:`shopmind.assistant.constraints`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

MAX_QUESTIONS = 100_000

EN_UPPER = [
    "do you sell {cat} under ${p}?",
    "{cat} less than {p} dollars",
    "show me {cat} below ${p}",
    "any {cat} for under ${p}?",
    "I'm looking for {cat}, budget ${p}",
    "{cat} up to {p} USD please",
    "what {cat} do you have under {p} bucks?",
]
EN_LOWER = ["{cat} over ${p}", "do you have {cat} above {p} dollars?", "show me {cat} more than ${p}"]
EN_RANGE = [
    "any {cat} between {a} and {b} dollars?",
    "{cat} ${a}-${b}",
    "looking for {cat} between ${a} and ${b}",
]
EN_BRAND = [
    "do you sell {brand} {cat} under ${p}?",
    "{brand} {cat} less than {p} dollars",
    "I want {brand} {cat} between ${a} and ${b}",
]
EN_DISTRACT = [
    "I have a 50 inch TV. Do you sell {cat} under ${p}?",
    "my last one lasted 3 years; any {cat} below {p} dollars?",
    "need {cat} for 2 people, under ${p}",
]
EN_CATEGORY = ["do you sell {cat}?", "what {cat} do you have?", "show me your {cat}", "I need new {cat}"]
ZH_CATEGORY = ["有没有{cat}？", "你们卖{cat}吗", "看看{cat}", "我想买{cat}"]
ZH_UPPER = [
    "{p}元以内的{cat}",
    "有没有{p}块以下的{cat}？",
    "不超过{p}元的{cat}有哪些",
    "想买{cat}，预算{p}元",
    "{cat}{p}元以下的有吗",
]
ZH_LOWER = ["{p}元以上的{cat}", "有没有{p}块以上的{cat}？"]
ZH_RANGE = ["{a}到{b}元的{cat}", "推荐几款{a}-{b}元的{cat}", "{cat}，价格在{a}和{b}之间"]
ZH_BRAND = ["{brand}{cat}{p}元以内有吗", "有没有{brand}的{cat}，不超过{p}元", "{a}到{b}元的{brand}{cat}"]
ZH_DISTRACT = ["我家电视是50英寸的，{p}元以内的{cat}有吗？", "买给2个孩子，{p}元以下的{cat}"]


@dataclass(frozen=True)
class Question:
    """One shopping question and the constraints it states (category is a full leaf path)."""

    text: str
    language: str
    kind: str  # upper | lower | range | brand | distractor | category | none_price | none_brand
    category: tuple[str, ...]
    brand: str | None = None
    price_min: float | None = None
    price_max: float | None = None
    expected_matches: int = 0

    def satisfied_by(self, item: Mapping[str, Any]) -> bool:
        price = item.get("price")
        if self.price_min is not None or self.price_max is not None:
            if price is None or (isinstance(price, float) and math.isnan(price)):
                return False
            if self.price_min is not None and price < self.price_min - 1e-9:
                return False
            if self.price_max is not None and price > self.price_max + 1e-9:
                return False
        if self.brand is not None and (item.get("brand") or "") != self.brand:
            return False
        path = tuple(item.get("category") or ())
        return path[: len(self.category)] == self.category


def _nice(x: float) -> int:
    """A round price a shopper would say: 1-2-2.5-5 steps (47 → 50, 180 → 200)."""
    if x <= 5:
        return 5
    mag = 10 ** math.floor(math.log10(x))
    for step in (1, 2, 2.5, 5, 10):
        if x <= step * mag * 1.15:
            return int(step * mag)
    return int(10 * mag)


def generate_questions(
    items: Sequence[Mapping[str, Any]],
    tree: Sequence[Mapping[str, Any]],
    *,
    n_per_language: int = 160,
    seed: int = 42,
) -> list[Question]:
    """``n_per_language`` English and as many Chinese questions with their expected match counts.

    ``items``: catalogue records (``category``, ``brand``, ``price``); ``tree``: the category tree
    (``path``, ``path_zh``, ``brands`` with ``name``/``name_zh``), as ``categories.json`` of
    :mod:`shopmind.datasets.synthetic`.
    """
    if not 1 <= n_per_language <= MAX_QUESTIONS // 2:
        raise ValueError(f"n_per_language must be in 1..{MAX_QUESTIONS // 2}, got {n_per_language}")
    rng = random.Random(seed)
    by_leaf: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for it in items:
        by_leaf.setdefault(tuple(it.get("category") or ()), []).append(it)
    leaves = [t for t in tree if tuple(t["path"]) in by_leaf]
    if not leaves:
        raise ValueError("no category of the tree has items in the catalogue")
    # a Chinese brand name only where the shop's own titles use it (else the titles say "Panasonic")
    titles_of: dict[str, str] = {}
    for it in items:
        if it.get("brand"):
            titles_of[str(it["brand"])] = titles_of.get(str(it["brand"]), "") + " " + str(it.get("title", ""))
    zh_brand = {
        b["name"]: b["name_zh"]
        for t in tree
        for b in t.get("brands", [])
        if b.get("name_zh") and b["name_zh"] in titles_of.get(b["name"], "")
    }
    all_brands = sorted({str(it.get("brand")) for it in items if it.get("brand")})
    questions: list[Question] = []
    for lang in ("en", "zh"):
        for i in range(n_per_language):
            leaf = leaves[i % len(leaves)]
            path = tuple(leaf["path"])
            pool = by_leaf[path]
            prices = np.asarray([float(it["price"]) for it in pool if it.get("price") is not None])
            cat = leaf["path"][-1].lower() if lang == "en" else leaf["path_zh"][-1]
            if lang == "en" and i % 3 == 1 and cat.endswith("s") and not cat.endswith("ss"):
                cat = cat[:-1]  # "headphone", "coffee maker": people say both
            kinds = ["upper", "lower", "range", "brand", "distractor", "category", "none_price", "none_brand"]
            kind = kinds[i % len(kinds)]
            brand: str | None = None
            lo: float | None = None
            hi: float | None = None
            if kind in ("upper", "distractor"):
                hi = float(_nice(float(np.quantile(prices, rng.uniform(0.1, 0.6)))))
            elif kind == "lower":
                lo = float(_nice(float(np.quantile(prices, rng.uniform(0.5, 0.9)))))
            elif kind == "range":
                a = _nice(float(np.quantile(prices, rng.uniform(0.1, 0.4))))
                b = _nice(float(np.quantile(prices, rng.uniform(0.6, 0.9))))
                lo, hi = float(min(a, b)), float(max(a, b) if a != b else a * 2)
            elif kind == "brand":
                brands = sorted({str(it.get("brand")) for it in pool if it.get("brand")})
                brand = rng.choice(brands)
                mine = [float(it["price"]) for it in pool if it.get("brand") == brand]
                if rng.random() < 0.5:
                    hi = float(_nice(max(mine) * rng.uniform(0.6, 1.1)))
                else:
                    a, b = _nice(min(mine) * 0.8), _nice(max(mine) * 0.9)
                    lo, hi = float(min(a, b)), float(max(a, b) if a != b else a * 2)
            elif kind == "category":
                pass  # the category alone
            elif kind == "none_price":
                floor = float(prices.min())
                hi = float(max(1, math.floor(floor * 0.5)))
            else:  # none_brand: a brand of the shop this category does not carry
                carried = {str(it.get("brand")) for it in pool}
                brand = rng.choice([b for b in all_brands if b not in carried] or all_brands)
                hi = float(_nice(float(np.quantile(prices, 0.8))))
            text = _phrase(rng, lang, kind, cat, brand, zh_brand, lo, hi)
            q = Question(text, lang, kind, path, brand, lo, hi)
            n = sum(q.satisfied_by(it) for it in pool)
            questions.append(Question(text, lang, kind, path, brand, lo, hi, expected_matches=n))
    return questions


def _fmt(x: float | None) -> str:
    return "" if x is None else (f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}")


def _phrase(
    rng: random.Random,
    lang: str,
    kind: str,
    cat: str,
    brand: str | None,
    zh_brand: Mapping[str, str],
    lo: float | None,
    hi: float | None,
) -> str:
    en = lang == "en"
    if brand is not None:
        templates = EN_BRAND if en else ZH_BRAND
        if lo is None:
            templates = [t for t in templates if "{a}" not in t]
        else:
            templates = [t for t in templates if "{a}" in t]
        name = brand if en else zh_brand.get(brand, brand)
        if not en and name[-1:].isascii() and cat[:1].isascii():
            name += " "  # "H&M T恤", not "H&MT恤"
        return rng.choice(templates).format(brand=name, cat=cat, p=_fmt(hi), a=_fmt(lo), b=_fmt(hi))
    if kind == "distractor":
        templates = EN_DISTRACT if en else ZH_DISTRACT
    elif kind == "category":
        templates = EN_CATEGORY if en else ZH_CATEGORY
    elif lo is not None and hi is not None:
        templates = EN_RANGE if en else ZH_RANGE
    elif lo is not None:
        templates = EN_LOWER if en else ZH_LOWER
    else:
        templates = EN_UPPER if en else ZH_UPPER
    return rng.choice(templates).format(cat=cat, p=_fmt(hi if hi is not None else lo), a=_fmt(lo), b=_fmt(hi))


@dataclass
class Outcome:
    """One question's result: the products listed as matches, violations, correctness."""

    question: Question
    listed: list[str]
    violations: list[str]
    correct: bool
    reply: str
    intent: str
    tool: str | None
    took_ms: float

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["question"] = asdict(self.question)
        return out


@dataclass
class ShoppingReport:
    """Share correct and violations, overall and per language / question kind."""

    n: int
    correct: float
    violations: int
    questions_with_violations: int
    by_language: dict[str, dict[str, float]] = field(default_factory=dict)
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    median_ms: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score(
    questions: Iterable[Question],
    chat: Callable[[str, str], Any],
    items: Mapping[str, Mapping[str, Any]],
    *,
    max_failures: int = 40,
    progress: Callable[[int], None] | None = None,
) -> tuple[ShoppingReport, list[Outcome]]:
    """Ask every question through ``chat(text, language)`` (a fresh conversation each) and score it.

    ``chat`` returns a :class:`~shopmind.assistant.dialogue.ChatReply` (its ``products`` list);
    ``items`` maps item id → catalogue record (the truth the listed products are checked against).
    """
    outcomes: list[Outcome] = []
    for i, q in enumerate(questions):
        started = time.perf_counter()
        reply = chat(q.text, q.language)
        took = (time.perf_counter() - started) * 1000
        listed = [str(p["item_id"]) for p in getattr(reply, "products", []) if p.get("match")]
        bad = [i for i in listed if i not in items or not q.satisfied_by(items[i])]
        ok = not bad and (bool(listed) if q.expected_matches > 0 else not listed)
        outcomes.append(Outcome(q, listed, bad, ok, reply.text, reply.intent, reply.tool, round(took, 2)))
        if progress is not None:
            progress(i + 1)
    return summarise(outcomes, max_failures=max_failures), outcomes


def summarise(outcomes: Sequence[Outcome], *, max_failures: int = 40) -> ShoppingReport:
    def block(sel: Sequence[Outcome]) -> dict[str, float]:
        return {
            "n": len(sel),
            "correct": round(sum(o.correct for o in sel) / max(len(sel), 1), 4),
            "violations": sum(len(o.violations) for o in sel),
        }

    langs = sorted({o.question.language for o in outcomes})
    kinds = sorted({o.question.kind for o in outcomes})
    fails = [o for o in outcomes if not o.correct][:max_failures]
    return ShoppingReport(
        n=len(outcomes),
        correct=round(sum(o.correct for o in outcomes) / max(len(outcomes), 1), 4),
        violations=sum(len(o.violations) for o in outcomes),
        questions_with_violations=sum(bool(o.violations) for o in outcomes),
        by_language={lang: block([o for o in outcomes if o.question.language == lang]) for lang in langs},
        by_kind={k: block([o for o in outcomes if o.question.kind == k]) for k in kinds},
        median_ms=float(np.median([o.took_ms for o in outcomes])) if outcomes else 0.0,
        failures=[
            {
                "question": o.question.text,
                "kind": o.question.kind,
                "expected_matches": o.question.expected_matches,
                "listed": o.listed[:5],
                "violations": o.violations[:5],
                "intent": o.intent,
                "tool": o.tool,
                "reply": o.reply[:300],
            }
            for o in fails
        ],
    )
