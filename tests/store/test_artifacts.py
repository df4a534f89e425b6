"""ArtifactStore: run directories, atomic publish, fail, rollback, JSON helpers (no pickle)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from shopmind.errors import ArtifactError
from shopmind.store.artifacts import ArtifactStore, load_json, save_json


def test_publish_fail_rollback(tmp_path: Path) -> None:
    art = ArtifactStore(tmp_path / "artifacts")
    assert art.current() is None and art.runs() == []
    with pytest.raises(ArtifactError, match="nothing to roll back"):
        art.rollback()

    r1 = art.new_run()
    assert r1.path == tmp_path / "artifacts" / "runs" / r1.id and r1.path.is_dir()
    assert r1.manifest()["status"] == "running"
    np.save(r1.path / "vectors.npy", np.arange(3))
    art.publish(r1, {"components": {"recommend": {"seconds": 1.5}}})
    assert art.current() == r1
    assert os.path.islink(tmp_path / "artifacts" / "current")
    m = r1.manifest()
    assert m["status"] == "ok" and m["components"]["recommend"]["seconds"] == 1.5 and "created_at" in m

    r2 = art.new_run()
    art.fail(r2, "ValueError: boom")
    assert art.current() == r1  # a failed run never becomes current
    assert r2.manifest()["status"] == "failed" and r2.manifest()["error"] == "ValueError: boom"
    with pytest.raises(ArtifactError, match="only successful runs"):
        art.activate(r2.id)

    r3 = art.new_run()
    art.publish(r3, {})
    assert art.current() == r3
    assert r1.id < r2.id < r3.id  # ids sort by creation time
    listing = art.runs()
    assert [r["id"] for r in listing] == [r3.id, r2.id, r1.id]
    assert [r["status"] for r in listing] == ["ok", "failed", "ok"]
    assert [r["current"] for r in listing] == [True, False, False]

    assert art.rollback() == r1  # skips the failed run
    assert art.current() == r1
    with pytest.raises(ArtifactError, match="no earlier successful run"):
        art.rollback()
    assert art.activate(r3.id) == r3
    with pytest.raises(ArtifactError, match="no such run"):
        art.activate("20000101T000000.000000-ffffff")
    with pytest.raises(ArtifactError, match="invalid run id"):
        art.run("../etc")
    # no temp links are left behind by the atomic switch
    assert not [p for p in (tmp_path / "artifacts").iterdir() if p.name.startswith(".current")]


def test_current_survives_moving_the_folder(tmp_path: Path) -> None:
    art = ArtifactStore(tmp_path / "a")
    run = art.new_run()
    art.publish(run, {})
    (tmp_path / "a").rename(tmp_path / "b")
    moved = ArtifactStore(tmp_path / "b").current()
    assert moved is not None and moved.id == run.id and moved.path.is_dir()


def test_prune_keeps_current_and_newest(tmp_path: Path) -> None:
    art = ArtifactStore(tmp_path)
    runs = [art.new_run() for _ in range(4)]
    for r in runs:
        art.publish(r, {})
    art.activate(runs[0].id)
    removed = art.prune(keep=2)
    assert set(removed) == {runs[1].id}
    assert {r["id"] for r in art.runs()} == {runs[0].id, runs[2].id, runs[3].id}


def test_train_all_integration(tmp_path: Path) -> None:
    """``pipeline.train_all`` publishes on success and marks the run failed on error."""
    from types import SimpleNamespace

    from shopmind import pipeline

    art = ArtifactStore(tmp_path)

    def ok(ctx, out: Path) -> dict:
        save_json(out / "model.json", {"k": np.int64(3)})
        return {"n": 1}

    def boom(ctx, out: Path) -> dict:
        raise RuntimeError("bad data")

    orig = pipeline.available_components
    try:
        pipeline.available_components = lambda names=None: [SimpleNamespace(NAME="demo", train=ok)]
        run_id = pipeline.train_all(SimpleNamespace(progress=lambda m: None), art)
        assert art.current().id == run_id
        assert art.current().manifest()["components"]["demo"]["n"] == 1
        assert load_json(art.current().path / "demo" / "model.json") == {"k": 3}
        pipeline.available_components = lambda names=None: [SimpleNamespace(NAME="demo", train=boom)]
        with pytest.raises(RuntimeError):
            pipeline.train_all(SimpleNamespace(progress=lambda m: None), art)
        assert art.current().id == run_id
        assert art.runs()[0]["status"] == "failed" and "bad data" in art.runs()[0]["error"]
    finally:
        pipeline.available_components = orig


def test_json_helpers(tmp_path: Path) -> None:
    p = save_json(tmp_path / "x" / "m.json", {"a": np.float32(0.5), "b": np.arange(2), "c": {"d"}})
    assert load_json(p) == {"a": 0.5, "b": [0, 1], "c": ["d"]}
    with pytest.raises(ArtifactError, match="missing"):
        load_json(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(ArtifactError, match="corrupt JSON at line 1"):
        load_json(tmp_path / "bad.json")
    with pytest.raises(ArtifactError, match="cannot write JSON"):
        save_json(tmp_path / "nan.json", {"x": float("nan")})
    with pytest.raises(ArtifactError):
        save_json(tmp_path / "obj.json", {"x": object()})
    assert not list(tmp_path.glob(".*.tmp"))
