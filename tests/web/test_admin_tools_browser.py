"""The dashboard's recommendation preview and search settings (synonyms, pinned and hidden results,
field weights) in real headless Chromium, each checked in the live search and the storefront."""

from __future__ import annotations

from typing import Any

from webshop import open_dashboard, shot

from shopmind.search.analyzers import Synonyms


def test_recommendation_preview_shows_history_and_reasons(page: Any, live_shop: dict[str, Any]) -> None:
    open_dashboard(page, live_shop, "preview")
    page.fill("#preview-user", "u1")
    page.click("#preview-form button[type=submit]")
    page.wait_for_selector("#preview-history table")
    page.wait_for_selector("#preview-recs table")
    history = page.locator("#preview-history tbody tr")
    # u1 (apishop.events_for): bought sku-1, then viewed sku-4, sku-7, sku-10 — newest first
    assert history.count() == 4
    assert "Viewed" in history.first.inner_text() and "Smartphone case model 10" in history.first.inner_text()
    assert "Bought" in history.last.inner_text() and "Smartphone case model 1" in history.last.inner_text()
    recs = page.locator("#preview-recs tbody tr")
    assert recs.count() >= 1
    reasons = recs.evaluate_all("rows => rows.map(r => r.cells[3].textContent)")
    assert all(reasons), reasons
    shot(page, "20-recommendation-preview")
    page.click("#lang")
    page.click("#preview-form button[type=submit]")
    page.wait_for_function("document.getElementById('preview-history').textContent.includes('浏览')")
    assert "最近行为" in page.inner_text("#preview")
    # every reason in Chinese too, phrased from the structured explanation (no English left)
    zh = recs.evaluate_all("rows => rows.map(r => r.cells[3].textContent)")
    assert len(zh) == len(reasons) and all(zh), zh
    assert not [
        r for r in zh if any(w in r for w in ("because", "similar", "popular", "trending", "matches"))
    ], zh
    page.click("#lang")
    assert not page.problems, page.problems
    page.fill("#preview-user", "nobody")  # an unknown customer: the history says so (404)
    page.click("#preview-form button[type=submit]")
    page.wait_for_selector("#preview-history .error")
    assert "unknown user" in page.inner_text("#preview-history")
    assert not [p for p in page.problems if "404" not in p], page.problems


def test_synonym_edited_in_dashboard_applies_to_search(page: Any, live_shop: dict[str, Any]) -> None:
    engine = live_shop["engine"]
    try:
        assert engine.search("zorblax", mode="bm25", log=False).total == 0
        open_dashboard(page, live_shop, "search-settings")
        page.wait_for_selector("#synonyms-text:enabled")  # loaded: typing earlier would be overwritten
        page.fill("#synonyms-text", "zorblax, headphones\nphone => smartphone")
        page.click("#synonyms-save")
        page.wait_for_selector('#synonyms-message[data-applied="live"]')
        assert "the search uses them now" in page.inner_text("#synonyms-message")
        shot(page, "21-synonym-editor")
        assert engine.search_synonyms() == {
            "groups": [["zorblax", "headphones"]],
            "one_way": {"phone": ["smartphone"]},
        }
        hits = engine.search("zorblax", mode="bm25", log=False)
        assert hits.total == 4 and all(h.title.startswith("Wireless headphones") for h in hits.hits)
        # the storefront's search (the trained mode) finds them too
        page.goto(live_shop["url"] + "/#/search?q=zorblax")
        page.wait_for_function("document.body.textContent.includes('Wireless headphones')")
        shot(page, "22-synonym-in-storefront")
        # a bad line is refused with the API's message, and nothing changes
        page.goto(live_shop["url"] + "/dashboard#search-settings")  # the key is kept in this tab
        page.wait_for_selector("#synonyms-text:enabled")
        assert "zorblax" in page.input_value("#synonyms-text")
        page.fill("#synonyms-text", "lonely")
        page.click("#synonyms-save")
        page.wait_for_selector("#synonyms-message.error")
        assert engine.search_synonyms()["groups"] == [["zorblax", "headphones"]]
    finally:
        engine.set_search_synonyms(Synonyms())  # the session's shop is shared with the other browser tests
    # a 422 is logged by Chromium as a failed resource load; anything else is a problem
    assert not [p for p in page.problems if "422" not in p], page.problems


def _storefront_ids(page: Any, live_shop: dict[str, Any], query: str) -> list[str]:
    page.goto(live_shop["url"] + "/#/search?q=" + query)
    page.wait_for_function(
        "document.querySelectorAll('#results .result').length > 0 || !document.getElementById('no-results').hidden"
    )
    return list(page.locator("#results .result").evaluate_all("els => els.map(e => e.dataset.itemId)"))


def test_pinned_result_edited_in_dashboard_comes_first_in_storefront(
    page: Any, live_shop: dict[str, Any]
) -> None:
    engine = live_shop["engine"]
    try:
        before = _storefront_ids(page, live_shop, "coffee%20grinder")
        assert before[0] != "sku-1" and "sku-2" in before  # grinders: sku-2, 5, 8, 11
        open_dashboard(page, live_shop, "search-settings")
        page.wait_for_selector("#rules-add:enabled")  # loaded: rows typed earlier would be replaced
        page.click("#rules-add")
        row = page.locator("#rules-body tr").last
        row.locator(".rule-query").fill("Coffee  Grinder")
        row.locator(".rule-pin").fill("sku-1")
        row.locator(".rule-hide").fill("sku-2")
        page.click("#rules-save")
        page.wait_for_selector('#rules-message[data-applied="live"]')
        assert "the search uses them now" in page.inner_text("#rules-message")
        # the table shows the rule as saved: the query normalised
        assert page.locator("#rules-body .rule-query").first.input_value() == "coffee grinder"
        assert engine.search_rules() == [
            {"query": "coffee grinder", "match": "exact", "pin": [{"id": "sku-1", "position": 1}],
             "hide": ["sku-2"], "boost": [], "bury": []}
        ]  # fmt: skip
        shot(page, "23-pinned-result-editor")
        after = _storefront_ids(page, live_shop, "COFFEE%20grinder")
        assert after[0] == "sku-1" and "sku-2" not in after
        assert "Smartphone case model 1" in page.locator("#results .result-title").first.inner_text()
        shot(page, "24-pinned-result-in-storefront")
        # an unknown id is refused with the API's message naming it, and nothing changes
        page.goto(live_shop["url"] + "/dashboard#search-settings")  # the key is kept in this tab
        page.wait_for_selector("#rules-save:enabled")
        page.locator("#rules-body .rule-pin").first.fill("sku-1, sku-404@3")
        page.click("#rules-save")
        page.wait_for_selector("#rules-message.error")
        assert "sku-404" in page.inner_text("#rules-message")
        assert engine.search_rules()[0]["pin"] == [{"id": "sku-1", "position": 1}]
        # the Chinese interface labels the editor in Chinese
        page.click("#lang")
        page.wait_for_selector("#rules-save:enabled")
        panel = page.inner_text("#search-settings")
        for zh in ("置顶和隐藏的结果", "搜索词", "完全一致", "字段权重", "标题", "恢复配置文件中的权重"):
            assert zh in panel, zh
        for en in ("Pinned", "Hidden ids", "Field weights", "Description"):
            assert en not in panel, en
        page.click("#lang")
    finally:
        engine.set_search_rules([])  # the session's shop is shared with the other browser tests
    assert not [p for p in page.problems if "422" not in p], page.problems


def test_field_weight_edited_in_dashboard_changes_search(page: Any, live_shop: dict[str, Any]) -> None:
    engine = live_shop["engine"]
    try:
        # "fine" is only in descriptions ("A fine product number i"): all 12 products
        assert len(_storefront_ids(page, live_shop, "fine")) == 12
        open_dashboard(page, live_shop, "search-settings")
        page.wait_for_selector("#field-description:enabled")
        assert page.input_value("#field-description") == "0.5"
        assert "shopmind.toml" in page.inner_text("#fields-source")
        page.fill("#field-description", "0")
        page.click("#fields-save")
        page.wait_for_selector('#fields-message[data-applied="live"]')
        assert "uses these weights now" in page.inner_text("#fields-message")
        assert "Set here" in page.inner_text("#fields-source")
        assert engine.search_fields()["weights"]["description"] == 0
        shot(page, "25-field-weights-editor")
        assert _storefront_ids(page, live_shop, "fine") == []  # descriptions are no longer searched
        assert not page.locator("#no-results").is_hidden()
        # back to the configuration's weights
        page.goto(live_shop["url"] + "/dashboard#search-settings")  # the key is kept in this tab
        page.wait_for_selector("#fields-reset:enabled")
        page.fill("#field-title", "11")  # out of range: refused, nothing saved
        page.click("#fields-save")
        page.wait_for_selector("#fields-message.error")
        assert engine.search_fields()["weights"]["title"] == 3
        page.click("#fields-reset")
        page.wait_for_function("document.getElementById('field-description').value === '0.5'")
        assert engine.search_fields()["source"] == "config"
        assert len(_storefront_ids(page, live_shop, "fine")) > 0
    finally:
        engine.set_search_fields(None)
    assert not [p for p in page.problems if "422" not in p], page.problems
