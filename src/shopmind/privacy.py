"""Privacy operations: PII redaction, erasure of one customer, retention of events and conversations.

* :func:`redact_pii` replaces e-mail addresses, phone numbers (international ``+CC …``, Chinese
  mobiles ``1[3-9]xxxxxxxxx`` and landlines ``0xx-xxxxxxxx``, North-American ``(555) 123-4567``),
  payment-card numbers (13–19 digits passing the Luhn check, or grouped ``dddd dddd dddd dddd``),
  Chinese resident-ID numbers and street addresses (English "12 Baker Street", Chinese
  "…路88号…室") by bracketed placeholders such as ``[email]``. It is applied to every log record
  of the service (:mod:`shopmind.api.logs`) and to chat turns and hand-off transcripts before the
  store writes them (:meth:`SqlStore.append_message`, :meth:`SqlStore.create_ticket`).
  Detection is pattern based (as in Microsoft Presidio's recognisers): it removes the common
  formats, not every conceivable way of writing an address.
* :func:`erase_customer` deletes one customer (GDPR art. 17, PIPL art. 47) in one store transaction
  and writes an audit record that holds no personal data: an HMAC-SHA256 of the customer id under
  a per-store random salt, the time, the row counts and who asked.
* :func:`apply_retention` deletes events (and the search/click log) and conversations older than the
  ``privacy.*_retention_days`` settings; ``shopmind privacy purge`` and every training run call it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shopmind.errors import UnknownIdError
from shopmind.text import CJK_CLASS

AUDIT_SALT_KEY = "privacy_audit_salt"
ERASED_USER_PREFIX = "erased-"
"""An erased customer's kept orders get ``user_id = "erased-<32 random hex digits>"``, a fresh one per
order: no key, token or route can name it, and the orders link neither to the person nor to each
other."""


def erased_user_id() -> str:
    """A new unguessable placeholder customer id for one anonymised order (128 random bits)."""
    return ERASED_USER_PREFIX + secrets.token_hex(16)


MAX_REDACT_CHARS = 20_000
"""Longer texts are cut before redaction (a chat turn is at most 4,000 characters); bounds the
regular expressions' cost on hostile input (about 0.3 s CPU for 20,000 adversarial characters)."""

# ---------------------------------------------------------------------------- PII patterns
# Digits glued to letters, "-" or "_" belong to an identifier (order ids such as ORD-0001-000003,
# SKUs, tracking codes): such runs are never taken for phones or cards.
# ASCII classes on purpose: Python's \w also matches Han characters, and a phone number written right
# after "手机号是" must still be found.
_EDGE_L = r"(?<![A-Za-z0-9_\-/.#@])"
_EDGE_R = r"(?![A-Za-z0-9_\-/@]|\.\d)"

# Every repetition is bounded and the local part starts at a boundary, so matching stays linear
# in the text length (an unbounded local part made a 20,000-character line take a second).
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@"
    r"(?:[A-Za-z0-9\-\u00a0-\uffff]{1,63}\.){1,8}(?:[A-Za-z]{2,24}|[\u00a0-\uffff]{2,12})"
    r"(?![A-Za-z0-9\-])"
)
_CN_ID = re.compile(
    _EDGE_L + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]" + _EDGE_R
)
_CARD = re.compile(_EDGE_L + r"\d(?:[ \-]?\d){12,18}" + _EDGE_R)
_CARD_GROUPED = re.compile(_EDGE_L + r"\d{4}(?:[ \-]\d{4}){3}(?:[ \-]\d{1,3})?" + _EDGE_R)
_CN_MOBILE = re.compile(_EDGE_L + r"(?:(?:\+|00)86[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2}" + _EDGE_R)
_INTL_PHONE = re.compile(r"(?<![A-Za-z0-9_+])(?:\+|00)[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,5}\)?){2,6}" + _EDGE_R)
_NATIONAL_PHONE = re.compile(
    _EDGE_L
    + r"(?:\(0\d{1,4}\)|0\d{1,4})[ .\-]?\d{3,4}[ .\-]?\d{3,4}"  # 010-12345678, (0755) 8888 9999, 020 7946 0958
    + r"|"
    + _EDGE_L
    + r"(?:\(\d{3}\)[ ]?|\d{3}[.\-])\d{3}[.\-]\d{4}"  # (555) 123-4567, 555-123-4567
    + _EDGE_R
)
_STREET_WORDS = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|"
    "parkway|pkwy|square|sq|highway|hwy|close|crescent|gardens|row|alley"
)
_EN_ADDRESS = re.compile(
    r"\b\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][A-Za-z'\-]*\.?\s+){1,4}(?i:" + _STREET_WORDS + r")\b\.?"
    r"(?:,?\s*(?i:apt|apartment|suite|ste|unit|flat|floor|fl)\.?\s*#?\s*[\w\-]{1,6})?"
)
_HAN = CJK_CLASS
# Chinese has no spaces, and a match starts at the leftmost place it can. Two passes: after a usual
# lead-in ("寄到", "地址：", kept) a road name may be up to 8 characters; without one, name parts are
# kept short (2-4 characters before 省/市/区, 1-4 before 路/街) so that little of the sentence before an
# address is taken for a place name.
_CN_LEAD = "寄到|寄往|送到|送往|发到|发往|邮到|住在|位于|地址是|地址为|地址|改到|改为|改成|在"


def _cn_address(lead: str, road_max: int) -> re.Pattern[str]:
    return re.compile(
        rf"(?P<lead>(?:{_CN_LEAD})[:：]?\s*){lead}"
        rf"(?:[{_HAN}]{{2,4}}(?:省|自治区|市|区|县|镇|乡|街道)){{0,4}}"  # 广东省深圳市南山区
        rf"[{_HAN}A-Za-z0-9]{{1,{road_max}}}?(?:路|街|大道|大街|道|巷|弄|胡同)"  # 科苑路, 世纪大道
        rf"\s*[0-9０-９一二三四五六七八九十百]{{1,6}}\s*号"  # 15号
        rf"(?:\s*[{_HAN}A-Za-z0-9\-]{{0,10}}?\s*[0-9０-９A-Za-z]{{1,5}}\s*"
        rf"(?:号楼|栋|幢|座|单元|楼|层|室|号)){{0,4}}"  # 5号楼1201室
    )


_CN_ADDRESS_LED = _cn_address("", 8)
_CN_ADDRESS = _cn_address("?", 4)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[card]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


def _intl_phone(match: re.Match[str]) -> str:
    n = sum(ch.isdigit() for ch in match.group(0))
    return "[phone]" if 8 <= n <= 15 else match.group(0)


# Order matters: e-mails first (their local part may hold digits), then identifiers that are longer
# than a phone number (IDs, cards), then phones, then addresses.
_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_EMAIL, "[email]"),
    (_CN_ID, "[id]"),
    (_CARD_GROUPED, "[card]"),
    (_CARD, _card),
    (_INTL_PHONE, _intl_phone),
    (_CN_MOBILE, "[phone]"),
    (_NATIONAL_PHONE, "[phone]"),
    (_EN_ADDRESS, "[address]"),
    (_CN_ADDRESS_LED, lambda m: m.group("lead") + "[address]"),
    (_CN_ADDRESS, lambda m: (m.group("lead") or "") + "[address]"),
)
_HINT = re.compile(r"@|\d|[路街道巷弄号]")


def redact_pii(text: str) -> str:
    """``text`` with e-mails, phones, card and ID numbers, street addresses replaced by placeholders.

    Placeholders: ``[email]``, ``[phone]``, ``[card]``, ``[id]``, ``[address]``. Order ids, SKUs,
    prices, dates and tracking codes glued to letters are left alone. Texts longer than
    :data:`MAX_REDACT_CHARS` are cut to that length (with ``…``) first.
    """
    if not text or _HINT.search(text) is None:  # the common log line: nothing to look at
        return text
    if len(text) > MAX_REDACT_CHARS:
        text = text[:MAX_REDACT_CHARS] + "…"
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text


def redact_value(value: Any) -> Any:
    """:func:`redact_pii` applied to every string inside nested dicts/lists (other values unchanged)."""
    if isinstance(value, str):
        return redact_pii(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


# ---------------------------------------------------------------------------- erasure
@dataclass
class ErasureReport:
    """What :func:`erase_customer` deleted (row counts per kind) and the audit record's id."""

    subject_hash: str
    counts: dict[str, int]
    audit_id: int
    at: datetime
    retrain_needed: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject_hash": self.subject_hash,
            "deleted": dict(self.counts),
            "audit_id": self.audit_id,
            "at": self.at.isoformat(),
            "retrain_needed": self.retrain_needed,
        }


def subject_hash(store: Any, user_id: str) -> str:
    """HMAC-SHA256 of ``user_id`` under the store's random audit salt (hex, 64 chars).

    The salt is created once per store (``shopmind_meta``); without it the hash of a sequential
    customer id cannot be recomputed, with it an operator can answer "was customer X erased?".
    """
    salt = store.meta_secret(AUDIT_SALT_KEY)
    return hmac.new(salt.encode("utf-8"), user_id.encode("utf-8"), hashlib.sha256).hexdigest()


def erase_customer(store: Any, user_id: str, *, requested_by: str) -> ErasureReport:
    """Delete everything the store holds about ``user_id`` and audit it (see ``Store.erase_user``).

    Raises :class:`UnknownIdError` when the store holds nothing at all about that id (no user row,
    events, orders, messages, keys, reviews or searches); nothing is audited then.
    """
    counts = store.erase_user(user_id)
    if not any(counts.values()):
        raise UnknownIdError("unknown customer: nothing stored under this id", value=user_id)
    at = datetime.now(UTC)
    digest = subject_hash(store, user_id)
    audit_id = store.add_privacy_audit(
        action="erase", subject_hash=digest, requested_by=requested_by, details=counts, at=at
    )
    return ErasureReport(subject_hash=digest, counts=counts, audit_id=audit_id, at=at)


# ---------------------------------------------------------------------------- retention
@dataclass
class RetentionResult:
    """Rows deleted by :func:`apply_retention`, and the cut-off times that applied (None = off)."""

    counts: dict[str, int] = field(default_factory=dict)
    events_before: datetime | None = None
    conversations_before: datetime | None = None

    @property
    def active(self) -> bool:
        return self.events_before is not None or self.conversations_before is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "deleted": dict(self.counts),
            "events_before": self.events_before.isoformat() if self.events_before else None,
            "conversations_before": (
                self.conversations_before.isoformat() if self.conversations_before else None
            ),
        }


def retention_cutoffs(privacy: Any, now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    """``(events_before, conversations_before)`` from ``settings.privacy`` (None where off)."""
    now = now or datetime.now(UTC)
    ev = privacy.event_retention_days
    conv = privacy.conversation_retention_days
    return (
        now - timedelta(days=ev) if ev is not None else None,
        now - timedelta(days=conv) if conv is not None else None,
    )


def apply_retention(
    store: Any, privacy: Any, *, now: datetime | None = None, requested_by: str = "retention"
) -> RetentionResult:
    """Delete what is older than the retention settings; audited when anything was deleted.

    Events, search and click log rows older than ``event_retention_days``; conversations whose
    *last* message is older than ``conversation_retention_days`` (a conversation is never cut in
    the middle) and hand-off tickets created before that. A no-op (no query) when both are off.
    """
    events_before, conversations_before = retention_cutoffs(privacy, now)
    result = RetentionResult(events_before=events_before, conversations_before=conversations_before)
    if not result.active:
        return result
    result.counts = store.purge_before(events_before=events_before, conversations_before=conversations_before)
    if any(result.counts.values()):
        store.add_privacy_audit(
            action="purge",
            subject_hash=None,
            requested_by=requested_by,
            details=result.counts,
            at=now or datetime.now(UTC),
        )
    return result


__all__ = [
    "ERASED_USER_PREFIX",
    "ErasureReport",
    "RetentionResult",
    "apply_retention",
    "erase_customer",
    "erased_user_id",
    "redact_pii",
    "redact_value",
    "retention_cutoffs",
    "subject_hash",
]
