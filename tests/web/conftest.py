"""Browser fixtures: a tiny trained shop served by uvicorn on a free loopback port, headless Chromium."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from apishop import LiveServer, trained_engine

from shopmind.api import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        if str(item.fspath).startswith(str(Path(__file__).parent)):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import shopmind.pipeline

    # The dashboard's "Train now" trains every component; the assistant's intent model alone takes
    # about a minute on 2 cores, so this session trains without it (its chat is tested in tests/api).
    patch = pytest.MonkeyPatch()
    every = shopmind.pipeline.selected
    patch.setattr(
        shopmind.pipeline,
        "selected",
        lambda names=None: [c for c in every(names) if c.name != "assistant"],
    )
    root = tmp_path_factory.mktemp("webshop")
    engine, keys = trained_engine(root)
    reports = Path(engine.settings.reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "ml100k.json").write_text(
        json.dumps(
            {
                "dataset": "ml-100k",
                "protocol": "ms-recommenders",
                "rows": [
                    {"name": "sar", "metrics": {"map": 0.114, "ndcg@10": 0.394}},
                    {"name": "ease", "metrics": {"map": 0.121, "ndcg@10": 0.41}},
                ],
            }
        )
    )
    # demo sign-in: the customer switcher gets customer tokens (an unbound key alone gets no "for you")
    app = create_app(engine, web_read_key=keys["read"], watch_interval_s=None, demo_sign_in=True)
    with LiveServer(app) as live:
        yield {"url": live.url, "keys": keys, "engine": engine}
    engine.close()
    patch.undo()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser: Chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser: playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, live_shop: dict[str, Any]) -> Iterator[Any]:
    """A fresh page that fails the test on console errors or any request leaving the loopback server."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def check_request(req: Any) -> None:
        if not (req.url.startswith(live_shop["url"]) or req.url.startswith("data:")):
            problems.append(f"external request: {req.url}")

    pg.on("request", check_request)
    pg.problems = problems
    yield pg
    context.close()
