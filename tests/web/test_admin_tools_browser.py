"""The dashboard's recommendation preview and synonyms editor in real headless Chromium."""

from __future__ import annotations

from typing import Any

from webshop import shot

from shopmind.search.analyzers import Synonyms


def _open_dashboard(page: Any, live_shop: dict[str, Any], anchor: str) -> None:
    page.goto(live_shop["url"] + "/dashboard#" + anchor)
    page.wait_for_selector("#keybar:not([hidden])")
    page.fill("#key-input", live_shop["keys"]["admin"])
    page.click("#key-save")


def test_recommendation_preview_shows_history_and_reasons(page: Any, live_shop: dict[str, Any]) -> None:
    _open_dashboard(page, live_shop, "preview")
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
        _open_dashboard(page, live_shop, "search-settings")
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
