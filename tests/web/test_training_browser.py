"""The dashboard's next scheduled retraining and its live per-component training progress, in real
headless Chromium (English and Chinese)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from webshop import open_dashboard, shot

from shopmind import capabilities
from shopmind.cron import CronSchedule
from shopmind.scheduler import TrainingScheduler

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def test_next_retraining_and_live_progress(
    page: Any, live_shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = live_shop["engine"]
    # the served engine gets a schedule (its thread is not started: the clock is fixed)
    monkeypatch.setattr(
        engine,
        "scheduler",
        TrainingScheduler(
            CronSchedule("0 3 * * *", "UTC"),
            engine.store,
            engine.settings,
            lambda: str(engine.start_training().run_id),
            clock=lambda: NOW,
        ),
    )
    # the forecast component stops half-way (2 of 4 series) until the page has shown it
    gate = threading.Event()
    forecast = capabilities.CAPABILITIES["forecast"]
    real = forecast.train

    def slow_forecast(ctx: Any, out_dir: Path) -> dict[str, Any]:
        for i in range(3):
            ctx.progress.count(i, 4, "series")
        ctx.progress("forecast: waiting for the browser")
        gate.wait(90)
        return real(ctx, out_dir)

    registry = dict(capabilities.CAPABILITIES)
    registry["forecast"] = replace(forecast, train=slow_forecast)
    monkeypatch.setattr(capabilities, "CAPABILITIES", registry)
    try:
        open_dashboard(page, live_shop)
        page.wait_for_selector("#next-training[data-next]")
        expected = page.evaluate(
            "(iso) => 'Next retraining: ' + new Date(iso).toLocaleString('en-GB', "
            "{dateStyle: 'medium', timeStyle: 'short'})",
            "2026-03-02T03:00:00+00:00",
        )
        text = page.inner_text("#next-training")
        assert expected in text and "0 3 * * * (UTC)" in text, text
        page.click("#train")
        row = '#training-progress tr[data-component="forecast"][data-done="2"]'
        page.wait_for_selector(row, timeout=120_000)
        search = page.locator('#training-progress tr[data-component="search"]')
        assert search.get_attribute("data-state") == "succeeded"
        assert search.get_attribute("data-done") == search.get_attribute("data-total") != "null"
        forecast_row = page.locator('#training-progress tr[data-component="forecast"]')
        assert "2/4 series" in forecast_row.inner_text() and "running" in forecast_row.inner_text()
        assert page.locator(f"{row} progress").get_attribute("value") == "2"
        assert "Training progress" in page.inner_text("#training-progress")
        shot(page, "40-training-progress")
        page.click("#lang")  # the same panel in Chinese
        page.wait_for_function(
            "document.getElementById('next-training').textContent.includes('下次重新训练')"
        )
        assert "条序列" in forecast_row.inner_text() and "进行中" in forecast_row.inner_text()
        assert "waiting for the browser" not in forecast_row.inner_text()  # English step text: not shown
        assert "需求预测" in forecast_row.inner_text() and "训练进度" in page.inner_text("#training-progress")
        shot(page, "41-training-progress-zh")
        page.click("#lang")
        gate.set()
        page.wait_for_function(
            "() => [...document.querySelectorAll('#training-progress tr[data-component]')]"
            ".every(r => r.dataset.state === 'succeeded' && r.dataset.done === r.dataset.total)",
            timeout=120_000,
        )
        assert "Last training" in page.inner_text("#training-progress")
        shot(page, "42-training-done")
    finally:
        gate.set()
        end = time.monotonic() + 120  # the session's shop is shared: leave it idle
        while engine.training_running and time.monotonic() < end:
            time.sleep(0.1)
    assert not [p for p in page.problems if "503" not in p], page.problems


def test_dashboard_says_when_retraining_is_not_scheduled(page: Any, live_shop: dict[str, Any]) -> None:
    assert live_shop["engine"].scheduler is None
    open_dashboard(page, live_shop)
    page.wait_for_function("document.getElementById('next-training').textContent.includes('not scheduled')")
    page.click("#lang")
    page.wait_for_function(
        "document.getElementById('next-training').textContent.includes('未设置定时重新训练')"
    )
    page.click("#lang")
