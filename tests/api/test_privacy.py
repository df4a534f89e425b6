"""Privacy operations: erase a customer (API + CLI), retention purge, PII redaction in logs."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apishop import FAST_TRAINING, auth, catalogue, events_for, make_settings
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopmind.api import create_app
from shopmind.api.auth import create_key, ensure_demo_keys
from shopmind.api.logs import JsonFormatter, RedactingFormatter, logging_config
from shopmind.config import Settings
from shopmind.data.schema import Event, Item, Order, User
from shopmind.engine import Engine
from shopmind.privacy import ERASED_USER_PREFIX, redact_pii

SOLO = "sku-solo"  # an item only u1 ever touched


def _shop(root: Path, **privacy: int) -> Engine:
    base = make_settings(root)
    settings = base.model_copy(
        update={
            "training": base.training.model_copy(update=FAST_TRAINING),
            "privacy": base.privacy.model_copy(update=privacy),
        }
    )
    engine = Engine.open(settings)
    store = engine.store
    store.upsert_items([Item.model_validate(r) for r in catalogue()] + [Item(id=SOLO, title="Solo lamp")])
    store.upsert_users([User(id=f"u{u}", email=f"u{u}@example.com") for u in range(8)])
    solo = [
        {
            "id": f"solo-{k}",
            "user_id": "u1",
            "item_id": SOLO,
            "type": "purchase",
            "timestamp": "2026-01-03T10:00:00Z",
        }
        for k in range(3)
    ]
    store.add_events([Event.model_validate(e) for e in events_for() + solo])
    store.upsert_orders(
        [
            Order.model_validate(
                {
                    "id": f"o{u}",
                    "user_id": f"u{u}",
                    "lines": [{"item_id": f"sku-{u}", "quantity": 1, "unit_price": 10.0}],
                    "status": "delivered",
                    "created_at": "2026-01-05T10:00:00Z",
                    "tracking_number": f"TRK{u}",
                }
            )
            for u in range(8)
        ]
    )
    store.append_message("conv-u1", user_id="u1", role="user", text="where is o1? mail me at u1@example.com")
    return engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = _shop(tmp_path)
    yield engine
    engine.close()


def _item_weight(engine: Engine, item_id: str) -> float:
    svc = engine.service("recommend")
    return float(svc.x[:, svc.items.index([item_id])[0]].sum())


def test_erase_via_api_then_retrain_forgets_the_customer(engine: Engine) -> None:
    engine.train(["recommend"])
    keys = ensure_demo_keys(engine.store)
    _, u1_key = create_key(engine.store, "read", name="customer u1", user_id="u1")
    svc = engine.service("recommend")
    assert "u1" in set(svc.users.ids) and _item_weight(engine, SOLO) > 0
    with TestClient(create_app(engine, watch_interval_s=None), raise_server_exceptions=False) as c:
        assert c.get("/users/u1/orders", headers=auth(u1_key)).status_code == 200
        for scope in ("read", "ingest"):
            r = c.delete("/users/u1", headers=auth(keys[scope]))
            assert r.status_code == 403, r.text
        assert engine.store.get_user("u1") is not None  # nothing happened
        r = c.delete("/users/u1", headers=auth(keys["admin"]))
        assert r.status_code == 200, r.text
        body = r.json()
        deleted = body["deleted"]
        assert deleted["users"] == 1 and deleted["events"] == 7 and deleted["api_keys"] == 1
        assert deleted["conversations"] == 1 and deleted["orders_anonymised"] == 1
        assert body["retrain_needed"] is True and len(body["subject_hash"]) == 64
        # the customer's own key stops at once (cache invalidated), the profile is gone
        assert c.get("/users/u1/orders", headers=auth(u1_key)).status_code == 401
        assert c.get("/users/u1", headers=auth(keys["admin"])).status_code == 404
        assert c.delete("/users/u1", headers=auth(keys["admin"])).status_code == 404  # nothing left
        assert c.delete("/users/%20bad", headers=auth(keys["admin"])).status_code == 422
    order = engine.store.get_order("o1")
    assert (
        order is not None and order.user_id.startswith(ERASED_USER_PREFIX) and order.tracking_number is None
    )
    from shopmind.ingest.quality import quality_report

    codes = {f["code"] for f in quality_report(engine.store)["findings"]}
    assert "unknown_order_users" not in codes  # the placeholder is not a data error
    (audit,) = engine.store.privacy_audit()
    assert audit["requested_by"].startswith("api-key:") and "u1" not in json.dumps(audit, default=str)
    # the next training forgets them: unknown user, and their item no longer counts from their events
    engine.train(["recommend"])
    svc = engine.service("recommend")
    assert "u1" not in set(svc.users.ids) and "u2" in set(svc.users.ids)
    assert _item_weight(engine, SOLO) == 0.0
    assert engine.recommend("u1", k=3).items  # served as an unknown (cold) customer


def test_erase_with_retrain_starts_a_training(engine: Engine) -> None:
    keys = ensure_demo_keys(engine.store)
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        r = c.delete("/users/u2?retrain=true", headers=auth(keys["admin"]))
        assert r.status_code == 200, r.text
        assert r.json()["training"]["state"] in {"running", "succeeded"}
        deadline = datetime.now(UTC) + timedelta(seconds=300)
        while engine.training_running and datetime.now(UTC) < deadline:
            import time

            time.sleep(0.2)
    assert engine.training_status()["state"] == "succeeded", engine.training_status()
    assert "u2" not in set(engine.service("recommend").users.ids)


def test_training_applies_retention_first(tmp_path: Path) -> None:
    engine = _shop(tmp_path, event_retention_days=30, conversation_retention_days=30)
    try:
        old = datetime.now(UTC) - timedelta(days=400)  # every event of the shop is from 2026-01-0x
        engine.store.add_events(
            [Event(id="fresh", user_id="u3", item_id="sku-3", type="view", timestamp=datetime.now(UTC))]
        )
        assert len(engine.store.events_frame(until=old + timedelta(days=800))) > 1
        engine.train(["recommend"])
        cut = datetime.now(UTC) - timedelta(days=30)
        remaining = engine.store.events_frame()
        assert (remaining["timestamp"] >= cut).all() and "fresh" in set(remaining["id"])
        assert engine.store.conversation("conv-u1")  # its message is new: kept
        (audit,) = engine.store.privacy_audit()
        assert audit["action"] == "purge" and audit["requested_by"] == "training"
        assert audit["details"]["events"] == 35 and audit["subject_hash"] is None
        svc = engine.service("recommend")  # profiles stay; only u3's fresh event was trained on
        active = {str(u) for u, n in zip(svc.users.ids, svc.x.getnnz(axis=1), strict=True) if n}
        assert active == {"u3"}
    finally:
        engine.close()


# ---------------------------------------------------------------------------- CLI (README commands)
def _cli(args: list[str]) -> tuple[int, str]:
    """Exit code and output; a ShopmindError exits 2 with its message, as ``shopmind.cli.main`` does."""
    from shopmind.cli import app
    from shopmind.errors import ShopmindError

    result = CliRunner().invoke(app, args)
    if isinstance(result.exception, ShopmindError):
        return 2, str(result.exception)
    return result.exit_code, result.output


def test_cli_users_erase_and_privacy_audit(tmp_path: Path) -> None:
    engine = _shop(tmp_path)
    url = engine.settings.store_url
    engine.close()
    code, out = _cli(["--store", url, "users", "erase", "u1"])  # no --yes, no terminal: aborted
    assert code != 0
    code, out = _cli(["--store", url, "users", "erase", "u1", "--yes", "--json"])
    assert code == 0, out
    payload = json.loads(out)
    assert payload["deleted"]["events"] == 7 and payload["deleted"]["users"] == 1
    code, out = _cli(["--store", url, "users", "erase", "u1", "--yes"])
    assert code == 2 and "unknown customer" in out
    code, out = _cli(["--store", url, "privacy", "audit", "--json"])
    assert code == 0, out
    (record,) = json.loads(out)
    assert record["action"] == "erase" and record["requested_by"].startswith("cli")
    code, out = _cli(["--store", url, "privacy", "audit"])
    assert code == 0 and "erase" in out


def test_cli_privacy_purge(tmp_path: Path) -> None:
    engine = _shop(tmp_path)
    url = engine.settings.store_url
    n_events = len(engine.store.events_frame())
    engine.close()
    code, out = _cli(["--store", url, "privacy", "purge"])
    assert code == 0 and "retention is off" in out
    config = tmp_path / "shopmind.toml"
    config.write_text(f'store_url = "{url}"\n\n[privacy]\nevent_retention_days = 30\n', encoding="utf-8")
    code, out = _cli(["--config", str(config), "privacy", "purge", "--json"])
    assert code == 0, out
    result = json.loads(out)
    assert result["deleted"]["events"] == n_events and result["conversations_before"] is None
    code, out = _cli(["--config", str(config), "privacy", "purge"])
    assert code == 0 and "events" in out


def test_privacy_settings_are_validated(tmp_path: Path) -> None:
    from shopmind.config import load_settings
    from shopmind.errors import ConfigError

    with pytest.raises(ConfigError, match=r"privacy\.event_retention_days"):
        load_settings(env={"SHOPMIND_PRIVACY__EVENT_RETENTION_DAYS": "0"})
    s = load_settings(env={"SHOPMIND_PRIVACY__CONVERSATION_RETENTION_DAYS": "14"})
    assert s.privacy.conversation_retention_days == 14 and s.privacy.event_retention_days is None
    assert Settings().privacy.event_retention_days is None  # off by default


# ---------------------------------------------------------------------------- PII redaction
EXAMPLES = [
    ("Contact me at jane.doe+shop@example.co.uk please", "Contact me at [email] please"),
    ("我的邮箱是li.si@qq.com，谢谢", "我的邮箱是[email]，谢谢"),
    ("call +1 (415) 555-2671 or (415) 555-2671", "call [phone] or [phone]"),
    ("我的手机号是13812345678，备用 +86 139 1234 5678", "我的手机号是[phone]，备用 [phone]"),
    ("座机 010-12345678 或 (0755) 8888 9999", "座机 [phone] 或 [phone]"),
    ("UK office 020 7946 0958", "UK office [phone]"),
    ("card 4111 1111 1111 1111, or 5500-0000-0000-0004", "card [card], or [card]"),
    ("pay with 4111111111111111 now", "pay with [card] now"),
    ("身份证 11010519491231002X", "身份证 [id]"),
    ("ship to 221B Baker Street, London", "ship to [address], London"),
    ("I live at 42 Wallaby Way, Apt 3, Sydney", "I live at [address], Sydney"),
    ("请寄到上海市浦东新区世纪大道100号", "请寄到[address]"),
    ("收货地址：北京市朝阳区建国路88号SOHO现代城5号楼1201室，谢谢", "收货地址：[address]，谢谢"),
    ("我住在南京路123号", "我住在[address]"),
]
KEPT = [
    "order ORD-0001-000003 for SKU00042 costs 1299.00, placed 2026-01-05T10:00:00Z",
    "tracking 1Z999AA10123456784; 13 digits 1234567890123 fail the Luhn check",
    "我想退货，订单 ORD-0001-000003，一共3件，100元",
    "GET /users/U00781 200 1.2ms",
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES)
def test_redact_pii(text: str, expected: str) -> None:
    assert redact_pii(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_redact_pii_keeps_ids_prices_and_dates(text: str) -> None:
    assert redact_pii(text) == text


def test_redaction_is_linear_on_hostile_input() -> None:
    import time

    for text in ("1" * 200_000, "路" * 200_000, "上海市" * 70_000 + "路1号", ("a" * 30 + "@") * 7000):
        started = time.process_time()
        redact_pii(text)
        assert time.process_time() - started < 2.0


def _record(msg: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("customer wrote: call me on 13912345678")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("shopmind.test", logging.ERROR, __file__, 1, msg, args, exc_info)
    record.__dict__.update(extra)
    return record


def test_json_logs_are_redacted() -> None:
    record = _record(
        "chat from %s: 寄到上海市浦东新区世纪大道100号",
        "jane@example.com",
        exc=True,
        request_id="abc123",
        status=500,
        query="phone 13812345678",
        payload={"card": "4111 1111 1111 1111"},
    )
    line = JsonFormatter().format(record)
    payload = json.loads(line)
    assert payload["message"] == "chat from [email]: 寄到[address]"
    assert (
        payload["query"] == "phone [phone]" and payload["status"] == 500 and payload["request_id"] == "abc123"
    )
    assert "[card]" in payload["payload"] and "[phone]" in payload["exc"]
    for secret in ("jane@", "13812345678", "4111", "13912345678", "世纪大道"):
        assert secret not in line


def test_plain_logs_are_redacted_and_configured() -> None:
    import logging.config

    fmt = RedactingFormatter("%(levelname)s %(message)s")
    assert fmt.format(_record("user typed %s", "+44 20 7946 0958")) == "ERROR user typed [phone]"
    for json_logs in (False, True):
        cfg = logging_config(Settings(log_json=json_logs))
        logging.config.dictConfig(cfg)
        handler = logging.getLogger().handlers[0]
        line = handler.format(_record("mail %s", "x@y.com"))
        assert "x@y.com" not in line and "[email]" in line


# ---------------------------------------------------------------------------- erasure: tokens, audit rows, search log
def test_erasure_revokes_customer_tokens_in_every_worker(engine: Engine) -> None:
    """Tokens are stateless: after an erasure, every worker (two apps on one store) refuses a token
    issued before it, at once; a token minted later (the shop re-created the customer) works."""
    import time

    from shopmind.api.auth import CustomerTokens

    keys = ensure_demo_keys(engine.store)
    other = Engine.open(engine.settings)  # a second worker process: its own store connection and app
    try:
        with (
            TestClient(create_app(engine, watch_interval_s=None), raise_server_exceptions=False) as c1,
            TestClient(create_app(other, watch_interval_s=None), raise_server_exceptions=False) as c2,
        ):
            r = c1.post(
                "/customer-tokens", json={"user_id": "u1", "ttl_s": 3600}, headers=auth(keys["ingest"])
            )
            assert r.status_code == 200, r.text
            page = auth(keys["read"]) | {"X-Customer-Token": r.json()["token"]}
            for c in (c1, c2):
                assert c.get("/users/u1/orders", headers=page).json()["orders"][0]["id"] == "o1"
            assert c1.delete("/users/u1", headers=auth(keys["admin"])).status_code == 200
            for c in (c2, c1):  # the other worker first: nothing was invalidated there
                r = c.get("/users/u1/orders", headers=page)
                assert r.status_code == 401 and "erased" in r.text, r.text
            assert engine.store.customer_erased_at("u1") is not None
            assert engine.store.customer_erased_at("u2") is None
            later, _ = CustomerTokens(engine.store).mint("u1", 60, now=time.time() + 2)
            r = c2.get("/users/u1/orders", headers=auth(keys["read"]) | {"X-Customer-Token": later})
            assert r.status_code == 200 and r.json()["orders"] == []
    finally:
        other.close()
    assert "u1" not in json.dumps(engine.store.privacy_audit(), default=str)


def test_erasure_deletes_identity_checks_of_the_customers_orders(engine: Engine) -> None:
    from shopmind.privacy import erase_customer
    from shopmind.store.base import IdentityCheck

    store = engine.store
    for oid, outcome in (("o1", "failed"), ("o1", "verified"), ("o2", "failed"), (None, "refused")):
        store.log_identity_check(
            IdentityCheck(outcome=outcome, order_id=oid, key_id="k1", client_ip="10.0.0.7", reason="order")
        )
    report = erase_customer(store, "u1", requested_by="test")
    assert report.counts["identity_checks"] == 2
    left = store.identity_checks()
    assert [(c.order_id, c.outcome) for c in left] == [("o2", "failed"), (None, "refused")]
    # the kept rows still count as failures for the rate limit (audit semantics unchanged)
    since = datetime.now(UTC) - timedelta(hours=1)
    assert len(store.identity_failure_times(since=since, limit=10, order_id="o2")["order_id"]) == 1
    assert store.identity_failure_times(since=since, limit=10, order_id="o1")["order_id"] == []


def test_search_log_queries_are_redacted(engine: Engine) -> None:
    keys = ensure_demo_keys(engine.store)
    engine.train(["search"])
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        q = "headphones for jane.doe@example.com 13812345678"
        assert c.get("/search", params={"q": q}, headers=auth(keys["read"])).status_code == 200
    engine.store.log_search(query="ring me on +44 20 7946 0958", user_id=None, n_results=0, result_ids=[])
    logged = engine.store.search_log_frame()["query"].tolist()
    assert logged == ["headphones for [email] [phone]", "ring me on [phone]"]
