"""The LLM adapter and fact checker against a real OpenAI-compatible HTTP server on loopback.

The server is a small ``http.server`` thread answering ``POST /v1/chat/completions`` with canned
replies (faithful or hallucinating), so the adapter's real HTTP path (httpx, JSON, auth header) runs.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shopmind.assistant.llm import FactChecker, LLMClient, LLMPhraser
from shopmind.assistant.service import AssistantService
from shopmind.content.descriptions import describe
from shopmind.data.schema import Item, OrderStatus

SOURCE = (
    "Returns are accepted within 30 days of delivery. Refunds go back to the original payment method "
    "within 5-7 business days. Return shipping costs $4.99 unless the item is defective."
)


class _Canned(BaseHTTPRequestHandler):
    reply = "ok"
    requests: list[dict] = []  # noqa: RUF012 - shared on purpose: the test reads what was sent

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        if type(self).reply == "<500>":
            self.send_response(500)
            self.end_headers()
            return
        payload = {
            "id": "x",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": type(self).reply}}],
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


@pytest.fixture
def phraser(server):
    _Canned.requests.clear()
    return LLMPhraser(LLMClient(server, "smollm2", api_key="k-123", timeout_s=5))


# --- the checker alone ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "faithful",
    [
        "You can return items within 30 days of delivery, and refunds take 5-7 business days.",
        "Return shipping is $4.99 unless the item is defective.",
        "Refunds go back to your original payment method.",
    ],
)
def test_checker_accepts_faithful(faithful):
    assert FactChecker().check(faithful, [SOURCE]).ok


@pytest.mark.parametrize(
    ("hallucination", "problem"),
    [
        ("You can return items within 60 days of delivery.", "number 60"),
        ("Return shipping is always free.", "term 'free'"),
        ("Returns are not accepted after delivery.", "term 'not'"),
        ("Refunds arrive within 5-7 business days, plus a lifetime warranty.", "term 'lifetime'"),
        ("Return shipping costs $14.99.", "number 14.99"),
        ("Your order was delivered on 2024-05-01.", "date 2024-05-01"),
        ("Email refunds@shop.example for help.", "e-mail"),
        ("Your order ORD-0009-000001 is on its way.", "identifier ORD-0009-000001"),
        ("退货运费全免。", "term '免费'"),
    ],
)
def test_checker_rejects_hallucinations(hallucination, problem):
    res = FactChecker().check(hallucination, [SOURCE])
    assert not res.ok
    assert any(problem.split()[0] in p for p in res.problems), res.problems


def test_checker_uses_tool_facts():
    facts = {"order_id": "ORD-1-000002", "status": "shipped", "tracking_number": "1Z999AA10123456784"}
    assert FactChecker().check("Order ORD-1-000002 has shipped, tracking 1Z999AA10123456784.", [], facts).ok
    bad = FactChecker().check("Order ORD-1-000002 was delivered.", [], facts)
    assert not bad.ok and any("delivered" in p for p in bad.problems)


# --- the adapter over HTTP -------------------------------------------------------------------


def test_faithful_reply_is_used(phraser):
    _Canned.reply = "Sure! Returns are accepted within 30 days of delivery."
    out = phraser.phrase(SOURCE, sources=[SOURCE])
    assert out == _Canned.reply
    sent = _Canned.requests[-1]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer k-123"
    assert sent["body"]["model"] == "smollm2" and SOURCE in sent["body"]["messages"][1]["content"]


def test_hallucinating_reply_is_refused(phraser):
    _Canned.reply = "Great news: returns are free for 90 days!"
    assert phraser.phrase(SOURCE, sources=[SOURCE]) is None
    assert not phraser.last_check.ok


def test_server_error_falls_back(phraser):
    _Canned.reply = "<500>"
    assert phraser.phrase(SOURCE, sources=[SOURCE]) is None


def test_description_llm_path_is_fact_checked(phraser):
    item = Item(
        id="S1", title="Sony BS-986 Speaker", brand="Sony", price=107.99, attributes={"bluetooth": True}
    )
    _Canned.reply = "The Sony BS-986 Speaker costs 107.99 USD and has Bluetooth."
    ok = describe(item, "short", llm=phraser)
    assert ok.llm_used and ok.text == _Canned.reply
    _Canned.reply = "The Sony BS-986 Speaker costs 99.99 USD, is waterproof for 12 hours."
    bad = describe(item, "short", llm=phraser)
    assert not bad.llm_used and "107.99" in bad.text


def test_chat_with_llm_keeps_grounded_reply_when_check_fails(trained_dir, store, phraser):
    svc = AssistantService.load(trained_dir, store, llm=phraser)
    frame = store.orders_frame()
    order = store.get_order(frame.loc[frame["status"] == OrderStatus.SHIPPED.value, "order_id"].iloc[0])
    _Canned.reply = f"Order {order.id} was delivered yesterday and you get a full refund."
    r = svc.chat(f"where is order {order.id}", user_id=order.user_id)
    assert not r.llm_used and order.tracking_number in r.text
    _Canned.reply = f"Your order {order.id} has shipped with tracking number {order.tracking_number}."
    r = svc.chat(f"where is order {order.id}", user_id=order.user_id)
    assert r.llm_used and r.text == _Canned.reply


def test_multiword_terms_are_phrases():
    # "in transit" is an order state; the plain words "in" and "for" are not facts
    src = ["Returns are accepted within 30 days of delivery."]
    res = FactChecker().check("Returns are accepted in 30 days for delivery.", src)
    assert res.ok, res.problems
    bad = FactChecker().check("Your parcel is in transit.", src)
    assert bad.problems == ["term 'in transit' not in sources"]


def test_prompt_echo_is_refused(phraser):
    _Canned.reply = "Reply to rewrite:\nReturns are accepted within 30 days of delivery."
    assert phraser.phrase(SOURCE, sources=[SOURCE]) is None
    assert phraser.last_check.problems == ["the reply echoes the prompt"]
