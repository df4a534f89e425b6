"""The storefront and dashboard in real headless Chromium against a real server (marked ``browser``)."""

from __future__ import annotations

import re
from typing import Any

from webshop import result_ids, shot


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
    # data quality: a summary (severity counts, findings) and bar charts, not the raw report as nested JSON
    page.wait_for_selector("#quality-body .quality-meta")
    assert page.locator("#quality-body table").count() >= 1
    assert page.locator("#quality-body svg.chart").count() >= 1
    quality_text = page.inner_text("#quality-body")
    assert page.locator("#quality-body dl").count() == 0 and "thresholds" not in quality_text
    assert "Computed" in quality_text and "q_" not in quality_text  # translated labels, not i18n keys
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


def test_shopper_pagination_no_results_product_and_chinese(page: Any, live_shop: dict[str, Any]) -> None:
    url = live_shop["url"]
    # page 2 of 3 straight from a shared link (12 products match "model", 5 per page)
    page.goto(url + "/#/search?q=model&k=5&page=2")
    page.wait_for_selector("#results .result")
    assert page.inner_text("#results-summary").startswith("6–10 of 12")
    assert page.locator("#pager .current").inner_text() == "2"
    page2 = result_ids(page)
    assert len(page2) == 5
    # price buckets with the currency, not "10..25"
    assert page.locator('ul[data-facet="price"] a').first.inner_text().startswith("$10–$25")
    shot(page, "10-search-page-2")
    page.click("#pager a.next")
    page.wait_for_function("document.querySelector('#pager .current')?.textContent === '3'")
    assert "page=3" in page.url and len(result_ids(page)) == 2
    assert not set(result_ids(page)) & set(page2)
    page.go_back()  # back restores page 2
    page.wait_for_function("document.querySelector('#pager .current')?.textContent === '2'")
    assert result_ids(page) == page2
    page.reload()  # so does a reload
    page.wait_for_selector("#pager .current")
    assert page.locator("#pager .current").inner_text() == "2" and result_ids(page) == page2

    # autocomplete: submitting closes the list, also when the suggestions arrive after the submit
    page.fill("#q", "wir")
    page.wait_for_selector("#suggest li")
    page.press("#q", "Enter")
    page.wait_for_selector("#results .result, #no-results:not([hidden]) h2")
    assert page.locator("#suggest").is_hidden()
    page.fill("#q", "wire")
    page.press("#q", "Enter")  # within the 120 ms debounce
    page.wait_for_timeout(600)
    assert page.locator("#suggest").is_hidden()
    page.fill("#q", "wir")
    page.wait_for_selector("#suggest li")
    page.press("#q", "Escape")
    assert page.locator("#suggest").is_hidden()
    page.fill("#q", "wir")
    page.wait_for_selector("#suggest li")
    page.mouse.click(5, 850)  # outside the search box
    assert page.locator("#suggest").is_hidden()

    # no results: looser searches and popular items instead of a bare heading
    page.goto(url + "/#/search?q=xyzzy+plugh")
    page.wait_for_selector("#no-results:not([hidden]) h2")
    assert "xyzzy plugh" in page.inner_text("#no-results h2")
    assert page.locator("#no-results a.fewer-words").count() == 2
    page.wait_for_selector("#popular .card")
    assert page.locator("#popular .card .reason").first.inner_text().startswith("trending in ")
    assert "this week" not in page.inner_text("#no-results")
    shot(page, "11-no-results")
    # a misspelt query under a filter with no match: did-you-mean and the query without the filter
    page.goto(url + "/#/search?q=wireles+hedphones&brand=Globex")
    page.wait_for_selector("#no-results:not([hidden]) a.drop-filters")
    page.wait_for_selector("#did-you-mean")
    assert page.inner_text("#did-you-mean") == "wireless headphones"
    page.click("#no-results a.drop-filters")
    page.wait_for_selector("#results .result")
    assert "brand=" not in page.url

    # a product with similar items but nothing bought together: no empty section
    page.goto(url + "/#/item/sku-11")
    page.wait_for_selector("#similar .card")
    page.wait_for_load_state("networkidle")
    assert page.locator("#together-section").is_hidden()
    assert "No results" not in page.inner_text("#product-view")
    shot(page, "12-product-no-empty-sections")

    # the shop's name comes from the server's configuration
    assert page.inner_text("#brand") == live_shop["engine"].settings.server.shop_name

    # a Chinese session: UI strings, facet labels and reasons in Chinese
    page.click("#lang")
    page.goto(url + "/#/search?q=model&k=5")
    page.wait_for_selector("#pager a.next")
    assert page.inner_text("#search-form button") == "搜索"
    assert "共 12 个结果" in page.inner_text("#results-summary")
    assert page.inner_text("#pager a.next").startswith("下一页")
    assert page.inner_text("#facets h3") == "筛选"
    assert {"类目", "品牌", "价格"} <= set(page.locator("#facets h4").all_inner_texts())
    assert "电子产品 (8)" in page.locator('ul[data-facet="category"] a').all_inner_texts()
    assert page.locator("#sort option").first.inner_text() == "相关度"
    assert page.get_attribute("#user", "placeholder") == "顾客编号"
    page.goto(url + "/#/item/sku-0")
    page.wait_for_selector("#similar .card .reason")
    assert page.inner_text("#similar-section h3") == "相似商品"
    assert page.locator("#similar .card .reason").first.inner_text().startswith("与")
    assert page.inner_text("#product .ok") == "有货"
    assert (
        page.inner_text("#product .cat") == "电子产品 › 影音"
    )  # the demo catalogue's Chinese category names
    assert "影音" in page.locator("#similar .card .reason").first.inner_text()
    shot(page, "13-chinese-product")
    page.goto(url + "/#/")
    page.wait_for_selector("#shelf .card .reason")
    assert page.inner_text("#shelf-title") == "热门商品"
    assert all(r.endswith("类近期热门") for r in page.locator("#shelf .card .reason").all_inner_texts())
    # attribute names and values for people (the tiny shop's items have no attributes)
    human = page.evaluate(
        "[SMStorefront.humanKey('noise_cancelling'), SMStorefront.humanValue(false), SMStorefront.humanKey('max_load_kg')]"
    )
    assert human == ["降噪", "否", "Max load kg"]
    page.click("#lang")
    assert page.evaluate("[SMStorefront.humanKey('noise_cancelling'), SMStorefront.humanValue('True')]") == [
        "Noise cancelling",
        "Yes",
    ]
    assert not expected_problems(page), page.problems
