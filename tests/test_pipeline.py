"""The training pipeline: complete runs, partial retraining carries the rest over, failures publish nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopmind import capabilities, pipeline
from shopmind.capabilities import Capability
from shopmind.capability import TrainContext
from shopmind.config import Settings
from shopmind.errors import ConfigError
from shopmind.store.artifacts import ArtifactStore


def _component(name: str, calls: list[str], fail: bool = False) -> Capability:
    def train(ctx, out_dir: Path) -> dict:
        calls.append(name)
        if fail:
            raise RuntimeError(f"{name} broke")
        out_dir.mkdir(parents=True)
        (out_dir / "state.json").write_text(f'{{"trained": {len(calls)}}}')
        return {"n": len(calls)}

    return Capability(name, train, object)  # type: ignore[arg-type]  # never served here


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    monkeypatch.setattr(capabilities, "CAPABILITIES", {n: _component(n, calls) for n in ("a", "b")})
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
    monkeypatch.setitem(capabilities.CAPABILITIES, "b", _component("b", fakes, fail=True))
    with pytest.raises(RuntimeError, match="b broke"):
        pipeline.train_all(_ctx(), artifacts)
    current = artifacts.current()
    assert current is not None and current.id == good
    failed = artifacts.runs()[0]
    assert failed["status"] == "failed" and "b broke" in failed["error"]


def test_unknown_component_is_refused_before_a_run_is_created(tmp_path: Path, fakes: list[str]) -> None:
    artifacts = ArtifactStore(tmp_path)
    with pytest.raises(ConfigError, match="unknown components") as info:
        pipeline.train_all(_ctx(), artifacts, components=["a", "nope"])
    assert info.value.value == ["nope"] and info.value.expected == "a | b"
    assert fakes == [] and artifacts.runs() == []


def test_the_registry_lists_every_capability_with_its_service_in_load_order() -> None:
    from shopmind.capability import CapabilityService
    from shopmind.engine import Engine

    assert list(capabilities.CAPABILITIES) == ["recommend", "search", "assistant", "forecast"]
    for name, cap in capabilities.CAPABILITIES.items():
        assert cap.name == name and callable(cap.train)
        assert isinstance(cap.service.load, type(CapabilityService.load))
    assert [c.name for c in pipeline.selected(["forecast", "recommend"])] == ["recommend", "forecast"]
    assert Engine.__init__ is not None  # the engine imports the same registry (no module paths)
