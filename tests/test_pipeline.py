"""The training pipeline: complete runs, partial retraining carries the rest over, failures publish nothing."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from shopmind import pipeline
from shopmind.capability import TrainContext
from shopmind.config import Settings
from shopmind.store.artifacts import ArtifactStore


def _component(name: str, calls: list[str], fail: bool = False) -> types.ModuleType:
    mod = types.ModuleType(f"fake_{name}")
    mod.NAME = name  # type: ignore[attr-defined]

    def train(ctx, out_dir: Path) -> dict:
        calls.append(name)
        if fail:
            raise RuntimeError(f"{name} broke")
        out_dir.mkdir(parents=True)
        (out_dir / "state.json").write_text(f'{{"trained": {len(calls)}}}')
        return {"n": len(calls)}

    mod.train = train  # type: ignore[attr-defined]
    return mod


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    mods = {"a": _component("a", calls), "b": _component("b", calls)}
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, f"fake_{name}", mod)
    monkeypatch.setattr(pipeline, "COMPONENTS", ("fake_a", "fake_b"))
    return calls


def _ctx() -> TrainContext:
    return TrainContext(store=None, settings=Settings())  # type: ignore[arg-type]


def test_partial_training_carries_other_components_over(tmp_path: Path, fakes: list[str]) -> None:
    artifacts = ArtifactStore(tmp_path)
    first = pipeline.train_all(_ctx(), artifacts)
    assert fakes == ["a", "b"]
    second = pipeline.train_all(_ctx(), artifacts, components=["b"])
    assert fakes == ["a", "b", "b"]
    run = artifacts.current()
    assert run is not None and run.id == second
    manifest = run.manifest()
    assert manifest["components"]["a"]["carried_from"] == first
    assert "carried_from" not in manifest["components"]["b"]
    assert (run.path / "a" / "state.json").read_text() == '{"trained": 1}'
    assert (run.path / "b" / "state.json").read_text() == '{"trained": 3}'


def test_failed_component_leaves_current_untouched(tmp_path: Path, fakes: list[str], monkeypatch) -> None:
    artifacts = ArtifactStore(tmp_path)
    good = pipeline.train_all(_ctx(), artifacts)
    monkeypatch.setitem(sys.modules, "fake_b", _component("b", fakes, fail=True))
    with pytest.raises(RuntimeError, match="b broke"):
        pipeline.train_all(_ctx(), artifacts)
    current = artifacts.current()
    assert current is not None and current.id == good
    failed = artifacts.runs()[0]
    assert failed["status"] == "failed" and "b broke" in failed["error"]
