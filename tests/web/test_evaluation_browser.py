"""The dashboard's evaluation screen in real headless Chromium: run, progress, chart and table."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from webshop import SCREENSHOTS, shot

from shopmind.evaluate.shop import REPORTS_SUBDIR


def test_evaluation_screen_runs_and_plots_model_vs_baseline(page: Any, live_shop: dict[str, Any]) -> None:
    engine = live_shop["engine"]
    runs = Path(engine.settings.reports_dir) / REPORTS_SUBDIR
    try:
        page.goto(live_shop["url"] + "/dashboard#evaluation")
        page.wait_for_selector("#keybar:not([hidden])")
        page.fill("#key-input", live_shop["keys"]["admin"])
        page.click("#key-save")
        page.wait_for_function(
            "document.getElementById('eval-result').textContent.includes('No evaluation yet')"
        )
        page.click("#eval-run")
        page.wait_for_selector("#eval-result .eval-task[data-task=recommend] svg.chart", timeout=60_000)
        page.wait_for_selector("#eval-run:enabled")
        assert page.get_attribute("#eval-state", "data-state") == "succeeded"

        rec = page.locator("#eval-result .eval-task[data-task=recommend]")
        serving = engine.bundle.get("recommend").default
        # the table: the serving model first, the popularity baseline last, every metric as a number
        assert rec.locator("tbody tr").first.get_attribute("data-role") == "serving"
        assert rec.locator("tbody tr").first.get_attribute("data-model") == serving
        assert rec.locator("tbody tr").last.get_attribute("data-model") == "popularity"
        headers = rec.locator("thead th").all_inner_texts()
        assert headers[:4] == ["Model", "Role", "nDCG@10", "Precision@10"] and "Coverage" in headers
        first = rec.locator("tbody tr").first.locator("td").all_inner_texts()
        assert all(c.replace(".", "", 1).isdigit() for c in first[2:9]), first
        # the chart: every metric, serving model beside the baseline, values as in the API's result
        result = engine_result(page, live_shop)
        bars = rec.locator("svg.chart rect.bar")
        metrics = result["recommend"]["rows"][0]["metrics"]
        assert bars.count() == 2 * len(metrics)
        labels = rec.locator("svg.chart text.chart-label").all_text_contents()
        assert labels[:2] == ["nDCG@10 · serving", "nDCG@10 · baseline"]
        values = rec.locator("svg.chart text.chart-value").all_text_contents()
        assert values[0] == f"{metrics['ndcg@10']:.4f}"
        assert rec.locator("svg.chart rect.bar-hi").count() == len(metrics)  # the serving bars
        assert "Time cut" in rec.inner_text() and "returning customers scored" in rec.inner_text()

        search = page.locator("#eval-result .eval-task[data-task=search]")
        assert search.locator(".eval-source").get_attribute("data-source") == "catalogue"
        assert "derived from the catalogue" in search.inner_text() and "6 queries" in search.inner_text()
        assert search.locator("tbody tr").all_inner_texts()[1].startswith("BM25 over titles")
        assert search.locator("svg.chart rect.bar").count() == 8  # nDCG, P@10, MRR, zero results × 2
        # the runs are not listed a second time among the other reports below
        assert not page.locator("#reports [data-report^='shop-evaluation/']").count()
        shot(page, "30-evaluation-dashboard")
        page.locator("#evaluation").screenshot(path=str(SCREENSHOTS / "30-evaluation-screen.png"))

        page.click("#lang")  # Chinese: labels, roles, facts and chart translated
        page.wait_for_function("document.getElementById('eval-result').textContent.includes('当前模型')")
        text = page.inner_text("#evaluation")
        assert "运行评估" in text and "基线" in text and "召回率@10" in text and "时间切分点" in text
        assert "由商品目录生成" in text
        assert not any(w in text for w in ("serving", "baseline", "Time cut", "Recall", "derived")), text
        page.locator("#evaluation").screenshot(path=str(SCREENSHOTS / "31-evaluation-screen-zh.png"))
        page.click("#lang")
        assert not page.problems, page.problems
    finally:
        shutil.rmtree(runs, ignore_errors=True)  # the session's shop is shared with the other browser tests


def engine_result(page: Any, live_shop: dict[str, Any]) -> dict[str, Any]:
    """GET /admin/evaluate's last result, fetched by the page with the admin key it holds."""
    key = live_shop["keys"]["admin"]
    return page.evaluate(
        "async (k) => (await (await fetch('/admin/evaluate', {headers: {Authorization: 'Bearer ' + k}})).json()).result",
        key,
    )


def test_evaluation_progress_is_shown_while_it_runs(
    page: Any, live_shop: dict[str, Any], monkeypatch: Any
) -> None:
    import threading

    import shopmind.evaluate.shop as shop_eval

    release, entered = threading.Event(), threading.Event()

    def slow(store: Any, services: Any, settings: Any, limits: Any, progress: Any) -> dict[str, Any]:
        progress("rec_fit", 0.25, {"model": "item_knn", "events": 1234})
        entered.set()
        release.wait(30)
        return {
            "recommend": {"skipped": "no_holdout", "error": "x"},
            "search": {"skipped": "no_model", "error": "y"},
        }

    monkeypatch.setattr(shop_eval, "evaluate_shop", slow)  # the live server runs in this process
    runs = Path(live_shop["engine"].settings.reports_dir) / REPORTS_SUBDIR
    try:
        page.goto(live_shop["url"] + "/dashboard#evaluation")
        page.wait_for_selector("#keybar:not([hidden])")
        page.fill("#key-input", live_shop["keys"]["admin"])
        page.click("#key-save")
        page.wait_for_selector("#eval-run:enabled")
        page.click("#eval-run")
        assert entered.wait(15)
        page.wait_for_selector("#eval-progress:not([hidden])")
        page.wait_for_function("document.getElementById('eval-state').textContent.includes('Item kNN')")
        assert (
            page.inner_text("#eval-state")
            == "Evaluating… Fitting Item kNN on 1,234 events before the cut (25 %)"
        )
        assert page.get_attribute("#eval-progress", "value") == "0.25"
        assert page.is_disabled("#eval-run")
        release.set()
        page.wait_for_selector("#eval-progress[hidden]", state="attached")
        page.wait_for_selector("#eval-run:enabled")
        # parts that could not run say why, in words
        assert "no customer came back after the time cut" in page.inner_text("#eval-result")
        assert "no model of this kind is serving" in page.inner_text("#eval-result")
        assert not page.locator("#eval-result svg.chart").count()
        assert not page.problems, page.problems
    finally:
        release.set()
        shutil.rmtree(runs, ignore_errors=True)
