"""The storefront and dashboard in real headless Chromium against a real server (marked ``browser``)."""

from __future__ import annotations

import re
from typing import Any

from webshop import shot


def expected_problems(page: Any) -> list[str]:
    # 503s of capabilities not trained in the tiny shop (assistant) are shown in the page, not errors
    return [p for p in page.problems if "503" not in p]


def test_storefront_search_facet_product(page: Any, live_shop: dict[str, Any]) -> None:
    page.goto(live_shop["url"] + "/")
    # trending shelf for a guest, every card with a reason
    page.wait_for_selector("#shelf .card")
    assert page.locator("#shelf .card .reason").count() == page.locator("#shelf .card").count() > 0

    # autocomplete
    page.fill("#q", "wir")
    page.wait_for_selector("#suggest li")
    suggestion = page.locator("#suggest li").first.inner_text()
    assert suggestion.lower().startswith("wireless")
    page.locator("#suggest li").first.dispatch_event("mousedown")
    page.wait_for_selector("#results .result")
    assert "Wireless" in page.locator("#results .result-title").first.inner_text()
    shot(page, "01-search-results")

    # a plain query with several brands, then a facet
    page.fill("#q", "model")
    page.press("#q", "Enter")
    page.wait_for_function("document.querySelectorAll('#results .result').length >= 10")
    before = page.locator("#results .result").count()
    facet = page.locator('ul[data-facet="brand"] a', has_text="Acme")
    facet.click()
    page.wait_for_function(
        f"document.querySelectorAll('#results .result').length > 0 && "
        f"document.querySelectorAll('#results .result').length < {before}"
    )
    brands = page.locator("#results .result .brand").all_inner_texts()
    assert brands and set(brands) == {"Acme"}
    assert "brand=Acme" in page.url
    shot(page, "02-facet-brand")

    # open a product: details, similar items and bought together with reasons
    page.locator("#results .result-title").first.click()
    page.wait_for_selector("#product-title")
    page.wait_for_selector("#similar .card")
    assert page.locator("#similar .card .reason").first.inner_text().startswith("similar to")
    shot(page, "03-product")
    assert not expected_problems(page), page.problems


def test_for_you_shelf_with_reasons_and_user_switch(page: Any, live_shop: dict[str, Any]) -> None:
    page.goto(live_shop["url"] + "/")
    page.wait_for_selector("#shelf .card")
    page.fill("#user", "u1")
    page.dispatch_event("#user", "change")
    page.wait_for_function("document.getElementById('shelf-title').textContent.includes('u1')")
    page.wait_for_selector("#shelf .card .reason")
    reasons = page.locator("#shelf .card .reason").all_inner_texts()
    assert reasons and all(r.strip() for r in reasons)
    shown = set(page.locator("#shelf .card").evaluate_all("els => els.map(e => e.dataset.itemId)"))
    assert not shown & {"sku-1", "sku-4", "sku-7", "sku-10"}  # u1 already interacted with these
    shot(page, "04-for-you")

    # Chinese labels
    page.click("#lang")
    page.wait_for_function("document.getElementById('shelf-title').textContent.includes('为你推荐')")
    assert page.get_attribute("#q", "placeholder") == "搜索商品…"
    shot(page, "05-chinese")
    page.click("#lang")
    assert not expected_problems(page), page.problems


def test_chat_widget_reports_unavailable_assistant(page: Any, live_shop: dict[str, Any]) -> None:
    page.goto(live_shop["url"] + "/")
    page.click("#chat-toggle")
    page.fill("#chat-input", "where is my order?")
    page.press("#chat-input", "Enter")
    page.wait_for_selector("#chat-log .msg.bot")
    text = page.inner_text("#chat-log .msg.bot")
    engine = live_shop["engine"]
    if "assistant" in engine.bundle.services:
        assert text and "not available" not in text
    else:
        assert "not available" in text


def test_dashboard(page: Any, live_shop: dict[str, Any]) -> None:
    page.goto(live_shop["url"] + "/dashboard")
    page.wait_for_selector("#keybar:not([hidden])")
    page.fill("#key-input", live_shop["keys"]["admin"])
    page.click("#key-save")
    run_id = live_shop["engine"].bundle.run_id
    page.wait_for_selector(f"#status-body >> text={run_id}")
    page.wait_for_selector("#versions table")
    # evaluation report as a table and SVG bar charts
    page.wait_for_selector('#reports [data-report="ml100k.json"] svg.chart')
    page.wait_for_function("document.querySelectorAll('#reports svg.chart').length >= 2")
    assert page.locator("#reports svg.chart").count() == 2
    assert "0.4100" in page.inner_text("#reports")
    page.wait_for_selector("#quality-body dl, #quality-body table")
    if "forecast" in live_shop["engine"].bundle.services:
        # inventory advice table, and the first item's demand chart + projected stock vs reorder point
        page.wait_for_selector("#inventory-body table")
        page.wait_for_selector("#forecast-slot svg.chart polyline.fc", state="attached")
    shot(page, "06-dashboard")

    # train now → a new run is served
    page.click("#train")
    page.wait_for_function(
        "(run) => { const s = document.getElementById('training-state').textContent;"
        " return s.startsWith('✓') && !s.includes(run); }",
        arg=run_id,
        timeout=120_000,
    )
    new_run = live_shop["engine"].bundle.run_id
    assert new_run != run_id
    page.wait_for_selector(f"#status-body >> text={new_run}")
    # the versions table is fetched after the status: wait for it rather than read it half-loaded
    page.wait_for_function("() => /serving/.test(document.getElementById('versions').textContent)")
    assert re.search(rf"{re.escape(new_run)} \(serving\)", page.inner_text("#versions"))
    shot(page, "07-dashboard-trained")
    assert not expected_problems(page), page.problems


def test_api_docs_are_local(page: Any, live_shop: dict[str, Any]) -> None:
    page.goto(live_shop["url"] + "/docs")
    page.wait_for_selector('[data-path="/recommendations/users/{user_id}"]')
    assert not [p for p in page.problems if "external" in p], page.problems
