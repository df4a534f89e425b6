"""Training you can watch: the progress interface (``capability.TrainProgress``), what each component
reports (counts reaching their totals), the CLI's bars and ``GET /admin/training``'s per-component
progress, in this worker and in another one (through the store)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from apishop import FAST_COMPONENTS, auth, seeded_engine
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shopmind import capabilities
from shopmind.api import create_app
from shopmind.api.auth import ensure_demo_keys
from shopmind.assistant.intents import IntentConfig
from shopmind.assistant.service import train_assistant
from shopmind.capabilities import Capability
from shopmind.capability import ProgressBoard, TrainContext, TrainProgress
from shopmind.engine import Engine
from shopmind.pipeline import train_all


class Recorder(TrainProgress):
    """Every call, in order: ("begin", name), ("count", name, done, total, unit), ("end", name, ok)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.current = ""

    def plan(self, components: Any) -> None:
        self.calls.append(("plan", tuple(components)))

    def begin(self, component: str) -> None:
        self.current = component
        self.calls.append(("begin", component))

    def count(self, done: int, total: int | None = None, unit: str = "") -> None:
        self.calls.append(("count", self.current, done, total, unit))

    def end(self, component: str, ok: bool = True) -> None:
        self.calls.append(("end", component, ok))

    def counts(self, component: str) -> list[tuple[int, int | None, str]]:
        return [c[2:] for c in self.calls if c[0] == "count" and c[1] == component]


def test_board_counts_phases_and_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr("shopmind.capability.time.monotonic", lambda: now[0])
    changes: list[int] = []
    board = ProgressBoard(on_change=lambda: changes.append(1))
    board.plan(["search", "forecast"])
    assert [c["state"] for c in board.snapshot()] == ["pending", "pending"]
    board.begin("search")
    board.count(0, 100, "products embedded")
    now[0] += 10
    board.count(25, 100, "products embedded")  # 25 in 10 s: 75 left take 30 s
    search = board.snapshot()[0]
    assert (search["state"], search["done"], search["total"], search["eta_s"]) == ("running", 25, 100, 30.0)
    board("embedding")  # a message belongs to the running component
    assert board.snapshot()[0]["message"] == "embedding"
    now[0] += 5
    board.count(3, 10, "batches")  # a new phase: the rate is measured from here on
    assert board.snapshot()[0]["eta_s"] is None
    now[0] += 3
    board.count(6, 10, "batches")
    assert board.snapshot()[0]["eta_s"] == 4.0
    board.count(12, 10, "batches")  # clipped to the total
    assert (board.snapshot()[0]["done"], board.snapshot()[0]["eta_s"]) == (10, 0.0)
    board.end("search")
    board.begin("forecast")
    board.end("forecast", ok=False)
    final = board.snapshot()
    assert [c["state"] for c in final] == ["succeeded", "failed"]
    assert final[0]["seconds"] == 18.0 and len(changes) >= 8


def test_a_plain_callable_still_gets_the_messages() -> None:
    seen: list[str] = []
    ctx = TrainContext(store=None, settings=None, progress=seen.append)  # type: ignore[arg-type]
    ctx.progress("step")
    ctx.progress.count(1, 2, "things")  # counts are dropped, not an error
    assert seen == ["step"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Recorder, Engine]]:
    """The tiny shop trained once through the pipeline with a recording progress (fast components)."""
    engine = seeded_engine(tmp_path_factory.mktemp("progress"))
    settings = engine.settings.model_copy(
        update={"training": engine.settings.training.model_copy(update={"tune_budget_s": 5.0})}
    )
    recorder = Recorder()
    train_all(TrainContext(engine.store, settings, progress=recorder), engine.artifacts, FAST_COMPONENTS)
    yield recorder, engine
    engine.close()


@pytest.mark.parametrize(
    ("component", "units"),
    [
        ("recommend", ["candidates", "models"]),
        ("search", ["products embedded"]),
        ("forecast", ["series"]),
    ],
)
def test_each_component_counts_its_steps_to_the_total(
    recorded: tuple[Recorder, Engine], component: str, units: list[str]
) -> None:
    recorder, engine = recorded
    counts = recorder.counts(component)
    assert [u for u in dict.fromkeys(c[2] for c in counts)] == units, counts
    for unit in units:
        phase = [(done, total) for done, total, u in counts if u == unit]
        assert len(phase) >= 2 and phase[0][0] < phase[-1][0], phase  # it advances ...
        assert phase[-1][0] == phase[-1][1] and phase[-1][1] > 0, phase  # ... to its total
    assert ("begin", component) in recorder.calls and ("end", component, True) in recorder.calls
    if component == "search":  # every product of the catalogue gets a vector
        assert counts[-1][1] == engine.store.count_items()


def test_the_assistant_counts_its_three_models(tmp_path: Path) -> None:
    engine = seeded_engine(tmp_path)
    seen: list[tuple[int, int]] = []
    try:
        train_assistant(
            engine.store,
            tmp_path / "assistant",
            intent_config=IntentConfig(model="tfidf"),  # the sentence-encoder variant takes a minute
            progress=lambda done, total: seen.append((done, total)),
        )
    finally:
        engine.close()
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]


def _counting(name: str, steps: int, gate: threading.Event | None = None) -> Capability:
    def train(ctx: Any, out_dir: Path) -> dict[str, Any]:
        for i in range(steps + 1):
            ctx.progress(f"{name}: step {i}")
            ctx.progress.count(i, steps, "things")
            if gate is not None and i == 2:
                gate.wait(60)
        out_dir.mkdir(parents=True)
        (out_dir / "state.json").write_text("{}")
        return {}

    return Capability(name, train, object)  # type: ignore[arg-type]  # never served here


def test_the_cli_shows_counts_per_component(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from shopmind.cli import app

    monkeypatch.setattr(
        capabilities, "CAPABILITIES", {n: _counting(n, k) for n, k in (("alpha", 3), ("beta", 5))}
    )
    monkeypatch.setenv("SHOPMIND_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["--store", f"sqlite:///{tmp_path / 'shop.db'}", "train"])
    assert result.exit_code == 0, result.output
    done = [line for line in result.output.splitlines() if line.startswith("✓")]
    assert len(done) == 2, result.output
    assert done[0].split()[1] == "alpha" and "3/3 things" in done[0] and "alpha: step 3" in done[0]
    assert done[1].split()[1] == "beta" and "5/5 things" in done[1]


def test_admin_training_reports_component_progress_live_and_in_other_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a component waits half-way, ``GET /admin/training`` on this worker and on another one
    (another engine on the store) shows it running at 2 of 4 and the next component pending; at the
    end every component has done == total."""
    gate = threading.Event()
    forecast = capabilities.CAPABILITIES["forecast"]
    real = forecast.train

    def slow_forecast(ctx: Any, out_dir: Path) -> dict[str, Any]:
        for i in range(3):
            ctx.progress.count(i, 4, "series")
        gate.wait(60)
        return real(ctx, out_dir)  # then the real training, which counts its own series

    registry = dict(capabilities.CAPABILITIES)
    registry["forecast"] = replace(forecast, train=slow_forecast)
    monkeypatch.setattr(capabilities, "CAPABILITIES", registry)
    engine = seeded_engine(tmp_path)
    other = Engine.open(engine.settings)
    keys = ensure_demo_keys(engine.store)
    h = auth(keys["admin"])
    try:
        with (
            TestClient(create_app(engine, watch_interval_s=None)) as a,
            TestClient(create_app(other, watch_interval_s=None)) as b,
        ):
            started = a.post("/admin/train", json={"components": ["search", "forecast"]}, headers=h)
            assert started.status_code == 202
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                steps = {
                    c["name"]: c for c in b.get("/admin/training", headers=h).json()["component_progress"]
                }
                if steps.get("forecast", {}).get("done") == 2:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"no progress seen by the other worker: {steps}")
            assert (
                steps["search"]["state"] == "succeeded"
                and steps["search"]["done"] == steps["search"]["total"]
            )
            assert (steps["forecast"]["state"], steps["forecast"]["total"], steps["forecast"]["unit"]) == (
                "running",
                4,
                "series",
            )
            here = a.get("/admin/training", headers=h).json()
            assert here["state"] == "running" and [c["name"] for c in here["component_progress"]] == [
                "search",
                "forecast",
            ]
            assert set(here["component_progress"][0]) >= {
                "done",
                "total",
                "unit",
                "eta_s",
                "state",
                "seconds",
            }
            gate.set()
            while a.get("/admin/training", headers=h).json()["state"] == "running":
                assert time.monotonic() < deadline, "training did not finish"
                time.sleep(0.2)
            for client in (a, b):
                final = client.get("/admin/training", headers=h).json()
                assert final["state"] == "succeeded", final
                for c in final["component_progress"]:
                    assert c["state"] == "succeeded" and c["done"] == c["total"] and c["eta_s"] == 0.0, c
    finally:
        gate.set()
        other.close()
        engine.close()
