"""Assistant tools: orders (status, tracking, cancel, return), catalogue questions, recommendations.

**Identity.** A customer reaches only their own orders. Access to an order is granted when

* the conversation's *authenticated* user (from the API key's context, never from the message
  text) owns it, or
* the conversation is anonymous and the customer verified the order by giving its id together
  with the e-mail address of the order's owner (``User.email``, compared case-insensitively in
  constant time) or with the last four digits of the owner's phone number (``User.attributes``
  ``phone``/``mobile``, as Chinese shops verify a caller: 手机尾号; compared in constant time). The
  tail is a weaker secret than an address (10⁴ values), which is why both share one counter and the
  cross-conversation limits below: with the default 5 failures per order per 15 minutes, guessing
  half the tails of one order takes about two weeks. An owner with no phone on file fails the tail
  check exactly like a wrong tail. At most :data:`MAX_VERIFY_FAILURES` failed attempts per conversation, and
  :class:`VerificationGuard` limits failures per order id, per API key and per client IP across
  conversations (counted in the store, so every worker sees them), with an audit log.

**Writes** (cancel, return) are two-step: :meth:`OrderTools.cancel` / :meth:`OrderTools.request_return`
without ``confirmed=True`` only check that the change is allowed and return a proposal
(``needs="confirm"``); the dialogue runs the change after the customer's explicit "yes".

Nothing in a message can raise privileges: "I am the admin", "ignore previous instructions",
other customers' ids or e-mails are just text. A refused order and an order that does not exist
get the same reply, which never repeats the id (no existence oracle, nothing to echo). Writes go
through ``store.set_order_status(order_id, status, user_id=owner)``, which checks ownership again
inside the SQL ``WHERE``.

Every tool returns a :class:`ToolResult` whose ``facts`` are the source values the reply was built
from; the optional LLM phrasing is checked against them (:mod:`shopmind.assistant.llm`).
"""

from __future__ import annotations

import hmac
import logging
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from shopmind.assistant.constraints import MAX_TEXT_CHARS, CatalogSnapshot, Constraints
from shopmind.content.descriptions import ZH_KEYS
from shopmind.data.schema import Item, Order, OrderStatus, now_utc
from shopmind.errors import ConfigError, PermissionDenied, UnknownIdError
from shopmind.store.base import IdentityCheck

log = logging.getLogger(__name__)

MAX_VERIFY_FAILURES = 3
# ASCII classes on purpose: \w would glue Chinese characters to the id ("订单ORD-1的物流")
ORDER_ID_RE = re.compile(r"(?<![A-Za-z0-9_@.-])#?([A-Za-z]{0,6}[-_]?\d[A-Za-z0-9_-]{2,40})(?![A-Za-z0-9_@-])")
EMAIL_RE = re.compile(r"[^@\s,;:<>()\[\]，。；：]+@[^@\s,;:<>()\[\]，。；：]+\.[A-Za-z]{2,}")

CANCELLABLE = {OrderStatus.PENDING, OrderStatus.PAID}
RETURNABLE = {OrderStatus.DELIVERED}

STATUS_TEXT = {
    "en": {
        OrderStatus.PENDING: "pending (not paid yet)",
        OrderStatus.PAID: "paid and being prepared",
        OrderStatus.SHIPPED: "shipped",
        OrderStatus.DELIVERED: "delivered",
        OrderStatus.CANCELLED: "cancelled",
        OrderStatus.RETURN_REQUESTED: "return requested",
        OrderStatus.RETURNED: "returned",
    },
    "zh": {
        OrderStatus.PENDING: "待付款",
        OrderStatus.PAID: "已付款，正在备货",
        OrderStatus.SHIPPED: "已发货",
        OrderStatus.DELIVERED: "已签收",
        OrderStatus.CANCELLED: "已取消",
        OrderStatus.RETURN_REQUESTED: "已申请退货",
        OrderStatus.RETURNED: "已退货",
    },
}


@dataclass(frozen=True)
class Client:
    """Where a request came from: the API key's id and the client address, both from the transport.

    ``ip`` is already normalised by the API (an IPv6 client is its /64 network, see
    :func:`shopmind.api.routers.chat.client_ip`); ``None`` means unknown (library or CLI use).
    """

    key_id: str | None = None
    ip: str | None = None


@dataclass(frozen=True)
class Lockout:
    """Anonymous verification is paused: which limit (``order``, ``key``, ``ip``, ``conversation``) and
    until when (``None`` for the per-conversation limit, which lasts as long as the conversation)."""

    reason: str
    until: datetime | None = None

    def retry_after_s(self, now: datetime | None = None) -> int | None:
        if self.until is None:
            return None
        return max(1, math.ceil((self.until - (now or now_utc())).total_seconds()))


@dataclass
class Identity:
    """Who is asking: the authenticated user, plus orders verified by e-mail in this conversation."""

    user_id: str | None = None
    verified_orders: set[str] = field(default_factory=set)
    verify_failures: int = 0
    client: Client = field(default_factory=Client)
    conversation_id: str | None = None
    lockout: Lockout | None = None  # set by OrderTools.verify when a limit refused the check

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "verified_orders": sorted(self.verified_orders),
            "verify_failures": self.verify_failures,
        }


@dataclass(frozen=True)
class VerifyLimits:
    """Failed anonymous verifications allowed per sliding window of ``window_s`` seconds.

    A subject (order id, API key, client IP) is locked while it has ``≥ max_*`` failures in the last
    ``window_s`` seconds, i.e. until its ``max_*``-th most recent failure is ``window_s`` old.
    Checks refused during a lock-out are audited but do not extend it. The per-key limit is a
    circuit breaker for attacks spread over many addresses: the public web key is shared by every
    visitor, so it is higher than the per-IP one.
    """

    window_s: float = 900.0
    max_per_order: int = 5
    max_per_ip: int = 10
    max_per_key: int = 100
    audit_retention_days: float = 90.0

    def __post_init__(self) -> None:
        for name in ("window_s", "max_per_order", "max_per_ip", "max_per_key", "audit_retention_days"):
            if not getattr(self, name) > 0:
                raise ConfigError(
                    f"verification limit {name} must be positive", value=getattr(self, name), expected="> 0"
                )

    @classmethod
    def from_settings(cls, settings: Any) -> VerifyLimits:
        """From ``settings.assistant`` (:class:`shopmind.config.AssistantSettings`); defaults without it."""
        section = getattr(settings, "assistant", None)
        if section is None:
            return cls()
        return cls(
            window_s=float(section.verify_window_s),
            max_per_order=int(section.verify_max_per_order),
            max_per_ip=int(section.verify_max_per_ip),
            max_per_key=int(section.verify_max_per_key),
            audit_retention_days=float(section.audit_retention_days),
        )


class VerificationGuard:
    """Rate limits and audit log of anonymous order verification, kept in the store.

    Counting in the store (``identity_checks`` table) is what makes the limits hold across
    conversations, API workers and restarts: starting a new conversation resets only the
    per-conversation counter. Two requests racing through the same check may each get one more
    try than the limit (check-then-write, no lock); the limit still bounds the rate.
    """

    PRUNE_EVERY_S = 3600.0

    def __init__(
        self, store: Any, limits: VerifyLimits | None = None, *, clock: Callable[[], datetime] = now_utc
    ) -> None:
        self.store = store
        self.limits = limits or VerifyLimits()
        self.clock = clock
        self._pruned_at = -math.inf

    def _subjects(self, order_id: str, client: Client) -> dict[str, tuple[str | None, int, str]]:
        lim = self.limits
        return {
            "order_id": (order_id, lim.max_per_order, "order"),
            "client_ip": (client.ip, lim.max_per_ip, "ip"),
            "key_id": (client.key_id, lim.max_per_key, "key"),
        }

    def lockout(self, order_id: str, client: Client) -> Lockout | None:
        """The longest active lock-out among the order id, the client's IP and its API key, if any."""
        found = self.lockouts(order_id, client)
        return max(found, key=lambda lock: lock.until or now_utc()) if found else None

    def lockouts(self, order_id: str, client: Client) -> list[Lockout]:
        """Every active lock-out among the order id, the client's IP and its API key."""
        now = self.clock()
        window = timedelta(seconds=self.limits.window_s)
        subjects = self._subjects(order_id, client)
        times = self.store.identity_failure_times(
            since=now - window,
            limit=max(n for _, n, _ in subjects.values()),
            **{col: value for col, (value, _, _) in subjects.items()},
        )
        found: list[Lockout] = []
        for col, (value, n, reason) in subjects.items():
            recent = times.get(col, []) if value is not None else []
            if len(recent) >= n and recent[n - 1] + window > now:
                found.append(Lockout(reason, recent[n - 1] + window))
        return found

    def record(self, outcome: str, order_id: str, identity: Identity, reason: str = "") -> None:
        client = identity.client
        self.store.log_identity_check(
            IdentityCheck(
                outcome=outcome,
                order_id=order_id,
                key_id=client.key_id,
                client_ip=client.ip,
                conversation_id=identity.conversation_id,
                reason=reason,
                at=self.clock(),
            )
        )
        if outcome in {"locked_out", "refused"}:
            # the log carries no e-mail; order ids and addresses are what an operator needs
            log.warning(
                "anonymous order verification %s (limit: %s, key %s, conversation %s)",
                outcome,
                reason,
                client.key_id,
                identity.conversation_id,
            )
        self._prune()

    def _prune(self) -> None:
        """Drop audit records past the retention period, at most once an hour per process."""
        tick = time.monotonic()
        if tick - self._pruned_at < self.PRUNE_EVERY_S:
            return
        self._pruned_at = tick
        cutoff = self.clock() - timedelta(days=self.limits.audit_retention_days)
        # never prune inside the counting window, whatever the retention says
        cutoff = min(cutoff, self.clock() - timedelta(seconds=self.limits.window_s))
        self.store.prune_identity_checks(cutoff)


@dataclass
class ToolResult:
    """A tool's outcome: reply text, the facts it states (for the fact checker) and status flags."""

    name: str
    ok: bool
    text: str
    facts: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    needs: str | None = None  # a missing slot the dialogue should ask for ("order_id", "email")


def extract_order_ids(text: str) -> list[str]:
    """Order-id-like tokens (letters, digits, dashes with at least one digit and ≥ 3 characters)."""
    out = []
    for m in ORDER_ID_RE.finditer(text):
        tok = m.group(1).strip("-_")
        if sum(ch.isdigit() for ch in tok) >= 3 and tok not in out:
            out.append(tok)
    return out


def extract_emails(text: str) -> list[str]:
    return [m.group(0).strip(".") for m in EMAIL_RE.finditer(text)]


def _same_email(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    return hmac.compare_digest(a.strip().casefold().encode(), b.strip().casefold().encode())


PHONE_KEYS = ("phone", "mobile", "phone_number", "mobile_phone", "tel")
"""``User.attributes`` keys read as the customer's phone number (first non-empty wins)."""


def phone_of(user: Any) -> str | None:
    """The digits of the customer's phone number on file, ``None`` when there is none."""
    attrs = getattr(user, "attributes", None) or {}
    for key in PHONE_KEYS:
        value = attrs.get(key)
        if isinstance(value, str | int):
            digits = re.sub(r"\D", "", str(value))
            if len(digits) >= 4:
                return digits
    return None


def _same_tail(phone: str | None, tail: str | None) -> bool:
    if not phone or not tail or len(tail) != 4:
        return False
    return hmac.compare_digest(phone[-4:].encode(), tail.encode())


CARRIERS_ZH = {
    "sf express": "顺丰速运",
    "jd logistics": "京东物流",
    "zto": "中通快递",
    "yto": "圆通速递",
    "sto": "申通快递",
    "yunda": "韵达快递",
    "china post": "中国邮政",
    "ems": "中国邮政 EMS",
    "fedex": "联邦快递",
    "usps": "美国邮政",
    "dhl": "DHL 快递",
    "ups": "UPS 快递",
}
"""Chinese names of carriers for Chinese replies (brand acronyms such as DHL stay as they are known)."""


def carrier_name(carrier: str | None, language: str) -> str:
    if not carrier:
        return "—" if language == "zh" else "unknown"
    if language == "zh":
        return CARRIERS_ZH.get(carrier.strip().casefold(), carrier)
    return carrier


def _money(amount: float, currency: str) -> str:
    return f"{amount:.2f} {currency}"


class OrderTools:
    """Order look-ups and changes, each behind :meth:`authorize`."""

    def __init__(self, store: Any, guard: VerificationGuard | None = None) -> None:
        self.store = store
        self.guard = guard or VerificationGuard(store)

    # --- identity -----------------------------------------------------------------------------
    def authorize(self, identity: Identity, order_id: str) -> Order:
        """The order if ``identity`` may see it; :class:`PermissionDenied` otherwise (also when unknown)."""
        order = self.store.get_order(order_id)
        if order is not None:
            if identity.user_id is not None and order.user_id == identity.user_id:
                return order
            if identity.user_id is None and order.id in identity.verified_orders:
                return order
        # one error for "someone else's" and "does not exist": no existence oracle
        raise PermissionDenied("order not accessible in this conversation", expected="one of your own orders")

    def verify(self, identity: Identity, order_id: str, email: str) -> bool:
        """Anonymous verification by order id + owner's e-mail; updates ``identity``.

        Authenticated users are never "upgraded" to other customers' orders by e-mail. The address
        is not even compared while a limit is reached (``identity.lockout`` says which); each
        failure is counted against the order id, the API key and the client IP, and an unknown
        order id counts exactly like a wrong address (no existence oracle).
        """
        return self._verify(identity, order_id, lambda owner: _same_email(owner.email, email))

    def verify_phone_tail(self, identity: Identity, order_id: str, tail: str) -> bool:
        """Anonymous verification by order id + the last four digits of the owner's phone number.

        Same rules and the same counters as :meth:`verify`: an owner without a phone on file, an
        unknown order and a wrong tail are one failure each, indistinguishable in the reply.
        """
        return self._verify(identity, order_id, lambda owner: _same_tail(phone_of(owner), tail))

    def _verify(self, identity: Identity, order_id: str, matches: Callable[[Any], bool]) -> bool:
        if identity.user_id is not None:
            return False
        if identity.verify_failures >= MAX_VERIFY_FAILURES:
            identity.lockout = Lockout("conversation")
            self.guard.record("refused", order_id, identity, "conversation")
            return False
        lock = self.guard.lockout(order_id, identity.client)
        if lock is not None:
            identity.lockout = lock
            self.guard.record("refused", order_id, identity, lock.reason)
            return False
        order = self.store.get_order(order_id)
        owner = self.store.get_user(order.user_id) if order is not None else None
        if order is not None and owner is not None and matches(owner):
            identity.verified_orders.add(order.id)
            self.guard.record("verified", order_id, identity)
            return True
        identity.verify_failures += 1
        self.guard.record("failed", order_id, identity)
        locks = self.guard.lockouts(order_id, identity.client)
        for reached in locks:  # one audit record per limit this failure reached
            self.guard.record("locked_out", order_id, identity, reached.reason)
        if locks:
            identity.lockout = max(locks, key=lambda lock: lock.until or now_utc())
        elif identity.verify_failures >= MAX_VERIFY_FAILURES:
            identity.lockout = Lockout("conversation")
            self.guard.record("locked_out", order_id, identity, "conversation")
        return False

    # --- tools --------------------------------------------------------------------------------
    def list_orders(self, identity: Identity, language: str = "en", limit: int = 5) -> ToolResult:
        if identity.user_id is None:
            orders = [o for o in (self.store.get_order(i) for i in sorted(identity.verified_orders)) if o]
        else:
            orders = self.store.orders_for_user(identity.user_id)[:limit]
        if not orders:
            text = (
                "我没有找到您的订单。" if language == "zh" else "I couldn't find any orders on your account."
            )
            return ToolResult("list_orders", False, text, needs="order_id")
        lines = [self._status_line(o, language) for o in orders]
        head = "您最近的订单：" if language == "zh" else "Your recent orders:"
        facts = {"orders": [self._facts(o) for o in orders]}
        return ToolResult("list_orders", True, head + "\n" + "\n".join(lines), facts=facts)

    MAX_SELECT = 200  # most recent own orders searched by date or amount

    def select_orders(
        self, identity: Identity, dates: Iterable[Any] = (), amounts: Iterable[Any] = ()
    ) -> list[Order]:
        """The orders ``identity`` may see that were placed in one of ``dates`` and cost one of ``amounts``.

        ``dates`` are :class:`~shopmind.assistant.slots.DateRange` (``contains(moment)``), ``amounts``
        :class:`~shopmind.assistant.slots.Amount` (``value``, ``currency``): an order matches an amount
        when its total is within half a cent and the currency, if stated, is the order's. An empty
        criterion does not filter. Only the customer's own orders (authenticated) or the orders
        verified in this conversation (anonymous) are searched: never a way to find someone else's.
        """
        if identity.user_id is None:
            found = (self.store.get_order(i) for i in sorted(identity.verified_orders))
            orders = [o for o in found if o is not None]
        else:
            orders = self.store.orders_for_user(identity.user_id)[: self.MAX_SELECT]
        days, money = list(dates), list(amounts)
        out = []
        for o in orders:
            if days and not any(d.contains(o.created_at) for d in days):
                continue
            if money and not any(
                abs(a.value - o.total) < 0.005 and (a.currency is None or a.currency == o.currency)
                for a in money
            ):
                continue
            out.append(o)
        return out

    def selection_reply(
        self, orders: list[Order], described: str, intent: str, language: str, limit: int = 5
    ) -> ToolResult:
        """The reply when a date / amount names several orders or none: list them and ask which."""
        zh = language == "zh"
        if not orders:
            text = (
                f"没有找到符合“{described}”的订单，请提供订单号。"
                if zh
                else f"I couldn't find an order matching “{described}”. Please give me the order number."
            )
            return ToolResult(intent, False, text, needs="order_id")
        lines = [self._status_line(o, language) for o in orders[:limit]]
        head = (
            f"符合“{described}”的订单有 {len(orders)} 个，请问是哪一个？请回复订单号："
            if zh
            else f"{len(orders)} orders match “{described}”. Which one is it? Please reply with its order number:"
        )
        facts = {"orders": [self._facts(o) for o in orders[:limit]]}
        return ToolResult(intent, False, head + "\n" + "\n".join(lines), facts=facts, needs="order_id")

    def order_status(self, identity: Identity, order_id: str, language: str = "en") -> ToolResult:
        try:
            order = self.authorize(identity, order_id)
        except PermissionDenied:
            return self.denied("order_status", identity, language)
        return ToolResult(
            "order_status",
            True,
            self._status_line(order, language, detail=True),
            facts=self._facts(order),
            data={"order_id": order.id},
        )

    def cancel(
        self, identity: Identity, order_id: str, language: str = "en", *, confirmed: bool = False
    ) -> ToolResult:
        """Cancel a pending or paid order; without ``confirmed`` only propose it (``needs="confirm"``)."""
        return self._change(
            identity, order_id, OrderStatus.CANCELLED, CANCELLABLE, "cancel_order", language, confirmed
        )

    def request_return(
        self, identity: Identity, order_id: str, language: str = "en", *, confirmed: bool = False
    ) -> ToolResult:
        """File a return for a delivered order; without ``confirmed`` only propose it."""
        return self._change(
            identity,
            order_id,
            OrderStatus.RETURN_REQUESTED,
            RETURNABLE,
            "request_return",
            language,
            confirmed,
        )

    def _change(
        self,
        identity: Identity,
        order_id: str,
        new: OrderStatus,
        allowed_from: set[OrderStatus],
        name: str,
        language: str,
        confirmed: bool,
    ) -> ToolResult:
        try:
            order = self.authorize(identity, order_id)
        except PermissionDenied:
            return self.denied(name, identity, language)
        zh = language == "zh"
        state = STATUS_TEXT["zh" if zh else "en"][order.status]
        cancelling = new is OrderStatus.CANCELLED
        if order.status not in allowed_from:
            what = ("取消" if zh else "cancelled") if cancelling else ("退货" if zh else "returned")
            text = (
                f"订单 {order.id} 当前状态为“{state}”，无法{what}。需要我为您转接人工客服吗？"
                if zh
                else f"Order {order.id} is {state}, so it can't be {what} here. "
                "Would you like me to pass this to a member of our team?"
            )
            data = {"order_id": order.id, "offer_handoff": True}
            return ToolResult(name, False, text, facts=self._facts(order), data=data)
        if not confirmed:
            total = _money(order.total, order.currency)
            if zh:
                what = "取消订单" if cancelling else "为订单"
                tail = "" if cancelling else " 申请退货"
                text = (
                    f"请确认：{what} {order.id}{tail}（{state}，合计 {total}）。"
                    "回复“是”或“确认”继续，回复“不”则不做任何更改。"
                )
            else:
                verb = "cancelling" if cancelling else "returning"
                text = (
                    f"Reply yes to confirm {verb} order {order.id} ({state}, total {total}), "
                    "or no to leave it unchanged."
                )
            return ToolResult(
                name,
                False,
                text,
                facts=self._facts(order),
                data={"order_id": order.id, "action": name},
                needs="confirm",
            )
        # the owner is the order's user (already authorised); the store re-checks it in SQL
        updated = self.store.set_order_status(order.id, new, user_id=order.user_id)
        new_state = STATUS_TEXT["zh" if zh else "en"][updated.status]
        if cancelling:
            text = (
                f"订单 {updated.id} 已取消，当前状态：{new_state}。"
                if zh
                else f"Order {updated.id} has been cancelled. Its status is now: {new_state}."
            )
        else:
            text = (
                f"已为订单 {updated.id} 提交退货申请，当前状态：{new_state}。"
                if zh
                else f"A return has been requested for order {updated.id}. Its status is now: {new_state}."
            )
        return ToolResult(name, True, text, facts=self._facts(updated), data={"order_id": updated.id})

    def denied(self, name: str, identity: Identity, language: str) -> ToolResult:
        zh = language == "zh"
        if identity.user_id is None:
            text = (
                "为了保护您的隐私，请提供订单号以及下单时使用的邮箱地址（或下单手机号的后四位），以便核实身份。"
                if zh
                else "To protect your privacy I need to verify the order first: please give the order number "
                "together with the e-mail address used for it (or the last 4 digits of its phone number)."
            )
            return ToolResult(name, False, text, needs="email")
        text = (
            "我在您的账户中找不到这个订单，请核对订单号。"
            if zh
            else "I can't find that order on your account. Please check the order number."
        )
        return ToolResult(name, False, text, needs="order_id")

    # --- formatting -----------------------------------------------------------------------------
    def _facts(self, order: Order) -> dict[str, Any]:
        return {
            "order_id": order.id,
            "status": order.status.value,
            "status_text": [STATUS_TEXT["en"][order.status], STATUS_TEXT["zh"][order.status]],
            "carrier": order.carrier,
            "tracking_number": order.tracking_number,
            "created_at": order.created_at.date().isoformat(),
            "shipped_at": order.shipped_at.date().isoformat() if order.shipped_at else None,
            "delivered_at": order.delivered_at.date().isoformat() if order.delivered_at else None,
            "total": order.total,
            "currency": order.currency,
            "items": [line.item_id for line in order.lines],
            "quantities": [line.quantity for line in order.lines],
        }

    def _status_line(self, order: Order, language: str, detail: bool = False) -> str:
        zh = language == "zh"
        state = STATUS_TEXT["zh" if zh else "en"][order.status]
        created = order.created_at.date().isoformat()
        if zh:
            text = f"订单 {order.id}（{created} 下单，合计 {_money(order.total, order.currency)}）：{state}"
        else:
            text = (
                f"Order {order.id} (placed {created}, total {_money(order.total, order.currency)}): {state}"
            )
        if detail and order.tracking_number:
            if zh:
                text += f"，承运商 {carrier_name(order.carrier, 'zh')}，运单号 {order.tracking_number}"
            else:
                text += f", carrier {order.carrier or 'unknown'}, tracking number {order.tracking_number}"
        if detail and order.delivered_at:
            day = order.delivered_at.date().isoformat()
            text += f"，{day} 签收" if zh else f", delivered on {day}"
        elif detail and order.shipped_at:
            day = order.shipped_at.date().isoformat()
            text += f"，{day} 发货" if zh else f", shipped on {day}"
        return text + ("。" if zh else ".")


# --- catalogue questions ------------------------------------------------------------------------

_YES = {"yes", "true", "y", "1", "是", "有", "支持"}
_NO = {"no", "false", "n", "0", "否", "无", "不支持"}


def _attr_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


class ProductTools:
    """Answer product questions from stored fields only: one product, or a list under constraints.

    *One product* ("does the Sony WH-509 support bluetooth?"): found with the search service when
    one is given (``search(query, k)`` with ``.hits``) or else with a BM25 title index over the
    catalogue built on first use; the answer names the attribute that matches the question
    (``bluetooth: yes``), plus price and stock.

    *A list* ("headphones under $50", "50元以内的耳机"): the message's price bounds, categories,
    brands and attribute values (:mod:`shopmind.assistant.constraints`, vocabulary learnt from the
    catalogue) become search filters; every product shown is checked against them again on its
    stored record, so a product that violates a stated constraint is never offered as a match.
    When nothing matches, the reply says so and offers the closest products with one constraint
    relaxed (price first), labelled as alternatives.

    The catalogue snapshot behind the vocabulary is rebuilt when the store's catalogue changed,
    checked at most every :attr:`REFRESH_S` seconds.
    """

    REFRESH_S = 600.0
    LIST_K = 5

    def __init__(self, store: Any, search: Any = None) -> None:
        self.store = store
        self.search = search
        self._index: Any = None
        self._snapshot: CatalogSnapshot | None = None
        self._checked_at = -math.inf

    def _title_index(self) -> Any:
        if self._index is None:
            from shopmind.search.lexical import LexicalIndex

            frame = self.store.items_frame()
            docs = [
                {
                    "id": r.id,
                    "title": r.title,
                    "brand": r.brand or "",
                    "category": list(r.category)[-1:] if r.category is not None else [],
                }
                for r in frame.itertuples()
            ]
            if not docs:
                return None
            self._index = LexicalIndex.build(
                docs, fields={"title": 3.0, "brand": 1.0, "category": 1.0}, id_field="id"
            )
        return self._index

    def warm(self) -> None:
        """Build the title index and the catalogue vocabulary now (at load), not on the first question."""
        if self.search is None:
            self._title_index()
        self.catalogue()

    def catalogue(self) -> CatalogSnapshot:
        """The catalogue snapshot (vocabulary + filter columns), rebuilt after catalogue changes."""
        now = time.monotonic()
        if self._snapshot is not None and now - self._checked_at < self.REFRESH_S:
            return self._snapshot
        self._checked_at = now
        seq_of = getattr(self.store, "item_change_seq", None)
        seq = int(seq_of()) if callable(seq_of) else -1
        if self._snapshot is None or seq != self._snapshot.seq or seq < 0:
            self._snapshot = CatalogSnapshot.build(self.store.items_frame(), seq)
            self._index = None  # the title index is as old as the snapshot
        return self._snapshot

    def find(self, text: str) -> Item | None:
        """The catalogue item a message talks about: an item id in the text, else the best title match."""
        for tok in re.findall(r"[A-Za-z0-9_-]{3,}", text):
            if any(ch.isdigit() for ch in tok):
                item = self.store.get_item(tok)
                if item is not None:
                    return item
        ids: list[str] = []
        if self.search is not None:
            try:
                res = self.search.search(text, k=3, log=False)
                ids = [h.item_id if hasattr(h, "item_id") else h["item_id"] for h in res.hits]
            except Exception:  # the search service is optional; fall back to the title index
                ids = []
        if not ids:
            index = self._title_index()
            if index is None:
                return None
            hits = index.search(text, k=1)
            # require at least two matched words, or all of a one-word query, to avoid wild guesses
            if hits:
                groups = index.groups(text)
                m = index.match(groups)
                cov = int(m.coverage[index.row_of[hits[0][0]]])
                if cov >= min(2, len(groups)):
                    ids = [hits[0][0]]
        return self.store.get_item(ids[0]) if ids else None

    def constraints(self, text: str) -> Constraints:
        """The product constraints stated in ``text`` (empty for an empty catalogue)."""
        return self.catalogue().vocabulary.extract(text[:MAX_TEXT_CHARS])

    def answer(self, text: str, language: str = "en") -> ToolResult:
        """A list of products when the message states constraints, else the one product it names."""
        constraints = self.constraints(text)
        if constraints.is_shopping and not self._names_one_item(text):
            return self.list_products(text, constraints, language)
        return self.describe_one(text, language)

    def describe_one(self, text: str, language: str = "en") -> ToolResult:
        """Answer about the one product ``text`` names (its id, model code or title)."""
        zh = language == "zh"
        item = self.find(text)
        if item is None:
            msg = (
                "抱歉，我没有找到您说的商品，可以告诉我商品名称或编号吗？"
                if zh
                else "Sorry, I couldn't find that product. Could you give me its name or item number?"
            )
            return ToolResult("product_question", False, msg, needs="product")
        facts: dict[str, Any] = {"item_id": item.id, "title": item.title}
        parts: list[str] = []
        lowered = text.lower()
        for key, value in item.attributes.items():
            key_words = {key.lower(), key.lower().replace("_", " ")}
            if key.lower() in ZH_KEYS:
                key_words.add(ZH_KEYS[key.lower()])
            value_text = _attr_text(value)
            if any(k in lowered for k in key_words) or (
                len(value_text) > 2 and value_text.lower() in lowered
            ):
                facts[f"attributes.{key}"] = value
                parts.append(f"{key.replace('_', ' ')}: {value_text}")
        if item.price is not None:
            facts["price"] = item.price
            facts["currency"] = item.currency
        facts["stock"] = item.stock
        price = _money(item.price, item.currency) if item.price is not None else None
        if zh:
            text_out = f"{item.title}（{item.id}）"
            if parts:
                text_out += "：" + "；".join(parts)
            if price:
                text_out += f"。价格 {price}"
            text_out += "，有货。" if item.in_stock else "，目前缺货。"
        else:
            text_out = f"{item.title} ({item.id})"
            if parts:
                text_out += ": " + "; ".join(parts)
            if price:
                text_out += f". Price {price}"
            text_out += ", in stock." if item.in_stock else ", currently out of stock."
        if not parts:
            listed = ", ".join(
                f"{k.replace('_', ' ')}: {_attr_text(v)}" for k, v in list(item.attributes.items())[:6]
            )
            if listed:
                for k, v in list(item.attributes.items())[:6]:
                    facts[f"attributes.{k}"] = v
                text_out += f" 商品参数：{listed}。" if zh else f" Its listed attributes are {listed}."
        return ToolResult("product_question", True, text_out, facts=facts, data={"item_id": item.id})

    # --- lists under constraints -----------------------------------------------------------------
    def _names_one_item(self, text: str) -> bool:
        """The message names one product: an item id, or a model code few titles carry ("WH-509")."""
        for tok in re.findall(r"[A-Za-z0-9_-]{3,}", text):
            if any(ch.isdigit() for ch in tok) and self.store.get_item(tok) is not None:
                return True
        return bool(self.catalogue().codes_in(text[:MAX_TEXT_CHARS]))

    def list_products(self, text: str, constraints: Constraints, language: str = "en") -> ToolResult:
        """Products that satisfy ``constraints`` (ranked by the search service when there is one).

        ``data["matches"]`` are the ids shown as matches (each satisfies every constraint),
        ``data["alternatives"]`` the closest products shown when nothing matches, ``data["total"]``
        the number of matching products in the catalogue.
        """
        snap = self.catalogue()
        c = constraints
        known, unknown = snap.vocabulary.product_words(text, c)
        mask = snap.mask(c)
        qualifiers = [] if c.brands else snap.vocabulary.qualifiers(text, c)
        if qualifiers:
            # "Bosch headphones": a name we do not know; no product can be shown to be one, so the
            # products that meet the rest are offered as alternatives, never as matches
            rows = np.flatnonzero(mask)
            near = self._verified(self._rank_rows(snap, rows, known + list(c.terms)), c)[:3]
            return self._list_reply([], near, 0, c, qualifiers, snap.currency, language, named=True)
        if unknown and not (c.categories or c.brands):
            # the product itself is not in our vocabulary ("grinder"): only the search can tell
            mask = np.zeros(len(snap), bool)
        query = " ".join([*c.terms, *known, *unknown]).strip()
        ranked = self._search_matches(query, c) if query else []
        total = int(mask.sum())
        if not ranked and total:
            ranked = self._rank_rows(snap, np.flatnonzero(mask), known + list(c.terms))
        matches = self._verified(ranked, c)[: self.LIST_K]
        total = max(total, len(matches))
        if matches:
            return self._list_reply(matches, [], total, c, unknown, snap.currency, language)
        alternatives: list[Item] = []
        if not (unknown and not (c.categories or c.brands)):
            alternatives = self._alternatives(snap, c)
        return self._list_reply([], alternatives, 0, c, unknown, snap.currency, language)

    def _search_matches(self, query: str, c: Constraints) -> list[str]:
        if self.search is None:
            return []
        try:
            res = self.search.search(query, k=self.LIST_K * 4, filters=c.filters(), log=False)
            return [h.item_id if hasattr(h, "item_id") else h["item_id"] for h in res.hits]
        except Exception as exc:  # an optional service: the catalogue scan still answers
            log.warning("product search with constraints failed (%s); scanning the catalogue", exc)
            return []

    def _rank_rows(self, snap: CatalogSnapshot, rows: np.ndarray, words: list[str]) -> list[str]:
        """Rows by (title words matched ↓, in stock ↓, price ↑): no search service, or it found nothing."""
        if not len(rows):
            return []
        titles = pd.Series([snap.titles[r] for r in rows]).str.lower()
        hits = np.zeros(len(rows), np.int64)
        for w in dict.fromkeys(words):
            hits += titles.str.contains(w, regex=False).to_numpy(np.int64)
        price = np.nan_to_num(snap.price[rows], nan=np.inf)
        order = np.lexsort((price, ~snap.in_stock[rows], -hits))
        return [str(snap.ids[r]) for r in rows[order[: self.LIST_K * 4]]]

    def _verified(self, ids: list[str], c: Constraints) -> list[Item]:
        """The stored records of ``ids`` that satisfy every constraint, in order."""
        items = {it.id: it for it in self.store.get_items(list(dict.fromkeys(ids)))}
        out = []
        for i in dict.fromkeys(ids):
            it = items.get(i)
            if it is not None and c.matches(
                price=it.price, brand=it.brand, category=it.category, attributes=it.attributes
            ):
                out.append(it)
        return out

    def _alternatives(self, snap: CatalogSnapshot, c: Constraints) -> list[Item]:
        """Closest products with constraints relaxed, price first (nearest price to the asked range)."""
        relaxations = [("price",), ("attributes",), ("brand",), ("price", "attributes"), ("price", "brand")]
        for names in relaxations:
            loose = c.without(*names)
            if loose.empty or loose == c:
                continue
            rows = np.flatnonzero(snap.mask(loose))
            if not len(rows):
                continue
            if "price" in names and c.has_price:
                lo = c.price_min if c.price_min is not None else -math.inf
                hi = c.price_max if c.price_max is not None else math.inf
                p = snap.price[rows]
                gap = np.nan_to_num(np.maximum(lo - p, p - hi), nan=np.inf)
                rows = rows[np.argsort(gap, kind="stable")]
            else:
                rows = rows[np.lexsort((np.nan_to_num(snap.price[rows], nan=np.inf), ~snap.in_stock[rows]))]
            ids = [str(snap.ids[r]) for r in rows[: self.LIST_K]]
            found = {it.id: it for it in self.store.get_items(ids)}
            return [found[i] for i in ids if i in found][:3]
        return []

    def _list_reply(
        self,
        matches: list[Item],
        alternatives: list[Item],
        total: int,
        c: Constraints,
        unknown: list[str],
        currency: str,
        language: str,
        *,
        named: bool = False,
    ) -> ToolResult:
        zh = language == "zh"
        what = _what(c, unknown, zh, qualified=named)
        bound = _bound_text(c, currency, zh)
        facts: dict[str, Any] = {
            "constraints": c.to_dict(),
            "total": total,
            "items": [_item_facts(it) for it in matches],
        }
        data: dict[str, Any] = {
            "matches": [it.id for it in matches],
            "alternatives": [it.id for it in alternatives],
            "total": total,
            "constraints": c.to_dict(),
        }
        if matches:
            lines = "\n".join(_item_line(it, zh) for it in matches)
            if zh:
                head = f"有的，共有 {total} 件{bound}{what}，为您列出 {len(matches)} 件："
            else:
                head = f"Yes, we have {total} {what}{bound}. Here {'is' if len(matches) == 1 else 'are'} {len(matches)}:"
            return ToolResult("product_search", True, head + "\n" + lines, facts=facts, data=data)
        text = f"抱歉，我们没有{bound}{what}。" if zh else f"Sorry, we don't have any {what}{bound}."
        if alternatives:
            facts["alternatives"] = [_item_facts(it) for it in alternatives]
            lines = "\n".join(_item_line(it, zh) for it in alternatives)
            text += (
                "\n最接近的商品（不完全符合您的条件）：\n"
                if zh
                else "\nThe closest we have (not everything you asked for):\n"
            ) + lines
        return ToolResult("product_search", True, text, facts=facts, data=data)


def _item_facts(it: Item) -> dict[str, Any]:
    return {
        "item_id": it.id,
        "title": it.title,
        "price": it.price,
        "currency": it.currency,
        "stock": it.stock,
    }


def _item_line(it: Item, zh: bool) -> str:
    price = _money(it.price, it.currency) if it.price is not None else ("价格未知" if zh else "price unknown")
    if zh:
        return f"- {it.title}（{it.id}）：{price}，{'有货' if it.in_stock else '缺货'}"
    return f"- {it.title} ({it.id}): {price}, {'in stock' if it.in_stock else 'out of stock'}"


def _what(c: Constraints, unknown: list[str], zh: bool, *, qualified: bool = False) -> str:
    """What was asked for: brand, attribute values and category; the user's own words otherwise.

    ``qualified``: ``unknown`` are names the catalogue does not know, said before the category.
    """
    named = bool(c.categories or c.brands or c.attributes)
    if zh:
        lead = "".join(unknown) if qualified else ""
        return lead + "".join(c.terms) if named else ("".join(unknown) or "商品")
    parts = [*unknown] if qualified else []
    parts += list(c.brands)
    parts += [key.replace("_", " ") if value is True else str(value) for key, value in c.attributes]
    names = [p[-1] for p in c.categories]
    if names:
        return " ".join([*parts, " or ".join(names)])
    if parts:
        return " ".join([*parts, "products"])
    return " ".join(unknown) or "products"


def _bound_text(c: Constraints, currency: str, zh: bool) -> str:
    lo, hi = c.price_min, c.price_max
    if lo is None and hi is None:
        return ""
    if zh:
        if lo is not None and hi is not None:
            return f"价格在 {lo:.2f}–{hi:.2f} {currency} 之间的"
        return f"{hi:.2f} {currency} 以内的" if hi is not None else f"{lo:.2f} {currency} 以上的"
    if lo is not None and hi is not None:
        return f" priced between {lo:.2f} and {hi:.2f} {currency}"
    return f" priced up to {hi:.2f} {currency}" if hi is not None else f" priced from {lo:.2f} {currency}"


class RecommendTool:
    """Recommendations in chat through an optional ``RecommendService``."""

    def __init__(self, store: Any, recommend: Any = None) -> None:
        self.store = store
        self.service = recommend

    def recommend(self, identity: Identity, language: str = "en", k: int = 3) -> ToolResult:
        zh = language == "zh"
        if self.service is None or identity.user_id is None:
            msg = (
                "登录后我可以为您推荐商品；您也可以直接告诉我想找什么。"
                if zh
                else "Sign in and I can suggest products for you, or tell me what you are looking for."
            )
            return ToolResult("recommend", False, msg)
        try:
            ranked = self.service.recommend(identity.user_id, k)
        except (UnknownIdError, Exception):  # the recommender is optional; never fail the chat turn
            ranked = None
        items = self.store.get_items(ranked.ids) if ranked is not None and len(ranked) else []
        if not items:
            msg = "暂时没有合适的推荐。" if zh else "I don't have suggestions for you right now."
            return ToolResult("recommend", False, msg)
        lines = [
            f"- {it.title}" + (f" ({_money(it.price, it.currency)})" if it.price is not None else "")
            for it in items
        ]
        head = "您可能会喜欢：" if zh else "You might like:"
        facts = {"items": [{"item_id": it.id, "title": it.title, "price": it.price} for it in items]}
        return ToolResult("recommend", True, head + "\n" + "\n".join(lines), facts=facts)
