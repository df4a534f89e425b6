"""Slots of the service dialogues, Chinese first: order ids, phone tails, amounts and dates.

Every extractor works on the message *as typed* and returns the character spans it used, so the
dialogue can keep one slot from being read as another ("尾号1234" is a phone tail, not order number
1234; "99元" is an amount).

* **Width folding** (:func:`fold_width`): full-width ASCII (``ＯＲＤ－０００１``) and the ideographic
  space become ASCII, one character for one, so spans found on the folded text are spans of the
  original (Unicode NFKC would also do it but may change the length).
* **Chinese numerals** (``九十九``, ``两百``, ``一二三四``) are converted with ``cn2an`` (smart mode:
  place-value numerals and digit-by-digit readings), only inside the spans the patterns below
  recognise — converting a whole message would turn 查一下 into 查1下.
* **Order ids** (:class:`OrderIdFormat`): the shapes of the shop's own order ids are learnt from a
  sample of stored ids (``ORD-0001-000003`` → the literal prefix ``ORD``, groups of 4 and 6
  digits); a message matches a shape with any separators between the groups (spaces, dashes,
  underscores, none), single spaces inside a digit group (read out in blocks) and any letter case,
  and the match is rewritten in the shop's canonical form
  (``ord 0001 000003`` → ``ORD-0001-000003``).
* **Phone tail** (:func:`phone_tail`): the last four digits of the customer's phone, as Chinese
  customer service asks for them (``尾号1234``, ``手机后四位是1234``, ``phone ending in 1234``).
* **Amounts** (:func:`amounts`): ``99元``, ``九十九块``, ``九十九块五`` (99.5), ``¥99.5``, ``$20``,
  ``20 dollars``.
* **Dates** (:func:`dates`): Chinese date expressions resolved to a half-open range of local time
  ``[start, end)`` relative to the conversation's time: 今天 / 昨天 / 前天 / 大前天, ``N天前``,
  上周三 / 这周五 / 周日 / 上上周一, 上周 / 本周, 上个月 / 这个月, ``上个月15号``, ``3月5日``,
  ``去年12月1日``, ``2025年3月5日``, ``2025-03-05``, each optionally narrowed by a part of the day
  (上午, 下午, 晚上 …). A month and day without a year is the latest such date not after today
  (a customer talks about orders already placed).

  Hand-written on purpose: of the packaged parsers, JioNLP's ``parse_time`` resolves all of these
  well but requires the GPL-3.0 segmenter ``jiojio`` (148 MB; shopmind is Apache-2.0);
  ``dateparser`` 1.5 returns nothing for 上周三, 3月5日 or 上个月15号 and a point for 上周;
  ChineseTimeNLP returns points rather than ranges and resolves ``两天前`` against the wall clock
  instead of the given base time. The grammar here is small because the dialogue only needs the
  day (and part of day) an order was placed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import cn2an

MAX_SLOT_TEXT = 4000
"""Characters of a message the extractors read (a chat turn is at most 4,000 characters)."""

MAX_ORDER_SHAPES = 8
"""Distinct order-id shapes kept from the sample (a shop has one or a few id formats)."""

Span = tuple[int, int]

# ---------------------------------------------------------------------------- width folding
_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FULL_WIDTH[0x3000] = 0x20  # ideographic space
_FULL_WIDTH[0xFFE5] = ord("¥")  # full-width yen/yuan sign
_FULL_WIDTH[0x2014] = ord("-")  # em dash, typed between id groups by some input methods


def fold_width(text: str) -> str:
    """``text`` with full-width ASCII forms and the ideographic space as ASCII, same length."""
    return text.translate(_FULL_WIDTH)


# Chinese numeral characters: place-value (九十九, 两百) and digit-by-digit (一二三四) readings
_CN_DIGITS = "零〇一二两三四五六七八九"
_CN_NUM = f"[{_CN_DIGITS}十百千万点]"


def cn_number(text: str) -> float | None:
    """The value of a numeral written in Arabic digits or Chinese characters, ``None`` if it is not one."""
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    try:
        value = cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, TypeError):  # cn2an rejects malformed numerals with ValueError
        return None
    return float(value)


def _digit_string(text: str) -> str | None:
    """A digit-by-digit reading (``一二三四``, ``1234``, ``幺``-free) as ASCII digits."""
    if re.fullmatch(r"\d+", text):
        return text
    table = {c: str(i) for i, c in enumerate("零一二三四五六七八九")}
    table["〇"] = "0"
    table["两"] = "2"
    if all(c in table for c in text):
        return "".join(table[c] for c in text)
    return None


def _overlaps(span: Span, others: Iterable[Span]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in others)


# ---------------------------------------------------------------------------- order ids
@dataclass(frozen=True)
class _Shape:
    """One order-id shape: a sequence of ``("L", literal)``/``("L", n)`` letter and ``("D", n)`` digit
    groups, with the separators written between them in the canonical form."""

    groups: tuple[tuple[str, str | int], ...]
    seps: tuple[str, ...]

    def pattern(self) -> str:
        parts = []
        for i, (kind, spec) in enumerate(self.groups):
            if kind == "D":
                # digits read out in blocks ("2024 0315 00001") keep their single spaces
                parts.append(rf"(\d(?: ?\d){{{int(spec) - 1}}})")
            elif isinstance(spec, str):
                parts.append(f"((?i:{re.escape(spec)}))")
            else:
                parts.append(rf"([A-Za-z]{{{spec}}})")
            if i < len(self.groups) - 1:
                parts.append(r"[\s\-_.]{0,3}")
        return r"(?<![A-Za-z0-9])" + "".join(parts) + r"(?![A-Za-z0-9])"

    def canonical(self, match: re.Match[str]) -> str:
        out = []
        for i, _ in enumerate(self.groups):
            out.append(match.group(i + 1).replace(" ", "").upper())
            if i < len(self.seps):
                out.append(self.seps[i])
        return "".join(out)


def _shape_of(order_id: str) -> tuple[tuple[tuple[str, int], ...], tuple[str, ...], tuple[str, ...]] | None:
    runs = re.findall(r"[A-Za-z]+|\d+|[^A-Za-z\d]+", order_id)
    groups: list[tuple[str, int]] = []
    letters: list[str] = []
    seps: list[str] = []
    pending_sep = ""
    for run in runs:
        if run[0].isascii() and run[0].isalpha():
            groups.append(("L", len(run)))
            letters.append(run.upper())
        elif run.isdigit():
            groups.append(("D", len(run)))
        else:
            if not groups or not re.fullmatch(r"[-_.]{1,3}", run):
                return None  # leading separator or an odd character: not a shape we can match loosely
            pending_sep = run
            seps.append(pending_sep)
            continue
        if len(groups) > len(seps) + 1:
            seps.append("")
    if not groups or not any(k == "D" for k, _ in groups) or len(seps) != len(groups) - 1:
        return None
    return tuple(groups), tuple(seps), tuple(letters)


class OrderIdFormat:
    """The shop's order-id shapes, learnt from stored ids; finds ids written loosely in a message.

    A shape keeps its letter groups as literals when every sampled id of that shape has the same
    letters (``ORD``), else as ``[A-Za-z]{n}``. Only shapes with at least 6 digits in all are kept:
    shorter ones would take prices and phone tails for ids when separators are optional.
    """

    def __init__(self, shapes: Iterable[_Shape] = ()) -> None:
        self.shapes = tuple(shapes)[:MAX_ORDER_SHAPES]
        self._patterns = [(re.compile(s.pattern()), s) for s in self.shapes]

    @classmethod
    def learn(cls, order_ids: Iterable[str]) -> OrderIdFormat:
        counts: dict[tuple[Any, ...], int] = {}
        letters: dict[tuple[Any, ...], set[tuple[str, ...]]] = {}
        for oid in order_ids:
            parsed = _shape_of(str(oid))
            if parsed is None:
                continue
            groups, seps, lets = parsed
            key = (groups, seps)
            counts[key] = counts.get(key, 0) + 1
            letters.setdefault(key, set()).add(lets)
        shapes = []
        for key, _ in sorted(counts.items(), key=lambda kv: -kv[1])[:MAX_ORDER_SHAPES]:
            groups, seps = key
            if sum(int(n) for k, n in groups if k == "D") < 6:
                continue
            fixed = next(iter(letters[key])) if len(letters[key]) == 1 else None
            out: list[tuple[str, str | int]] = []
            li = 0
            for kind, n in groups:
                if kind == "L":
                    out.append(("L", fixed[li] if fixed is not None else n))
                    li += 1
                else:
                    out.append(("D", n))
            shapes.append(_Shape(tuple(out), seps))
        return cls(shapes)

    def find(self, text: str) -> list[tuple[str, Span]]:
        """``(canonical id, span)`` for each id of a known shape in ``text`` (full-width folded)."""
        folded = fold_width(text[:MAX_SLOT_TEXT])
        found: list[tuple[str, Span]] = []
        for pattern, shape in self._patterns:
            for m in pattern.finditer(folded):
                if not _overlaps(m.span(), (s for _, s in found)):
                    found.append((shape.canonical(m), m.span()))
        return sorted(found, key=lambda f: f[1])


# ---------------------------------------------------------------------------- phone tail
_TAIL_DIGITS = r"([0-9零〇一二两三四五六七八九]{4})(?![0-9零〇一二两三四五六七八九])"
_PHONE_TAIL_ZH = re.compile(
    r"(?:手机|电话|手机号码?|号码|联系方式|预留(?:手机|电话)?)?(?:号)?的?"
    r"(?:尾号|后四位|后4位|末四位|末4位|最后四位|最后4位)(?:数字|号码)?\s*(?:是|为|:)?\s*" + _TAIL_DIGITS
)
_PHONE_TAIL_EN = re.compile(
    r"(?i)(?:(?:phone|mobile|cell|number)\s+(?:number\s+)?end(?:s|ing)\s+(?:in|with)\s+"
    r"|last\s+(?:4|four)\s+digits\s+(?:of\s+(?:my\s+)?(?:phone|mobile|number)\s+)?(?:are|is|:)?\s*)"
    r"(\d{4})(?!\d)"
)


def phone_tail(text: str) -> tuple[str, Span] | None:
    """The last four digits of a phone number the message gives as such, with their span."""
    folded = fold_width(text[:MAX_SLOT_TEXT])
    for pattern in (_PHONE_TAIL_ZH, _PHONE_TAIL_EN):
        m = pattern.search(folded)
        if m:
            digits = _digit_string(m.group(1))
            if digits is not None:
                return digits, m.span()
    return None


# ---------------------------------------------------------------------------- amounts
@dataclass(frozen=True)
class Amount:
    """A sum of money stated in a message; ``currency`` is ``None`` when only 元/块/¥ says "money"."""

    value: float
    currency: str | None
    text: str
    span: Span


_NUM = r"\d+(?:\.\d{1,2})?"
_AMOUNT_PATTERNS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(rf"(?:¥|RMB\s*|人民币\s*)({_NUM})"), "CNY"),
    (re.compile(rf"(?:US)?\$\s*({_NUM})"), "USD"),
    (re.compile(rf"€\s*({_NUM})"), "EUR"),
    (re.compile(rf"({_NUM}|{_CN_NUM}+)\s*(?:美元|美金|刀)"), "USD"),
    (re.compile(rf"({_NUM}|{_CN_NUM}+)\s*欧元"), "EUR"),
    (re.compile(rf"(?i)({_NUM})\s*(?:dollars?|usd|bucks)\b"), "USD"),
    (re.compile(rf"(?i)({_NUM})\s*(?:rmb|cny|yuan)\b"), "CNY"),
    # 元/块 without a country: the shop's currency; "九十九块五" = 99.5, "99块5毛" = 99.5
    (re.compile(rf"({_NUM}|{_CN_NUM}+)\s*(?:元|块|圆)(?:钱)?(?:([0-9{_CN_DIGITS}])(?:角|毛)?)?"), None),
)


def amounts(text: str) -> list[Amount]:
    """Sums of money in ``text``, in order of appearance (one per span)."""
    folded = fold_width(text[:MAX_SLOT_TEXT])
    out: list[Amount] = []
    for pattern, currency in _AMOUNT_PATTERNS:
        for m in pattern.finditer(folded):
            if _overlaps(m.span(), (a.span for a in out)):
                continue
            value = cn_number(m.group(1))
            if value is None:
                continue
            if m.re.groups >= 2 and m.group(2):
                jiao = _digit_string(m.group(2))
                if jiao is not None:
                    value += int(jiao) / 10
            out.append(Amount(round(value, 2), currency, text[m.start() : m.end()], m.span()))
    return sorted(out, key=lambda a: a.span)


# ---------------------------------------------------------------------------- dates
@dataclass(frozen=True)
class DateRange:
    """A date expression resolved to local time ``[start, end)`` (timezone-aware), with its span."""

    start: datetime
    end: datetime
    text: str
    span: Span

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def label(self, language: str = "zh") -> str:
        """The range as the reply says it: one day ``2025-03-05``, else ``2025-03-03 – 2025-03-09``."""
        first = self.start.date()
        last = (self.end - timedelta(microseconds=1)).date()
        if first == last:
            return first.isoformat()
        sep = " 至 " if language == "zh" else " to "
        return f"{first.isoformat()}{sep}{last.isoformat()}"


_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEK_WORD = r"(?:周|星期|礼拜)"
_WEEK_PREFIX = r"(上上|上|这|本|下)?个?"
# parts of the day: hours [from, to) in local time
_DAY_PARTS = {
    "凌晨": (0, 6),
    "清晨": (5, 9),
    "早上": (5, 10),
    "早晨": (5, 10),
    "上午": (8, 12),
    "中午": (11, 14),
    "下午": (12, 18),
    "傍晚": (17, 20),
    "晚上": (18, 24),
    "夜里": (20, 24),
    "半夜": (0, 4),
}
_PART_RE = "(" + "|".join(_DAY_PARTS) + ")?"
_NUMERAL = rf"(\d{{1,2}}|{_CN_NUM}{{1,3}})"
_YEAR_REL = {"今年": 0, "去年": -1, "前年": -2}
_MONTH_REL = {"上上个月": -2, "上个月": -1, "上月": -1, "这个月": 0, "本月": 0, "这月": 0}
_DAY_REL = {"今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "昨晚": -1, "前天": -2, "大前天": -3}

_DATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "ymd",
        re.compile(
            r"(?<![\dA-Za-z\-])(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})(?![\d\-])(?:日|号)?" + _PART_RE
        ),
    ),
    ("rel_md", re.compile(r"(今年|去年|前年)" + _NUMERAL + "月" + _NUMERAL + r"(?:日|号)" + _PART_RE)),
    ("month_day", re.compile("(上上个月|上个月|上月|这个月|本月|这月)" + _NUMERAL + r"(?:日|号)" + _PART_RE)),
    ("md", re.compile(r"(?<![\d年])" + _NUMERAL + "月" + _NUMERAL + r"(?:日|号)" + _PART_RE)),
    ("weekday", re.compile(_WEEK_PREFIX + _WEEK_WORD + "([一二三四五六日天1-7])" + _PART_RE)),
    ("week", re.compile(r"(上上|上|这|本)个?(?:周|星期|礼拜)(?![一二三四五六日天末1-7])")),
    ("month", re.compile("(上上个月|上个月|上月|这个月|本月|这月)")),
    ("days_ago", re.compile(_NUMERAL + r"天(?:之)?前" + _PART_RE)),
    ("day", re.compile("(大前天|前天|昨天|昨日|今天|今日)" + _PART_RE)),
    ("last_night", re.compile("(昨晚)")),
)


def _month_start(day: date, delta: int) -> date:
    index = day.year * 12 + day.month - 1 + delta
    return date(index // 12, index % 12 + 1, 1)


def _local_day(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _day_range(day: date, tz: tzinfo, part: str | None) -> tuple[datetime, datetime]:
    start = _local_day(day, tz)
    if part:
        lo, hi = _DAY_PARTS[part]
        return start + timedelta(hours=lo), start + timedelta(hours=hi)
    return start, start + timedelta(days=1)


def _int(text: str) -> int | None:
    value = cn_number(text)
    return int(value) if value is not None and value == int(value) else None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _resolve(kind: str, m: re.Match[str], today: date, tz: tzinfo) -> tuple[datetime, datetime] | None:
    g = m.groups()
    if kind == "ymd":
        d = _safe_date(int(g[0]), int(g[1]), int(g[2]))
        return _day_range(d, tz, g[3]) if d else None
    if kind in {"rel_md", "md"}:
        offset = _YEAR_REL[g[0]] if kind == "rel_md" else 0
        month, day = (_int(g[1]), _int(g[2])) if kind == "rel_md" else (_int(g[0]), _int(g[1]))
        if month is None or day is None:
            return None
        d = _safe_date(today.year + offset, month, day)
        if kind == "md" and d is not None and d > today:
            d = _safe_date(today.year - 1, month, day)  # the latest such date not after today
        return _day_range(d, tz, g[-1]) if d else None
    if kind == "month_day":
        first = _month_start(today, _MONTH_REL[g[0]])
        day = _int(g[1])
        d = _safe_date(first.year, first.month, day) if day is not None else None
        return _day_range(d, tz, g[2]) if d else None
    if kind == "weekday":
        weeks = {"上上": -2, "上": -1, "这": 0, "本": 0, "下": 1, None: 0}[g[0]]
        wd = _WEEKDAYS.get(g[1])
        if wd is None:
            wd = int(g[1]) - 1
        monday = today - timedelta(days=today.weekday())
        d = monday + timedelta(weeks=weeks, days=wd)
        if g[0] is None and d > today:
            d -= timedelta(weeks=1)  # a bare "周三" is the latest Wednesday, as with month-day
        return _day_range(d, tz, g[2])
    if kind == "week":
        weeks = {"上上": -2, "上": -1, "这": 0, "本": 0}[g[0]]
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=weeks)
        return _local_day(monday, tz), _local_day(monday + timedelta(weeks=1), tz)
    if kind == "month":
        first = _month_start(today, _MONTH_REL[g[0]])
        return _local_day(first, tz), _local_day(_month_start(first, 1), tz)
    if kind == "days_ago":
        n = _int(g[0])
        return _day_range(today - timedelta(days=n), tz, g[1]) if n is not None and n <= 3650 else None
    if kind == "day":
        return _day_range(today + timedelta(days=_DAY_REL[g[0]]), tz, g[1])
    if kind == "last_night":
        return _day_range(today - timedelta(days=1), tz, "晚上")
    raise AssertionError(kind)


def dates(text: str, now: datetime, tz: tzinfo) -> list[DateRange]:
    """The date expressions in ``text`` resolved relative to ``now`` (aware) in the time zone ``tz``."""
    if now.tzinfo is None:
        raise ValueError(f"dates() needs a timezone-aware 'now', got naive {now.isoformat()}")
    folded = fold_width(text[:MAX_SLOT_TEXT])
    today = now.astimezone(tz).date()
    out: list[DateRange] = []
    for kind, pattern in _DATE_PATTERNS:
        for m in pattern.finditer(folded):
            if _overlaps(m.span(), (d.span for d in out)):
                continue
            resolved = _resolve(kind, m, today, tz)
            if resolved is not None:
                out.append(DateRange(resolved[0], resolved[1], text[m.start() : m.end()], m.span()))
    return sorted(out, key=lambda d: d.span)


# ---------------------------------------------------------------------------- all together
@dataclass(frozen=True)
class Slots:
    """What one message states: shop-format order ids, a phone tail, amounts and dates."""

    order_ids: tuple[str, ...] = ()
    phone_tail: str | None = None
    amounts: tuple[Amount, ...] = ()
    dates: tuple[DateRange, ...] = ()
    spans: tuple[Span, ...] = ()  # characters used by the phone tail, amounts and dates

    @property
    def selects_order(self) -> bool:
        """Whether the message describes an order by when it was placed or what it cost."""
        return bool(self.amounts or self.dates)


def extract(text: str, *, order_format: OrderIdFormat | None, now: datetime, tz: tzinfo) -> Slots:
    """Every slot of ``text``; order ids come from ``order_format`` (none when it is ``None``)."""
    text = text[:MAX_SLOT_TEXT]
    tail = phone_tail(text)
    money = amounts(text)
    days = dates(text, now, tz)
    spans = [s for s in ([tail[1]] if tail else [])] + [a.span for a in money] + [d.span for d in days]
    ids: list[str] = []
    if order_format is not None:
        for oid, span in order_format.find(text):
            # an id is never part of the phone tail, an amount or a date ("尾号1234" is not an id)
            if not _overlaps(span, spans) and oid not in ids:
                ids.append(oid)
    return Slots(
        order_ids=tuple(ids),
        phone_tail=tail[0] if tail else None,
        amounts=tuple(money),
        dates=tuple(days),
        spans=tuple(spans),
    )
