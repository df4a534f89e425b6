"""End to end through the CLI, as a newcomer runs it: ``shopmind demo --no-serve`` on the tiny shop,
then the read commands against what it trained."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SHOPMIND = [sys.executable, "-m", "shopmind.cli"]


def _run(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [*SHOPMIND, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    done = _run(["demo", "--size", "tiny", "--no-serve"], root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "demo pipeline finished" in done.stdout
    return root


@pytest.mark.slow
def test_demo_trains_every_component_and_publishes(demo_dir: Path) -> None:
    current = demo_dir / "var" / "artifacts" / "current"
    assert current.is_symlink()
    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert {"recommend", "search", "assistant", "forecast"} <= set(manifest["components"])
    quality = json.loads((demo_dir / "var" / "reports" / "quality.json").read_text())
    assert quality["counts"]["items"] > 0


@pytest.mark.slow
def test_read_commands_answer_from_the_trained_shop(demo_dir: Path) -> None:
    items = [
        json.loads(line) for line in (demo_dir / "var" / "demo-data" / "items.jsonl").read_text().splitlines()
    ]
    users = [
        json.loads(line) for line in (demo_dir / "var" / "demo-data" / "users.jsonl").read_text().splitlines()
    ]
    recs = _run(["recommend", "--user", users[0]["id"], "--k", "5"], demo_dir)
    assert recs.returncode == 0, recs.stderr
    assert any(item["id"] in recs.stdout for item in items)
    found = _run(["search", items[0]["title"].split()[0], "--k", "5"], demo_dir)
    assert found.returncode == 0, found.stderr
    assert any(item["id"] in found.stdout for item in items)
    bad = _run(["recommend", "--similar", "no-such-item"], demo_dir)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
