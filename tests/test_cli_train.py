"""``shopmind train`` shows each component as it trains and leaves one line per component."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopmind import capabilities
from shopmind.capabilities import Capability


def _component(name: str, calls: list[str]) -> Capability:
    def train(ctx, out_dir: Path) -> dict:
        calls.append(name)
        ctx.progress(f"{name}: step one")
        ctx.progress(f"{name}: step two")
        out_dir.mkdir(parents=True)
        (out_dir / "state.json").write_text("{}")
        return {"n": len(calls)}

    return Capability(name, train, object)  # type: ignore[arg-type]  # never served here


def test_train_prints_one_line_per_component(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from shopmind.cli import app

    calls: list[str] = []
    monkeypatch.setattr(capabilities, "CAPABILITIES", {n: _component(n, calls) for n in ("alpha", "beta")})
    monkeypatch.setenv("SHOPMIND_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["--store", f"sqlite:///{tmp_path / 'shop.db'}", "train"])
    assert result.exit_code == 0, result.output
    assert calls == ["alpha", "beta"]
    done = [line for line in result.output.splitlines() if line.startswith("✓")]
    assert len(done) == 2, result.output
    assert done[0].split()[1] == "alpha" and "alpha: step two" in done[0]
    assert done[1].split()[1] == "beta" and "beta: step two" in done[1]
