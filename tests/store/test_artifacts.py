"""ArtifactStore: run directories, atomic publish, fail, rollback, JSON helpers (no pickle)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shopmind import capabilities
from shopmind.capabilities import Capability
from shopmind.capability import TrainContext
from shopmind.config import ArtifactSettings, Settings
from shopmind.errors import ArtifactError, DataError
from shopmind.store.artifacts import (
    ArtifactIntegrityError,
    ArtifactStore,
    Run,
    load_json,
    owner_alive,
    process_identity,
    save_json,
)


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
    from shopmind import pipeline

    art = ArtifactStore(tmp_path)

    def ok(ctx, out: Path) -> dict:
        save_json(out / "model.json", {"k": np.int64(3)})
        return {"n": 1}

    def boom(ctx, out: Path) -> dict:
        raise RuntimeError("bad data")

    ctx = TrainContext(store=None, settings=Settings())  # type: ignore[arg-type]  # no store records
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(capabilities, "CAPABILITIES", {"demo": Capability("demo", ok, object)})  # type: ignore[arg-type]
        run_id = pipeline.train_all(ctx, art)
        assert art.current().id == run_id
        assert art.current().manifest()["components"]["demo"]["n"] == 1
        assert load_json(art.current().path / "demo" / "model.json") == {"k": 3}
        patch.setattr(capabilities, "CAPABILITIES", {"demo": Capability("demo", boom, object)})  # type: ignore[arg-type]
        with pytest.raises(RuntimeError):
            pipeline.train_all(ctx, art)
        assert art.current().id == run_id
        assert art.runs()[0]["status"] == "failed" and "bad data" in art.runs()[0]["error"]


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


# ---------------------------------------------------------------------------- integrity (issue 21, finding 7)
def _published(art: ArtifactStore) -> Run:
    run = art.new_run()
    (run.path / "recommend" / "models").mkdir(parents=True)
    np.save(run.path / "recommend" / "vectors.npy", np.arange(100, dtype=np.float32))
    np.savez(run.path / "recommend" / "models" / "state.npz", a=np.eye(4))
    save_json(run.path / "recommend" / "manifest.json", {"n": 3})
    (run.path / "search").mkdir()
    (run.path / "search" / "hnsw.usearch").write_bytes(bytes(range(256)) * 4)
    art.publish(run, {"components": {"recommend": {"seconds": 1.0}, "search": {"seconds": 2.0}}})
    return run


def _flip(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


def test_publish_records_checksums_and_verify_finds_each_kind_of_damage(tmp_path: Path) -> None:
    art = ArtifactStore(tmp_path)
    run = _published(art)
    m = run.manifest()
    assert set(m["files"]) == {
        "recommend/vectors.npy",
        "recommend/models/state.npz",
        "recommend/manifest.json",
        "search/hnsw.usearch",
    }
    assert all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in m["files"].values())
    ok = art.verify(run)
    assert ok.ok and ok.files == 4 and ok.bytes == sum(f["bytes"] for f in m["files"].values())

    for rel in m["files"]:  # one flipped bit in any file is found, and named
        _flip(run.path / rel)
        report = art.verify(run)
        assert set(report.problems) == {rel} and "SHA-256" in report.problems[rel], rel
        _flip(run.path / rel)
    assert art.verify(run).ok

    vec = run.path / "recommend" / "vectors.npy"
    original = vec.read_bytes()
    vec.write_bytes(original[:-4])  # truncated: caught by the size, without hashing
    assert "bytes, expected" in art.verify(run).problems["recommend/vectors.npy"]
    vec.unlink()
    report = art.verify(run)
    assert report.problems == {"recommend/vectors.npy": "missing"}
    assert report.by_component() == {"recommend": ["recommend/vectors.npy: missing"]}
    assert report.restricted_to(["search"]).ok and not report.restricted_to(["recommend"]).ok
    vec.write_bytes(original)
    (run.path / "search" / "extra.npy").write_bytes(b"x")
    assert "unexpected" in art.verify(run).problems["search/extra.npy"]
    (run.path / "search" / "extra.npy").unlink()
    (run.path / "search" / ".tmp-file").write_bytes(b"x")  # hidden temporaries are not artifacts
    assert art.verify(run).ok

    # the manifest is sealed too: an edited value, or bytes that are no JSON any more
    text = run.manifest_path.read_text()
    run.manifest_path.write_text(text.replace('"seconds": 2.0', '"seconds": 3.0'))
    assert "checksum" in art.verify(run).problems["manifest.json"]
    run.manifest_path.write_bytes(text.encode()[:50])
    assert "corrupt JSON" in art.verify(run).problems["manifest.json"]
    run.manifest_path.write_text(text)
    assert art.verify(run).ok
    with pytest.raises(ArtifactIntegrityError, match="integrity check"):
        raise ArtifactIntegrityError(art.verify(Run(run.id, tmp_path / "nowhere")))

    # /admin/models lists runs without hundreds of digests
    listing = art.runs()[0]
    assert "files" not in listing and listing["files_count"] == 4


def test_runs_published_before_checksums_are_reported_unverified(tmp_path: Path) -> None:
    art = ArtifactStore(tmp_path)
    run = art.new_run()
    save_json(run.manifest_path, {"id": run.id, "status": "ok", "format_version": 1})
    report = art.verify(run)
    assert report.ok and report.legacy


def test_fail_deletes_partial_outputs_and_records_on_a_full_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No new file can be written (ENOSPC): the failure is still recorded, in place."""
    import errno

    from shopmind.store import artifacts as mod

    art = ArtifactStore(tmp_path)
    run = art.new_run()
    (run.path / "recommend").mkdir()
    np.save(run.path / "recommend" / "big.npy", np.zeros(10_000))
    size_before = run.manifest_path.stat().st_size

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mod, "save_json", disk_full)
    assert art.fail(run, "OSError: [Errno 28] No space left on device") is True
    info = run.manifest()
    assert info["status"] == "failed" and "No space left" in info["error"]
    assert info["discarded_bytes"] >= 80_000 and not (run.path / "recommend").exists()
    assert run.manifest_path.stat().st_size == size_before  # written over the reserved bytes only
    assert art.runs()[0]["status"] == "failed"


def test_prune_is_the_retention_policy(tmp_path: Path) -> None:
    art = ArtifactStore(tmp_path)
    ok = [_published(art) for _ in range(5)]
    failed = art.new_run()
    art.fail(failed, "boom")
    running = art.new_run()
    art.activate(ok[0].id)  # the served run is old: still never pruned
    removed = art.prune(keep=2, protect=[ok[1].id])
    assert set(removed) == {ok[2].id}
    left = {r["id"] for r in art.runs()}
    assert left == {ok[0].id, ok[1].id, ok[3].id, ok[4].id, failed.id, running.id}
    with pytest.raises(ArtifactError, match="keep must be"):
        art.prune(keep=0)


def test_owner_identity_tells_dead_processes_from_live_ones() -> None:
    import subprocess
    import sys

    me = process_identity()
    assert owner_alive(me) is True
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert owner_alive({**me, "pid": child.pid, "pid_start": None}) is False
    assert owner_alive({**me, "pid_start": (me["pid_start"] or 0) + 1}) is (me["pid_start"] is None)
    assert owner_alive({**me, "host": "another-host"}) is None
    assert owner_alive(None) is None


# ---------------------------------------------------------------------------- crash safety (finding 8)
def _settings(tmp_path: Path, store_url: str, **artifacts: object) -> Settings:
    return Settings(
        store_url=store_url,
        artifacts_dir=tmp_path / "artifacts",
        artifacts=ArtifactSettings(**{"heartbeat_s": 0.05, **artifacts}),
    )


def _registry(monkeypatch: pytest.MonkeyPatch, **components: Callable[[Any, Path], dict[str, Any]]) -> None:
    """Make ``components`` (name → train function) the capabilities the pipeline trains."""
    registry = {name: Capability(name, fn, object) for name, fn in components.items()}  # type: ignore[arg-type]
    monkeypatch.setattr(capabilities, "CAPABILITIES", registry)


def _writes(ctx: Any, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "state.npy", np.arange(1000))
    return {"n": 1}


def test_training_records_on_every_backend(store: Any) -> None:
    """The ``training_runs`` table: add, update, newest first, filtered by state (SQLite + PostgreSQL)."""
    from datetime import UTC, datetime, timedelta

    from shopmind.store.base import TrainingRunRecord

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i, state in enumerate(["succeeded", "failed", "running"]):
        store.add_training_run(
            TrainingRunRecord(
                id=f"run-{i}",
                state=state,
                started_at=t0 + timedelta(minutes=i),
                heartbeat_at=t0 + timedelta(minutes=i),
                components=["recommend"] if i else None,
                owner={"host": "h", "pid": 10 + i},
                progress=["training recommend"],
            )
        )
    assert [r.id for r in store.training_runs()] == ["run-2", "run-1", "run-0"]
    assert [r.id for r in store.training_runs(state="running")] == ["run-2"]
    assert store.update_training_run("run-2", state="failed", error="boom", finished_at=t0, seconds=1.5)
    assert not store.update_training_run("nope", state="failed")
    latest = store.training_runs(limit=1)[0]
    assert (latest.state, latest.error, latest.seconds, latest.finished_at) == ("failed", "boom", 1.5, t0)
    assert latest.owner == {"host": "h", "pid": 12} and latest.components == ["recommend"]
    assert latest.progress == ["training recommend"] and store.training_runs()[-1].components is None
    with pytest.raises(DataError, match="unknown training record fields"):
        store.update_training_run("run-1", colour="red")


def test_train_all_records_state_in_the_store_and_prunes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shopmind import pipeline
    from shopmind.store.sql import SqlStore

    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'shop.db'}", keep_runs=2)
    store = SqlStore(settings.store_url)
    art = ArtifactStore(settings.artifacts_dir)
    ctx = TrainContext(store=store, settings=settings)
    seen: list[str] = []

    def slow(ctx: Any, out: Path) -> dict[str, Any]:
        ctx.progress("half way")  # a component's own progress reaches the shared record
        rec = store.training_runs(limit=1)[0]
        seen.append(f"{rec.state} {rec.progress}")
        time.sleep(0.3)  # long enough for a few heartbeats
        assert store.training_runs(limit=1)[0].heartbeat_at > rec.heartbeat_at
        return _writes(ctx, out)

    _registry(monkeypatch, demo=slow)
    ids = [pipeline.train_all(ctx, art) for _ in range(3)]
    assert seen[0] == "running ['training demo', 'half way']"
    records = store.training_runs()
    assert [r.id for r in records] == ids[::-1] and {r.state for r in records} == {"succeeded"}
    assert records[0].owner["pid"] == os.getpid() and records[0].seconds is not None
    assert [r["id"] for r in art.runs()] == ids[:0:-1]  # keep_runs=2: the oldest was pruned

    def boom(ctx: Any, out: Path) -> dict[str, Any]:
        _writes(ctx, out)
        raise RuntimeError("bad data")

    _registry(monkeypatch, demo=boom)
    with pytest.raises(RuntimeError, match="bad data"):
        pipeline.train_all(ctx, art)
    rec = store.training_runs(limit=1)[0]
    assert rec.state == "failed" and "bad data" in (rec.error or "") and rec.finished_at is not None
    failed = art.runs()[0]
    assert failed["status"] == "failed" and not (art.runs_dir / failed["id"] / "demo").exists()
    assert art.current() is not None and art.current().id == ids[-1]
    store.close()


def test_disk_space_is_checked_before_training(tmp_path: Path) -> None:
    from shopmind import pipeline

    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'shop.db'}", min_free_mb=1e12)
    art = ArtifactStore(settings.artifacts_dir)
    ctx = TrainContext(store=None, settings=settings)  # type: ignore[arg-type]  # no store records
    with pytest.raises(ArtifactError, match="not enough free disk space") as err:
        pipeline.train_all(ctx, art)
    assert "MB free on the disk of" in str(err.value) and "artifacts.min_free_mb" in str(err.value)
    assert art.runs() == []  # nothing was created


def test_abandoned_runs_are_marked_failed(tmp_path: Path) -> None:
    """Dead owner (same host) → failed at once; other host → after the heartbeat lease; live → kept."""
    import subprocess
    import sys
    from datetime import UTC, datetime, timedelta

    from shopmind import pipeline
    from shopmind.store.base import TrainingRunRecord
    from shopmind.store.sql import SqlStore

    settings = _settings(tmp_path, f"sqlite:///{tmp_path / 'shop.db'}", lease_s=60)
    store = SqlStore(settings.store_url)
    art = ArtifactStore(settings.artifacts_dir)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = {**process_identity(), "pid": child.pid}
    now = datetime.now(UTC)
    owners = {
        "dead": (dead, now),
        "alive": (process_identity(), now),
        "remote-fresh": ({"host": "elsewhere", "pid": 1}, now),
        "remote-stale": ({"host": "elsewhere", "pid": 1}, now - timedelta(minutes=5)),
    }
    runs = {}
    for name, (owner, beat) in owners.items():
        runs[name] = art.new_run(owner)
        store.add_training_run(
            TrainingRunRecord(
                id=runs[name].id, state="running", started_at=beat, heartbeat_at=beat, owner=owner
            )
        )
    orphan = art.new_run(dead)  # died before its store record was written
    marked = pipeline.recover_abandoned(store, art, settings)
    assert set(marked) == {runs["dead"].id, runs["remote-stale"].id, orphan.id}
    state = {r.id: r for r in store.training_runs()}
    assert state[runs["dead"].id].state == "failed" and "is gone" in (state[runs["dead"].id].error or "")
    assert "no heartbeat" in (state[runs["remote-stale"].id].error or "")
    assert state[runs["alive"].id].state == state[runs["remote-fresh"].id].state == "running"
    manifests = {r["id"]: r["status"] for r in art.runs()}
    assert manifests[runs["dead"].id] == manifests[orphan.id] == "failed"
    assert manifests[runs["alive"].id] == "running"
    store.close()


def test_partial_training_does_not_carry_a_corrupt_component_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shopmind import pipeline

    art = ArtifactStore(tmp_path)
    ctx = TrainContext(store=None, settings=Settings())  # type: ignore[arg-type]  # no store records
    _registry(monkeypatch, a=_writes, b=_writes)
    first = art.run(pipeline.train_all(ctx, art))
    _flip(first.path / "b" / "state.npy")
    with pytest.raises(ArtifactIntegrityError, match=r"b/state\.npy"):
        pipeline.train_all(ctx, art, ["a"])  # b would be carried over with a fresh, "valid" checksum
    assert art.current() == first and art.runs()[0]["status"] == "failed"
