"""Resources against the real store: validation (422 naming the field), idempotent events, errors."""

from __future__ import annotations

import json
from pathlib import Path

from apishop import Shop, catalogue, events_for, make_settings
from fastapi.testclient import TestClient

from shopmind.api import create_app
from shopmind.engine import Engine
from shopmind.store.artifacts import ArtifactStore


def test_item_crud(shop: Shop) -> None:
    c, h = shop.client, shop.h("ingest")
    r = c.post("/items", json=catalogue(3), headers=h)
    assert r.status_code == 200 and r.json()["accepted"] == 3 and r.json()["inserted"] == 3
    item = c.get("/items/sku-1", headers=shop.h("read")).json()
    assert item["title"].startswith("Smartphone case")
    item["price"] = 99.5
    assert c.put("/items/sku-1", json=item, headers=h).json()["updated"] == 1
    assert c.get("/items/sku-1", headers=h).json()["price"] == 99.5
    assert c.get("/items?limit=2", headers=h).json()["total"] == 3
    assert c.delete("/items/sku-1", headers=h).status_code == 200
    r = c.get("/items/sku-1", headers=h)
    assert r.status_code == 404 and r.json()["error"]["field"] == "item_id"


def test_put_with_mismatched_id_names_the_field(shop: Shop) -> None:
    r = shop.client.put("/items/sku-1", json=catalogue(1)[0], headers=shop.h("ingest"))
    assert r.status_code == 422 and r.json()["error"]["field"] == "id"


def test_invalid_item_names_the_field(shop: Shop) -> None:
    rows = catalogue(3)
    rows[1]["price"] = -3
    r = shop.client.post("/items", json=rows, headers=shop.h("ingest"))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["rejected"] == [{"index": 1, "field": "price", "message": err["rejected"][0]["message"]}]
    assert "price" in err["message"] and "nothing was written" in err["message"]
    assert shop.engine.store.counts()["items"] == 0  # all or nothing


def test_partial_batch_writes_the_valid_rows_and_lists_the_rest(shop: Shop) -> None:
    rows = catalogue(3)
    rows[2]["title"] = ""
    r = shop.client.post("/items?partial=true", json=rows, headers=shop.h("ingest"))
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 2 and body["inserted"] == 2
    assert [(x["index"], x["field"]) for x in body["rejected"]] == [(2, "title")]


def test_body_that_is_not_a_list_is_422(shop: Shop) -> None:
    r = shop.client.post("/events", json={"id": "x"}, headers=shop.h("ingest"))
    assert r.status_code == 422 and r.json()["error"]["type"] == "invalid_data"
    r = shop.client.post(
        "/events", content=b"{not json", headers=shop.h("ingest") | {"content-type": "application/json"}
    )
    assert r.status_code == 422


def test_query_validation_names_the_parameter(shop: Shop) -> None:
    r = shop.client.get("/items?limit=0", headers=shop.h("read"))
    assert r.status_code == 422
    assert r.json()["error"]["errors"][0]["field"] == "limit"


def test_event_batches_are_idempotent(shop: Shop) -> None:
    c, h = shop.client, shop.h("ingest")
    c.post("/items", json=catalogue(), headers=h)
    events = events_for(n_users=3)
    first = c.post("/events", json=events, headers=h).json()
    assert first["inserted"] == len(events) and first["duplicates"] == 0
    again = c.post("/events", json=events, headers=h).json()
    assert again["inserted"] == 0 and again["duplicates"] == len(events)
    within = c.post("/events", json=[events[0], events[0]], headers=h).json()
    assert within["inserted"] == 0 and within["duplicates"] == 2
    assert shop.engine.store.counts()["events"] == len(events)


def test_events_with_unknown_items_or_bad_fields_are_listed(shop: Shop) -> None:
    c, h = shop.client, shop.h("ingest")
    c.post("/items", json=catalogue(2), headers=h)
    events = events_for(n_users=1, n_items=2)
    events[1]["item_id"] = "nope"
    events[2]["type"] = "teleport"
    r = c.post("/events", json=events, headers=h)
    assert r.status_code == 422
    got = {(x["index"], x["field"]) for x in r.json()["error"]["rejected"]}
    assert got == {(1, "item_id"), (2, "type")}
    assert shop.engine.store.counts()["events"] == 0
    r = c.post("/events?partial=true", json=events, headers=h)
    assert r.status_code == 200 and r.json()["inserted"] == 2 and len(r.json()["rejected"]) == 2


def test_fully_invalid_partial_batch_is_still_422(shop: Shop) -> None:
    r = shop.client.post("/users?partial=true", json=[{"id": ""}, {"email": "x"}], headers=shop.h("ingest"))
    assert r.status_code == 422


def test_body_size_limit_is_413(shop: Shop) -> None:
    big = catalogue(1) * 2000  # well over the 64 KiB limit of the fixture
    r = shop.client.post("/items", json=big, headers=shop.h("ingest"))
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "payload_too_large"


def test_untrained_capabilities_are_503(shop: Shop) -> None:
    r = shop.client.get("/recommendations/trending", headers=shop.h("read"))
    assert r.status_code == 503
    err = r.json()["error"]
    assert err["type"] == "not_available" and "recommend" in err["message"]
    assert shop.client.get("/search?q=phone", headers=shop.h("read")).status_code == 503
    assert shop.client.post("/chat", json={"message": "hi"}, headers=shop.h("read")).status_code == 503


def test_documents_roundtrip(shop: Shop) -> None:
    docs = [{"id": "ship", "title": "Shipping", "body": "We ship in 2 days", "tags": "shipping, delivery"}]
    assert shop.client.post("/documents", json=docs, headers=shop.h("ingest")).json()["inserted"] == 1
    got = shop.client.get("/documents", headers=shop.h("read")).json()["documents"]
    assert got[0]["tags"] == ["shipping", "delivery"]


def test_health_and_metrics(seeded: Shop) -> None:
    c = seeded.client
    assert c.get("/health/live").json() == {"status": "ok"}
    r = c.get("/health/ready")
    assert r.status_code == 503 and r.json()["checks"]["store"] == "ok"  # nothing trained yet
    text = c.get("/metrics").text
    assert 'shopmind_http_request_duration_seconds_bucket{le="0.001",method="POST",route="/events"}' in text
    assert 'shopmind_events_ingested_total{outcome="inserted"} 32.0' in text
    assert "shopmind_model_version_info" in text


def test_request_id_header_and_error_bodies(shop: Shop) -> None:
    r = shop.client.get("/items/nope", headers=shop.h("read") | {"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert r.json()["error"]["request_id"] == "abc-123"


def test_search_analytics_fallback_from_logs(seeded: Shop) -> None:
    store = seeded.engine.store
    sid = store.log_search(query="Phone", user_id="u1", n_results=3, result_ids=["sku-1", "sku-4", "sku-7"])
    store.log_search(query="zzz", user_id=None, n_results=0, result_ids=[])
    store.log_click(search_id=sid, item_id="sku-4", position=2)
    data = seeded.client.get("/admin/search-analytics", headers=seeded.h("admin")).json()
    # no search service is loaded here: the same analytics, from the store's logs
    assert data["searches"] == 2 and data["clicks"] == 1
    assert data["zero_result_queries"] == [{"query": "zzz", "count": 1}]
    assert data["click_rate"] == 0.5 and data["ctr_by_position"] == {"1": 0.0, "2": 1.0, "3": 0.0}


def test_quality_report_and_reports_listing(seeded: Shop) -> None:
    h = seeded.h("admin")
    quality = seeded.client.get("/admin/quality", headers=h).json()
    assert quality["counts"]["items"] == 12
    reports = seeded.settings.reports_dir
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "r.json").write_text(
        '{"dataset": "ml-100k", "rows": [{"name": "sar", "metrics": {"map": 0.11}}]}'
    )
    listing = seeded.client.get("/admin/reports", headers=h).json()["reports"]
    assert listing == [
        {
            "name": "r.json",
            "dataset": "ml-100k",
            "protocol": None,
            "rows": [{"name": "sar", "metrics": {"map": 0.11}}],
        }
    ]
    assert seeded.client.get("/admin/reports/r.json", headers=h).json()["dataset"] == "ml-100k"
    # no path traversal out of the reports folder
    assert seeded.client.get("/admin/reports/..%2F..%2Fshop.db", headers=h).status_code == 404
    assert seeded.client.get("/admin/reports/../shop.json", headers=h).status_code == 404


def test_cors_off_by_default_and_configurable(shop: Shop, tmp_path: Path) -> None:
    pre = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    r = shop.client.options("/search", headers=pre)
    assert "access-control-allow-origin" not in r.headers
    settings = make_settings(tmp_path, cors_origins=["https://shop.example"])
    engine = Engine(shop.engine.store, ArtifactStore(settings.artifacts_dir), settings)
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        r = c.options("/search", headers=pre | {"Access-Control-Request-Headers": "authorization"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://shop.example"
        other = c.options("/search", headers=pre | {"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_openapi_lists_every_route_and_docs_are_local(shop: Shop) -> None:
    spec = shop.client.get("/openapi.json").json()
    assert {"/events", "/search", "/admin/train", "/recommendations/users/{user_id}", "/health/ready"} <= set(
        spec["paths"]
    )
    html = shop.client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in html or "openapi.json" in html
    assert "cdn" not in html.lower() and "https://" not in html.split("<body", 1)[-1]
    assert shop.client.get("/").status_code == 200 and "storefront.js" in shop.client.get("/").text
    config_js = shop.client.get("/web-config.js").text
    prefix = "window.SHOPMIND_CONFIG = "
    assert config_js.startswith(prefix)
    assert json.loads(config_js[len(prefix) :].rstrip().rstrip(";"))["readKey"] is None  # no key handed out


def test_app_from_settings_opens_and_closes_its_engine(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    from shopmind.api.auth import create_key
    from shopmind.store import open_store

    store = open_store(settings.store_url)
    _, read_key = create_key(store, "read", name="web")
    store.close()
    app = create_app(settings, web_read_key=read_key, watch_interval_s=0.05, demo_sign_in=True)
    with TestClient(app) as c:
        engine = app.state.engine
        assert engine.store.url == settings.store_url
        assert c.get("/health/live").status_code == 200
        assert c.get("/health/ready").json()["checks"]["artifacts"] == "no trained run loaded"
        from shopmind.data.schema import User

        engine.store.upsert_users([User(id="u1"), User(id="u2")])
        config = c.get("/web-config.js").text
        assert f'"readKey": "{read_key}"' in config and '"demoUsers": ["u1", "u2"]' in config
        assert '"demoTokens": {"u1": "smc1.' in config
    assert engine._watch_stop is None  # the lifespan stopped the watcher and closed the engine
