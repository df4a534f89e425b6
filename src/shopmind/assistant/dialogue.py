"""The dialogue manager: one chat turn = understand → fill slots → act → (phrase) → store.

Rasa-style pieces, kept small:

* **Intents** from :class:`~shopmind.assistant.intents.IntentClassifier` (out-of-scope by threshold).
* **Slots** (:mod:`shopmind.assistant.slots`): ``order_id`` (remembered across turns; in the shop's
  own id format also when typed with full-width digits, spaces or lower case), a *pending* intent
  waiting for a slot ("Which order?" → "ORD-1" continues the pending cancel), verification of
  anonymous customers by e-mail or phone tail (手机尾号, also in a later turn than the order id),
  and an order described by when it was placed or what it cost ("我上周三买的", "退99元那单",
  resolved at the conversation's time in the shop's time zone) — chosen only among the customer's
  own or already verified orders.
* **Language**: the reply's language is the message's; a message with no words of its own (an
  order id, an e-mail) keeps the conversation's language.
* **Two-stage fallback**: the first not-understood / not-covered turn asks to rephrase; the second
  in a row hands off to a person. Asking for a person hands off at once.
* **Hand-off** creates a :class:`~shopmind.store.base.Ticket` with the transcript. A policy
  question the help centre does not cover gets an honest "I don't have that information" with an
  offer of a person; a "yes" on the next turn hands off.
* **Shopping questions** are recognised before the intent decision: a message with a price bound
  ("under $50", "50元以内"), or a catalogue category when the intent model is unsure or says product /
  recommendation, is answered by the product tool with the constraints as search filters
  (:meth:`~shopmind.assistant.tools.ProductTools.list_products`), whatever intent the classifier
  picked ("grinder under 50 dollars" is not a shipping question). Messages about an order (an
  order id, or a confident order intent) are never re-routed.
* **Confirmation of writes**: cancel and return are proposed first ("Reply yes to confirm …") and
  run only when the *next* turn is an explicit yes (:func:`confirmation_answer`, English and
  Chinese) within :data:`CONFIRM_TIMEOUT_S`. A write intent is not even proposed when its
  confidence is below the intent model's out-of-scope threshold τ (it is answered as a status
  question), and a message made only of order ids / e-mails is a look-up, never a change.
* **Verification limits**: anonymous order checks are limited per order id, API key and client
  IP across conversations (:class:`~shopmind.assistant.tools.VerificationGuard`); a locked-out
  check gets a reply saying so and when to try again.
* **State** lives in the store: every user and assistant message is appended
  (``store.append_message``); the assistant message's ``meta.state`` carries slots and verification,
  so any server process can continue the conversation. A conversation belongs to the user who
  started it: continuing someone else's conversation raises :class:`PermissionDenied`.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from shopmind.assistant.constraints import Constraints
from shopmind.assistant.intents import OUT_OF_SCOPE, IntentClassifier, IntentPrediction
from shopmind.assistant.knowledge import Answer, KnowledgeBase, not_covered_text
from shopmind.assistant.slots import OrderIdFormat, Slots, extract, fold_width
from shopmind.assistant.tools import (
    EMAIL_RE,
    Client,
    Identity,
    Lockout,
    OrderTools,
    ProductTools,
    RecommendTool,
    ToolResult,
    VerificationGuard,
    extract_emails,
    extract_order_ids,
)
from shopmind.data.schema import now_utc
from shopmind.errors import PermissionDenied
from shopmind.store.base import Ticket
from shopmind.text import CJK_CLASS, detect_language

log = logging.getLogger(__name__)

ORDER_INTENTS = {"order_status", "track_order", "cancel_order", "return_request", "refund_status"}
# intents that change an order: proposed, then run only after an explicit "yes"
WRITE_INTENTS = {"cancel_order", "return_request"}
CONFIRM_TIMEOUT_S = 600.0
KNOWLEDGE_INTENTS = {"shipping_info", "return_policy", "payment", "warranty", "account"}
# words added to the retrieval query when the first try is not confident; the answer is still a
# verbatim passage, so this only steers *which* page is quoted
TOPIC_HINTS = {
    "shipping_info": ("shipping delivery", "配送 运费"),
    "return_policy": ("returns refund", "退货 退款"),
    "refund_status": ("refund", "退款"),
    "payment": ("payment methods", "支付方式"),
    "warranty": ("warranty", "保修"),
    "account": ("account password", "账户 密码"),
}

CANNED = {
    "greeting": (
        "Hello! I can help with your orders (status, tracking, cancellations, returns), our shipping, "
        "returns and payment policies, and questions about products.",
        "您好！我可以帮您查询订单（状态、物流、取消、退货），解答配送、退货、支付等问题，以及商品咨询。",
    ),
    "goodbye": ("Thanks for visiting, goodbye!", "感谢您的光临，再见！"),
    "thanks": ("You're welcome! Anything else I can help with?", "不客气！还有什么可以帮您？"),
    "clarify": (
        "Sorry, I didn't quite get that. Could you rephrase? I can help with orders, tracking, "
        "cancellations, returns, shipping, payment and product questions.",
        "抱歉，我没有理解您的意思，可以换个说法吗？我可以帮您处理订单、物流、取消、退货、配送、支付和商品咨询。",
    ),
    "ask_order": (
        "Which order is this about? Please give me the order number.",
        "请问是哪个订单？请提供订单号。",
    ),
    "ask_order_anon": (
        "Please give me the order number and the e-mail address used for the order (or the last 4 digits "
        "of its phone number) so I can verify it.",
        "请提供订单号以及下单时使用的邮箱地址（或下单手机号的后四位），以便核实身份。",
    ),
    "verify_failed": (
        "Sorry, I couldn't verify that order with the details you gave.",
        "抱歉，您提供的邮箱或手机尾号无法核实这个订单。",
    ),
    "handoff": (
        "I've passed our conversation to a member of our team (ticket {ticket}). They will get back to you.",
        "已为您转接人工客服（工单号 {ticket}），工作人员会尽快联系您。",
    ),
    "verify_locked": (
        "For your security I can't check orders by e-mail address right now: there have been too many "
        "unsuccessful attempts. Please try again in about {minutes} minutes, sign in to your account, "
        "or ask for a member of our team.",
        "为了您的账户安全，由于验证失败次数过多，暂时无法通过邮箱查询订单。请约 {minutes} 分钟后再试，"
        "或登录账户，或联系人工客服。",
    ),
    "verify_locked_conversation": (
        "For your security I can't check any more e-mail addresses in this conversation. Please sign in "
        "to your account or ask for a member of our team.",
        "为了您的账户安全，本次对话中无法再验证邮箱。请登录账户或联系人工客服。",
    ),
    "confirm_declined": (
        "OK, I haven't changed order {order}.",
        "好的，订单 {order} 没有做任何更改。",
    ),
    "confirm_expired": (
        "That request has expired and nothing was changed. Please tell me again what you'd like to do.",
        "该请求已过期，没有做任何更改。请重新告诉我您需要办理的事项。",
    ),
    "handoff_declined": (
        "OK. Is there anything else I can help you with?",
        "好的。还有什么可以帮您？",
    ),
    "write_hint": (
        "If you'd like to cancel or return an order, please say so in a sentence, for example "
        "“I want to return my order”.",
        "如需取消订单或退货，请直接说明，例如“我要退货”。",
    ),
}

# Explicit answers to a confirmation question. A reply counts only when every word is one of these
# (a "yes" buried in a longer sentence is not a confirmation); Chinese has no spaces, so whole phrases.
_YES_CORE = {"yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "confirm", "confirmed", "correct"}
_YES_ZH = {
    "是",
    "是的",
    "确认",
    "确定",
    "好",
    "好的",
    "对",
    "对的",
    "可以",
    "嗯",
    "行",
    "没问题",
    "请确认",
    "确认取消",
    "确认退货",
    "确定取消",
    "确定退货",
    "是的确认",
    "好的确认",
}
_YES_FILLER = {"please", "i", "do", "it", "go", "ahead", "thanks", "thank", "you"}
_NO_CORE = {"no", "n", "nope", "nah", "don't", "dont", "not", "stop"}
_NO_ZH = {
    "不",
    "不是",
    "不要",
    "不用",
    "否",
    "算了",
    "不用了",
    "不要了",
    "先不要",
    "不了",
    "不确认",
    "不取消",
    "不退货",
}
_NO_FILLER = {"thanks", "thank", "you", "please", "do", "it", "i", "now", "that"}
_ANSWER_SPLIT = re.compile(r"[\s.,!?;:~…。，！？；：、\"“”‘()（）]+")  # not ' (don't)
_LETTERS = re.compile(f"[A-Za-z{CJK_CLASS}]")
# the message talks about an order it describes by date or amount ("99元那单", not "99元以内的耳机")
_ORDER_WORDS = re.compile(
    r"订单|单子|那单|这单|下单|下的单|买的|购买的|退款|退货|退钱|物流|快递|发货|到货|签收|"
    r"\b(?:orders?|refund|return|parcel|package|delivery|bought|purchased)\b",
    re.IGNORECASE,
)
ORDER_FORMAT_REFRESH_S = 3600.0
ORDER_FORMAT_SAMPLE = 5000  # stored order ids the id shapes are learnt from


def canned(key: str, language: str, **kw: Any) -> str:
    en, zh = CANNED[key]
    return (zh if language == "zh" else en).format(**kw)


def confirmation_answer(text: str) -> str | None:
    """``"yes"`` / ``"no"`` when ``text`` is an explicit answer to a confirmation question, else None."""
    words = [w for w in _ANSWER_SPLIT.split(text.casefold().replace("’", "'")) if w]
    if not words or len(words) > 6:
        return None
    if all(w in _YES_CORE or w in _YES_ZH or w in _YES_FILLER for w in words) and any(
        w in _YES_CORE or w in _YES_ZH for w in words
    ):
        return "yes"
    if all(w in _NO_CORE or w in _NO_ZH or w in _NO_FILLER for w in words) and any(
        w in _NO_CORE or w in _NO_ZH for w in words
    ):
        return "no"
    return None


def _strip_slots(message: str, order_ids: list[str], emails: list[str]) -> str:
    for token in [*emails, *order_ids]:
        message = message.replace(token, " ")
    return message


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with the characters in ``spans`` replaced by spaces (same length)."""
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def _in_price(token: str, found: Constraints | None) -> bool:
    """Whether an order-id-like token is part of a price phrase ("$200", "50-100元")."""
    if found is None:
        return False
    key = token.casefold()
    return any(key in p.text or key.replace(",", "") in p.text.replace(",", "") for p in found.prices)


def _listed(result: ToolResult) -> list[dict[str, Any]]:
    """The products a tool result shows, each marked as a match or an alternative."""
    out = [{**f, "match": True} for f in result.facts.get("items", [])]
    return out + [{**f, "match": False} for f in result.facts.get("alternatives", [])]


def lockout_text(lock: Lockout, language: str) -> str:
    if lock.until is None:
        return canned("verify_locked_conversation", language)
    return canned("verify_locked", language, minutes=math.ceil((lock.retry_after_s() or 60) / 60))


@dataclass
class ChatReply:
    """One assistant turn."""

    text: str
    conversation_id: str
    intent: str
    confidence: float
    citations: list[dict[str, Any]] = field(default_factory=list)
    tool: str | None = None
    handoff_ticket_id: str | None = None
    language: str = "en"
    grounded: bool = True
    llm_used: bool = False
    took_ms: float = 0.0
    retry_after_s: int | None = None  # set when anonymous order checks are locked out
    # products a shopping answer lists: {"item_id", "title", "price", "currency", "match"}
    products: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "conversation_id": self.conversation_id,
            "intent": self.intent,
            "confidence": self.confidence,
            "citations": self.citations,
            "tool": self.tool,
            "handoff_ticket_id": self.handoff_ticket_id,
            "language": self.language,
            "grounded": self.grounded,
            "llm_used": self.llm_used,
            "took_ms": self.took_ms,
            "retry_after_s": self.retry_after_s,
            "products": self.products,
        }


@dataclass
class _State:
    order_id: str | None = None
    pending: str | None = None
    fallbacks: int = 0
    verified_orders: list[str] = field(default_factory=list)
    verify_failures: int = 0
    # a proposed write waiting for the next turn's yes/no: {"intent", "order_id", "at", "language"}
    confirm: dict[str, Any] | None = None

    @classmethod
    def from_meta(cls, meta: dict[str, Any] | None) -> _State:
        raw = (meta or {}).get("state") or {}
        return cls(
            order_id=raw.get("order_id"),
            pending=raw.get("pending"),
            fallbacks=int(raw.get("fallbacks", 0)),
            verified_orders=list(raw.get("verified_orders", [])),
            verify_failures=int(raw.get("verify_failures", 0)),
            confirm=raw.get("confirm") if isinstance(raw.get("confirm"), dict) else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "pending": self.pending,
            "fallbacks": self.fallbacks,
            "verified_orders": self.verified_orders,
            "verify_failures": self.verify_failures,
            "confirm": self.confirm,
        }


class Assistant:
    """Runs chat turns against a store with trained intents and a knowledge base."""

    def __init__(
        self,
        store: Any,
        intents: IntentClassifier,
        knowledge: KnowledgeBase | None,
        *,
        search: Any = None,
        recommend: Any = None,
        llm: Any = None,
        guard: VerificationGuard | None = None,
        confirm_timeout_s: float = CONFIRM_TIMEOUT_S,
        clock: Callable[[], datetime] = now_utc,
        timezone: str | tzinfo = "UTC",
    ) -> None:
        """``clock`` is the conversation's time and ``timezone`` the shop's: relative dates ("昨天",
        "上周三") are resolved with them."""
        self.store = store
        self.intents = intents
        self.knowledge = knowledge
        self.orders = OrderTools(store, guard)
        self.confirm_timeout_s = confirm_timeout_s
        self.products = ProductTools(store, search)
        self.recs = RecommendTool(store, recommend)
        self.llm = llm
        self.clock = clock
        self.tz: tzinfo = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        self._order_format: OrderIdFormat | None = None
        self._format_at = -math.inf

    def order_format(self) -> OrderIdFormat | None:
        """The shop's order-id shapes, learnt from stored ids (re-learnt hourly); None if unreadable."""
        now = time.monotonic()
        if self._order_format is None or now - self._format_at > ORDER_FORMAT_REFRESH_S:
            self._format_at = now
            try:
                frame = self.store.orders_frame()
                ids = frame["order_id"].drop_duplicates().head(ORDER_FORMAT_SAMPLE) if len(frame) else []
                self._order_format = OrderIdFormat.learn(str(i) for i in ids)
            except Exception as exc:  # the generic id pattern still finds ids written as stored
                log.warning("order id format unavailable: %s", exc)
        return self._order_format

    def slots(self, message: str) -> Slots:
        """The message's slots at the conversation's time (see :mod:`shopmind.assistant.slots`)."""
        return extract(message, order_format=self.order_format(), now=self.clock(), tz=self.tz)

    # ------------------------------------------------------------------ one turn
    def chat(
        self,
        message: str,
        *,
        conversation_id: str | None = None,
        user_id: str | None = None,
        language: str | None = None,
        client: Client | None = None,
    ) -> ChatReply:
        """One turn. ``user_id`` and ``client`` (API key id, client IP) come from the transport."""
        started = time.perf_counter()
        message = (message or "").strip()
        history: list[dict[str, Any]] = []
        if conversation_id:
            history = self.store.conversation(conversation_id)
            if history and history[0].get("user_id") != user_id:
                raise PermissionDenied(
                    "conversation belongs to another user", expected="a conversation you started"
                )
        else:
            conversation_id = uuid.uuid4().hex
        state = _State.from_meta(
            next((m.get("meta") for m in reversed(history) if m["role"] == "assistant"), None)
        )
        lang = language or self._language(message, history)
        identity = Identity(
            user_id=user_id,
            verified_orders=set(state.verified_orders) if user_id is None else set(),
            verify_failures=state.verify_failures,
            client=client or Client(),
            conversation_id=conversation_id,
        )
        self.store.append_message(
            conversation_id, user_id=user_id, role="user", text=message, meta={"language": lang}
        )

        pred = self.intents.predict_one(message) if message else IntentPrediction(OUT_OF_SCOPE, 0.0, False)
        reply = self._turn(message, pred, state, identity, lang, conversation_id, history)
        state.verified_orders = sorted(identity.verified_orders)
        state.verify_failures = identity.verify_failures
        reply.took_ms = round((time.perf_counter() - started) * 1000, 2)
        self.store.append_message(
            conversation_id,
            user_id=user_id,
            role="assistant",
            text=reply.text,
            meta={
                "intent": reply.intent,
                "confidence": reply.confidence,
                "tool": reply.tool,
                "citations": reply.citations,
                "handoff_ticket_id": reply.handoff_ticket_id,
                "grounded": reply.grounded,
                "llm_used": reply.llm_used,
                "state": state.to_dict(),
            },
        )
        return reply

    def _language(self, message: str, history: list[dict[str, Any]]) -> str:
        """The message's language; a message without words ("ORD-1 a@b.c", "1234") keeps the
        conversation's, so a Chinese conversation is not answered in English after a bare id."""
        words = _LETTERS.findall(_mask(message, [s for _, s in self._id_spans(message)]))
        if len(words) <= 3:
            for m in reversed(history):
                if m["role"] == "user" and (m.get("meta") or {}).get("language"):
                    return str(m["meta"]["language"])
        return detect_language(message)

    def _id_spans(self, message: str) -> list[tuple[str, tuple[int, int]]]:
        fmt = self.order_format()
        spans = fmt.find(message) if fmt is not None else []
        spans += [(e.group(0), e.span()) for e in EMAIL_RE.finditer(message)]
        return spans

    def _turn(
        self,
        message: str,
        pred: IntentPrediction,
        state: _State,
        identity: Identity,
        lang: str,
        cid: str,
        history: list[dict[str, Any]],
    ) -> ChatReply:
        intent, conf = pred.intent, pred.confidence
        # a proposed write lives for exactly one turn: answered now, or dropped
        proposal, state.confirm = state.confirm, None
        if proposal is not None:
            yes_no = confirmation_answer(message)
            if yes_no is not None and proposal.get("intent") == "human_handoff":
                offer_lang = str(proposal.get("language") or lang)
                kw: dict[str, Any] = {
                    "conversation_id": cid,
                    "intent": "human_handoff",
                    "confidence": pred.confidence,
                    "language": offer_lang,
                }
                if yes_no == "yes":
                    state.fallbacks = 0
                    return self._handoff(
                        message, "customer accepted the offer of a person", history, identity, kw
                    )
                return ChatReply(canned("handoff_declined", offer_lang), **kw)
            if yes_no is not None:
                return self._answer_proposal(yes_no, proposal, identity, pred)
        found = self._constraints(message)
        slots = self.slots(message)
        folded = fold_width(message)
        id_spans = self._id_spans(message)
        # ids in the shop's format first (canonical form), then other id-like tokens outside the phone
        # tail, amounts and dates; "$200" is a price, not order number 200
        masked = _mask(folded, [*slots.spans, *(s for _, s in id_spans)])
        order_ids = list(slots.order_ids) + [
            o for o in extract_order_ids(masked) if not _in_price(o, found) and o not in slots.order_ids
        ]
        emails = extract_emails(folded)
        tail = slots.phone_tail
        verify_note = ""
        # a secret alone ("尾号1234") verifies the order named earlier in the conversation
        to_verify = order_ids or ([state.order_id] if state.order_id and (emails or tail) else [])
        if identity.user_id is None and (emails or tail) and to_verify:
            todo = [o for o in to_verify[:2] if o not in identity.verified_orders]
            ok = not todo or any(self._verify(identity, oid, emails, tail) for oid in todo)
            if not ok and identity.lockout is not None:
                state.pending = None
                return ChatReply(
                    lockout_text(identity.lockout, lang),
                    conversation_id=cid,
                    intent=intent,
                    confidence=conf,
                    language=lang,
                    tool="verify_order",
                    retry_after_s=identity.lockout.retry_after_s(),
                )
            if not ok:
                verify_note = canned("verify_failed", lang)
        if order_ids:
            # prefer an id that names a real order; the reply never reveals which one did
            state.order_id = next((o for o in order_ids if self.store.get_order(o) is not None), order_ids[0])
        # nothing but order ids / e-mails / a phone tail ("ORD-0001-000003", "尾号1234"): a slot answer or
        # a look-up, never a change
        tail_spans = [slots.spans[0]] if tail else []
        rest = _strip_slots(_mask(folded, [*tail_spans, *(s for _, s in id_spans)]), order_ids, emails)
        bare = bool(order_ids or emails or tail) and not _LETTERS.search(rest)
        from_pending = False
        given = bool(order_ids or emails or tail)
        if state.pending and given and (bare or intent not in ORDER_INTENTS or conf < 0.6):
            # a slot answer continues the intent that asked for it (itself checked when it was asked)
            intent, from_pending = state.pending, True
        elif bare:
            intent = "order_status"
        about_order = slots.selects_order and bool(_ORDER_WORDS.search(message))
        if not (order_ids or emails or from_pending or about_order):
            intent = self._shopping_route(message, found, intent, pred)
        write_hint = False
        if intent in WRITE_INTENTS and not from_pending and not self._confident(pred):
            # too unsure to even propose a change: answer what is safe (the status) and say how to ask
            intent, write_hint = "order_status", True
        reply_kw: dict[str, Any] = {
            "conversation_id": cid,
            "intent": intent,
            "confidence": conf,
            "language": lang,
        }

        if intent == "human_handoff":
            return self._handoff(message, "customer asked for a person", history, identity, reply_kw)
        if intent in CANNED and intent in {"greeting", "goodbye", "thanks"}:
            state.fallbacks = 0
            return ChatReply(canned(intent, lang), **reply_kw)
        if intent == "refund_status" and state.order_id is None and not state.pending:
            # "how long does a refund take?" is a policy question until an order is named
            answer = self._knowledge(message, intent, lang, conf)
            if answer is not None and answer.grounded:
                state.fallbacks = 0
                cites = [c.to_dict() for c in answer.citations]
                return self._finish(
                    ChatReply(answer.text, citations=cites, tool="knowledge", **reply_kw), None, answer
                )
        if intent in ORDER_INTENTS:
            state.fallbacks = 0
            if slots.selects_order and not order_ids and (about_order or intent in ORDER_INTENTS):
                picked = self._select_order(intent, slots, state, identity, lang)
                if picked is not None:
                    state.pending = intent
                    return self._finish(
                        ChatReply(picked.text, tool=picked.name, **reply_kw), picked.facts, None
                    )
            result = self._order_intent(intent, state, identity, lang, message)
            if result.needs == "confirm":
                state.pending = None
                state.confirm = {
                    "intent": intent,
                    "order_id": result.data["order_id"],
                    "at": time.time(),
                    "language": lang,
                }
                # not re-phrased by the LLM: the customer must see exactly what "yes" will do
                return ChatReply(result.text, tool=result.name, **reply_kw)
            text = f"{verify_note} {result.text}".strip() if verify_note and not result.ok else result.text
            if write_hint and result.ok:
                text = f"{text} {canned('write_hint', lang)}"
            state.pending = intent if result.needs in {"order_id", "email"} else None
            if result.data.get("offer_handoff"):
                # the reply offers a person (the change is not allowed here): a "yes" hands off
                state.confirm = {
                    "intent": "human_handoff",
                    "order_id": None,
                    "at": time.time(),
                    "language": lang,
                }
            return self._finish(ChatReply(text, tool=result.name, **reply_kw), result.facts, None)
        state.pending = None
        product_miss: ToolResult | None = None
        if intent == "product_question":
            result = self.products.answer(message, lang)
            if result.ok:
                state.fallbacks = 0
                reply = ChatReply(result.text, tool=result.name, products=_listed(result), **reply_kw)
                return self._finish(reply, result.facts, None)
            product_miss = result  # not a product we know: maybe the help centre covers it
        if intent == "recommend":
            state.fallbacks = 0
            result = self.recs.recommend(identity, lang)
            return ChatReply(result.text, tool=result.name, **reply_kw)
        answer = self._knowledge(message, intent, lang, conf)
        if answer is not None and answer.grounded:
            state.fallbacks = 0
            reply = ChatReply(
                answer.text, citations=[c.to_dict() for c in answer.citations], tool="knowledge", **reply_kw
            )
            return self._finish(reply, None, answer)
        # two-stage fallback: clarify once, then hand off
        state.fallbacks += 1
        if state.fallbacks >= 2:
            state.fallbacks = 0
            return self._handoff(message, "assistant could not answer twice", history, identity, reply_kw)
        if product_miss is not None:
            text = product_miss.text
        elif intent in KNOWLEDGE_INTENTS and (answer is not None or self._confident(pred)):
            # a policy question the help centre does not cover: say so, never guess; offer a person
            text = answer.text if answer is not None else not_covered_text(lang)
            state.confirm = {"intent": "human_handoff", "order_id": None, "at": time.time(), "language": lang}
        else:
            text = canned("clarify", lang)
        return ChatReply(text, grounded=False, **reply_kw)

    # ------------------------------------------------------------------ pieces
    def _constraints(self, message: str) -> Constraints | None:
        """The message's product constraints; ``None`` when the catalogue cannot be read."""
        if not message:
            return None
        try:
            return self.products.constraints(message)
        except Exception as exc:  # the catalogue is unreadable: answer as the intent model says
            log.warning("product constraints unavailable: %s", exc)
            return None

    def _shopping_route(
        self, message: str, found: Constraints | None, intent: str, pred: IntentPrediction
    ) -> str:
        """``product_question`` when the message is a shopping question, else ``intent`` unchanged.

        * a price bound with a catalogue category: always (no order id is in the message: the
          caller checks);
        * a price bound alone: unless the model is sure the message is about an order;
        * a category alone: when the model says recommendation or out of scope, is unsure (below
          τ), or the message says nothing but the product and how people ask for one ("do you
          sell chargers?", "我想买瑜伽垫"). "How much is shipping for chargers?" keeps its confident
          policy intent: "shipping" is neither.
        """
        if intent == "product_question" or found is None:
            return intent
        confident = self._confident(pred)
        if found.has_price and found.categories:
            return "product_question"
        if found.has_price and not (intent in ORDER_INTENTS and confident) and intent != "human_handoff":
            return "product_question"
        if not found.categories or found.has_price:
            return intent
        if intent in {"recommend", OUT_OF_SCOPE} or not confident:
            return "product_question"
        try:
            _, unknown = self.products.catalogue().vocabulary.product_words(message, found)
        except Exception as exc:  # the catalogue is unreadable: answer as the intent model says
            log.warning("product words unavailable: %s", exc)
            return intent
        return intent if unknown else "product_question"

    def _confident(self, pred: IntentPrediction) -> bool:
        """In scope, and the top intent's probability itself at least the out-of-scope threshold τ."""
        return bool(pred.in_scope and pred.confidence >= float(getattr(self.intents, "threshold", 0.0)))

    def _answer_proposal(
        self, answer: str, proposal: dict[str, Any], identity: Identity, pred: IntentPrediction
    ) -> ChatReply:
        """Run (yes) or drop (no) the write proposed on the previous turn."""
        lang = str(proposal.get("language") or "en")
        intent = str(proposal.get("intent"))
        order_id = str(proposal.get("order_id"))
        reply_kw: dict[str, Any] = {
            "conversation_id": identity.conversation_id or "",
            "intent": intent,
            "confidence": pred.confidence,
            "language": lang,
        }
        if answer == "no":
            return ChatReply(canned("confirm_declined", lang, order=order_id), **reply_kw)
        if time.time() - float(proposal.get("at") or 0.0) > self.confirm_timeout_s:
            return ChatReply(canned("confirm_expired", lang), **reply_kw)
        if intent == "cancel_order":
            result = self.orders.cancel(identity, order_id, lang, confirmed=True)
        elif intent == "return_request":
            result = self.orders.request_return(identity, order_id, lang, confirmed=True)
        else:  # a state written by another version: never guess a write
            return ChatReply(canned("confirm_expired", lang), **reply_kw)
        # the tool authorises again and re-checks the status: it may have changed since the question
        return self._finish(ChatReply(result.text, tool=result.name, **reply_kw), result.facts, None)

    def _verify(self, identity: Identity, order_id: str, emails: list[str], tail: str | None) -> bool:
        """Anonymous verification with the e-mail the message gives, else its phone tail."""
        if emails:
            return self.orders.verify(identity, order_id, emails[0])
        return tail is not None and self.orders.verify_phone_tail(identity, order_id, tail)

    def _select_order(
        self, intent: str, slots: Slots, state: _State, identity: Identity, lang: str
    ) -> ToolResult | None:
        """Pick the order a date / amount describes among the customer's own (or verified) orders.

        One match becomes the conversation's order (``None`` is returned and the intent runs on
        it); several or none are listed / reported with a question. An anonymous customer with no
        verified order is asked for the order number and a verification detail, as without a date.
        """
        if identity.user_id is None and not identity.verified_orders:
            return None
        matches = self.orders.select_orders(identity, slots.dates, slots.amounts)
        if len(matches) == 1:
            state.order_id = matches[0].id
            return None
        parts = [d.label(lang) for d in slots.dates] + [f"{a.value:.2f}" for a in slots.amounts]
        described = ("、" if lang == "zh" else ", ").join(parts)
        return self.orders.selection_reply(matches, described, intent, lang)

    def _order_intent(
        self, intent: str, state: _State, identity: Identity, lang: str, message: str
    ) -> ToolResult:
        oid = state.order_id
        if oid is None:
            if identity.user_id is not None and intent in {"order_status", "track_order", "refund_status"}:
                return self.orders.list_orders(identity, lang)
            key = "ask_order" if identity.user_id is not None else "ask_order_anon"
            return ToolResult(intent, False, canned(key, lang), needs="order_id")
        if identity.user_id is None and oid not in identity.verified_orders:
            return self.orders.denied(intent, identity, lang)
        # writes are only proposed here (needs="confirm"); _answer_proposal runs them after a yes
        if intent == "cancel_order":
            return self.orders.cancel(identity, oid, lang)
        if intent == "return_request":
            return self.orders.request_return(identity, oid, lang)
        return self.orders.order_status(identity, oid, lang)

    def _knowledge(self, message: str, intent: str, lang: str, confidence: float = 0.0) -> Answer | None:
        """Grounded answer; a confident policy intent steers retrieval to its topic's pages first.

        The hint only changes *which* page is quoted: the body is still a verbatim passage.
        """
        if self.knowledge is None:
            return None
        hint = TOPIC_HINTS[intent][1 if lang == "zh" else 0] if intent in TOPIC_HINTS else None
        if hint and confidence >= 0.5:
            hinted = self.knowledge.answer(f"{message} {hint}", language=lang)
            if hinted.grounded:
                return hinted
        answer = self.knowledge.answer(message, language=lang)
        if not answer.grounded and hint:
            retry = self.knowledge.answer(f"{message} {hint}", language=lang)
            if retry.grounded:
                return retry
        return answer

    def _handoff(
        self,
        message: str,
        reason: str,
        history: list[dict[str, Any]],
        identity: Identity,
        reply_kw: dict[str, Any],
    ) -> ChatReply:
        cid = reply_kw["conversation_id"]
        transcript = [
            {"role": m["role"], "text": m["text"], "at": str(m.get("at") or "")} for m in history
        ] + [{"role": "user", "text": message, "at": ""}]
        ticket = self.store.create_ticket(
            Ticket(
                id=f"T-{uuid.uuid4().hex[:12]}",
                conversation_id=cid,
                user_id=identity.user_id,
                reason=reason,
                transcript=transcript,
            )
        )
        text = canned("handoff", reply_kw["language"], ticket=ticket.id)
        return ChatReply(text, tool="handoff", handoff_ticket_id=ticket.id, **reply_kw)

    def _finish(self, reply: ChatReply, facts: dict[str, Any] | None, answer: Answer | None) -> ChatReply:
        """Optionally let the LLM re-phrase the grounded reply; keep it only if the fact check passes."""
        if self.llm is None:
            return reply
        sources: list[str] = [reply.text]
        if answer is not None and answer.passage is not None:
            sources.append(answer.passage.text)
        phrased = self.llm.phrase(reply.text, sources=sources, facts=facts or {}, language=reply.language)
        if phrased is not None:
            reply.text = phrased
            reply.llm_used = True
        return reply
