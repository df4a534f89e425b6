"""Optional LLM phrasing through an OpenAI-compatible chat endpoint, behind a fact checker.

The LLM never decides *what* is said: the grounded reply (a verbatim help-centre passage or a tool
result) is already complete, and the model is only asked to re-phrase it. Its output is kept only
when :class:`FactChecker` finds every checkable fact of the output in the sources (the grounded
reply, the retrieved passage, the tool's facts); otherwise the grounded reply is used unchanged.
Off by default (``settings.llm.enabled``).

**What the checker verifies** (each must occur in the sources, after normalisation):

* numbers — integers, decimals, percentages, ranges' ends, numbers glued to units ("30 days" →
  ``30``, "$12.99" → ``12.99``, "1TB" → ``1``), Chinese numerals inside ASCII digits are not parsed;
* identifiers — tokens mixing letters and digits (order ids, tracking numbers, SKUs);
* dates (ISO ``YYYY-MM-DD`` and month-name dates), e-mail addresses and URLs;
* order states (``pending, paid, shipped, delivered, cancelled, returned, refunded`` …, en + zh);
* policy terms (``free, refund, warranty, guarantee, exchange, express, business days`` …, en + zh);
* negations (``not, no, never, cannot`` / ``不, 没有, 无法``): a negation the sources do not
  contain would flip a policy ("returns are *not* accepted"), so it fails the check.

Test servers: ``tests/assistant/test_llm.py`` runs the adapter against a real HTTP server on
loopback returning canned faithful and hallucinating replies; ``tests/assistant/test_llm_live.py``
(marker ``llm``, ``make test-llm``) runs llama-cpp-python's server with SmolLM2-135M.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

_NUM_RE = re.compile(r"(?<![A-Za-z0-9])[-+]?\d+(?:[.,]\d+)*(?:\.\d+)?")
_ID_RE = re.compile(r"\b(?=[A-Za-z0-9-]*[A-Za-z])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9-]{3,}\b")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_URL_RE = re.compile(r"https?://\S+")
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
]
# phrases, not words: "in transit" must not turn every "in" into an order state
_STATE_WORDS = (
    "pending paid shipped dispatched delivered cancelled canceled returned refunded processing lost"
)
ORDER_STATES = (
    *_STATE_WORDS.split(),
    "in transit",
    "out for delivery",
    "return requested",
)
ORDER_STATES_ZH = [
    "待付款",
    "已付款",
    "备货",
    "已发货",
    "运输中",
    "派送中",
    "已签收",
    "已送达",
    "已取消",
    "已申请退货",
    "已退货",
    "已退款",
]
_POLICY_WORDS = (
    "free refund refunds refunded warranty guarantee guaranteed exchange exchanges express standard "
    "international duties duty hygiene prepaid label deducted lifetime unlimited unconditional "
    "compensation voucher coupon discount cashback insurance overnight same-day next-day "
    "hours weeks months years"
)
POLICY_TERMS = (
    *_POLICY_WORDS.split(),
    "business days",
    "store credit",
    "price match",
)
POLICY_TERMS_ZH = [
    "免费",
    "包邮",
    "退款",
    "保修",
    "延保",
    "换货",
    "退货",
    "加急",
    "关税",
    "无理由",
    "终身",
    "赔偿",
    "优惠券",
    "折扣",
    "返现",
    "保险",
    "次日达",
    "当日达",
    "价保",
]
NEGATIONS = (
    "not",
    "no",
    "never",
    "cannot",
    "can't",
    "won't",
    "isn't",
    "aren't",
    "don't",
    "doesn't",
    "without",
)
NEGATIONS_ZH = ("不", "没有", "无法", "不能", "不可", "不支持", "未")


def _norm_number(tok: str) -> str:
    tok = tok.replace(",", "").lstrip("+")
    try:
        value = float(tok)
    except ValueError:
        return tok
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _flatten(value: Any) -> Iterable[str]:
    if value is None:
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield str(k)
            yield from _flatten(v)
    elif isinstance(value, list | tuple | set):
        for v in value:
            yield from _flatten(v)
    elif isinstance(value, bool):
        yield "yes" if value else "no"
    else:
        yield str(value)


@dataclass
class CheckResult:
    ok: bool
    problems: list[str] = field(default_factory=list)


class FactChecker:
    """Checks that every checkable fact of a candidate text occurs in its sources (see module doc)."""

    def _numbers(self, text: str) -> set[str]:
        # ISO dates are checked as dates; split them off so "2024-05-01" is not "-05"
        text = re.sub(r"\d{4}-\d{2}-\d{2}", " ", text)
        return {_norm_number(m.group(0)).lstrip("-") for m in _NUM_RE.finditer(text)}

    def check(
        self, candidate: str, sources: Sequence[str], facts: Mapping[str, Any] | None = None
    ) -> CheckResult:
        source_text = "\n".join([*sources, *_flatten(facts or {})])
        src_low = source_text.lower()
        cand_low = candidate.lower()
        problems: list[str] = []

        src_dates = set(re.findall(r"\d{4}-\d{2}-\d{2}", source_text))
        for d in re.findall(r"\d{4}-\d{2}-\d{2}", candidate):
            if d not in src_dates:
                problems.append(f"date {d} not in sources")
        for month in _MONTHS:
            if re.search(rf"\b{month}\b", cand_low) and not re.search(rf"\b{month}\b", src_low):
                problems.append(f"date word '{month}' not in sources")
        src_nums = self._numbers(source_text)
        for n in sorted(self._numbers(candidate)):
            if n not in src_nums:
                problems.append(f"number {n} not in sources")
        for tok in set(_ID_RE.findall(candidate)):
            if tok.lower() not in src_low:
                problems.append(f"identifier {tok} not in sources")
        for pattern, what in ((_EMAIL_RE, "e-mail"), (_URL_RE, "url")):
            for tok in set(pattern.findall(candidate)):
                if tok.lower().rstrip(".,)") not in src_low:
                    problems.append(f"{what} {tok} not in sources")
        for term in (*ORDER_STATES, *POLICY_TERMS, *NEGATIONS):
            rx = rf"(?<![\w']){re.escape(term)}(?![\w'])"
            if re.search(rx, cand_low) and not re.search(rx, src_low):
                problems.append(f"term '{term}' not in sources")
        for term in ORDER_STATES_ZH + POLICY_TERMS_ZH + list(NEGATIONS_ZH):
            if term in candidate and term not in source_text:
                problems.append(f"term '{term}' not in sources")
        return CheckResult(not problems, problems)


class LLMClient:
    """Minimal OpenAI-compatible ``POST {base_url}/chat/completions`` client (httpx)."""

    def __init__(
        self, base_url: str, model: str, api_key: str | None = None, timeout_s: float = 30.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: Any) -> LLMClient:
        llm = settings.llm
        return cls(llm.base_url, llm.model, llm.api_key, llm.timeout_s)

    def complete(
        self, messages: list[dict[str, str]], *, max_tokens: int = 256, temperature: float = 0.2
    ) -> str:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        resp = httpx.post(
            f"{self.base_url}/chat/completions",
            json={
                "model": self.model,
                "messages": messages,
                "max_tokens": max_tokens,
                "temperature": temperature,
            },
            headers=headers,
            timeout=self.timeout_s,
        )
        resp.raise_for_status()
        data = resp.json()
        return str(data["choices"][0]["message"]["content"] or "").strip()


PROMPT_MARKERS = ("Reply to rewrite", "Sources:", "Facts:")
PHRASE_SYSTEM = (
    "You rewrite a customer-service reply so it reads naturally. Use only the information in the reply "
    "and the sources. Do not add numbers, dates, prices, policies, promises or order details that are "
    "not there. Keep it short. Answer in {language}."
)
DESCRIBE_SYSTEM = (
    "You write a product description using only the listed facts. Do not add features, numbers or claims "
    "that are not listed. Answer in {language}."
)


class LLMPhraser:
    """Re-phrases grounded replies and descriptions; returns ``None`` whenever the check fails."""

    def __init__(self, client: LLMClient, checker: FactChecker | None = None) -> None:
        self.client = client
        self.checker = checker or FactChecker()
        self.last_check: CheckResult | None = None

    def _ask(
        self, system: str, user: str, sources: Sequence[str], facts: Mapping[str, Any] | None
    ) -> str | None:
        try:
            out = self.client.complete(
                [{"role": "system", "content": system}, {"role": "user", "content": user}]
            )
        except Exception as exc:  # network, HTTP status, malformed body: use the grounded text
            log.warning("LLM call failed, using the grounded text: %s", exc)
            self.last_check = CheckResult(False, [f"llm error: {exc}"])
            return None
        if not out:
            self.last_check = CheckResult(False, ["empty completion"])
            return None
        if any(marker in out for marker in PROMPT_MARKERS):
            # small models echo the prompt's scaffolding; that is not a customer-facing reply
            self.last_check = CheckResult(False, ["the reply echoes the prompt"])
            return None
        self.last_check = self.checker.check(out, sources, facts)
        if not self.last_check.ok:
            log.info("LLM reply refused by the fact check: %s", "; ".join(self.last_check.problems[:5]))
            return None
        return out

    def phrase(
        self,
        grounded: str,
        *,
        sources: Sequence[str],
        facts: Mapping[str, Any] | None = None,
        language: str = "en",
    ) -> str | None:
        lang = "Chinese" if language == "zh" else "English"
        user = "Reply to rewrite:\n" + grounded + "\n\nSources:\n" + "\n".join(f"- {s}" for s in sources)
        return self._ask(PHRASE_SYSTEM.format(language=lang), user, sources, facts)

    def describe(self, description: Any, item: Any) -> str | None:
        lang = "Chinese" if description.language == "zh" else "English"
        lines = [c.text for c in description.claims]
        user = "Facts:\n" + "\n".join(f"- {line}" for line in lines)
        facts = {c.field: c.value for c in description.claims}
        return self._ask(DESCRIBE_SYSTEM.format(language=lang), user, [description.text, *lines], facts)
