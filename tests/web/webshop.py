"""Helpers of the browser tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def shot(page: Any, name: str, selector: str | None = None) -> None:
    """Save ``test-output/screenshots/<name>.png``: the whole page, or only ``selector``'s element."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = str(SCREENSHOTS / f"{name}.png")
    if selector is None:
        page.screenshot(path=path, full_page=True)
    else:
        # the element cut from a full-page capture taken at the top of the page: an element
        # screenshot scrolls the element into view, under the sticky top bar
        page.evaluate("window.scrollTo(0, 0)")
        box = page.locator(selector).bounding_box()
        page.screenshot(path=path, full_page=True, clip=box)


def open_dashboard(page: Any, live_shop: dict[str, Any], anchor: str = "status") -> None:
    """Open the dashboard at ``#anchor``, entering the admin key unless this tab keeps it already
    (the dashboard keeps it in the tab's session storage)."""
    page.goto(live_shop["url"] + "/dashboard#" + anchor)
    if page.evaluate("SM.adminKey()"):
        return
    page.wait_for_selector("#keybar:not([hidden])")
    page.fill("#key-input", live_shop["keys"]["admin"])
    page.click("#key-save")


def result_ids(page: Any) -> list[str]:
    """The item ids of the storefront's search results, in the order shown."""
    return list(page.locator("#results .result").evaluate_all("els => els.map(e => e.dataset.itemId)"))
