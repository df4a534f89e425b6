"""Training through the API: background run, atomic swap under load, failures, rollback, fold-in."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from apishop import FAST_COMPONENTS, LiveServer, auth, trained_engine
from fastapi.testclient import TestClient

from shopmind.api import create_app
from shopmind.api.auth import ensure_demo_keys
from shopmind.api.schemas import RankedListOut, RecommendationOut
from shopmind.engine import Engine


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, str]]]:
    engine, keys = trained_engine(tmp_path_factory.mktemp("trained"))
    yield engine, keys
    engine.close()


def wait_training(client: TestClient | httpx.Client, headers: dict[str, str], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = client.get("/admin/training", headers=headers).json()
        if st["state"] != "running":
            return st
        time.sleep(0.1)
    raise AssertionError("training did not finish")


def test_recommendations_with_reasons(trained: tuple[Engine, dict[str, str]]) -> None:
    # per-customer routes: the shop's server key (an unbound read key gets no personal results)
    engine, keys = trained
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        r = c.get("/recommendations/users/u1?k=5&details=true", headers=auth(keys["ingest"]))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["run_id"] == engine.bundle.run_id and body["items"]
        assert all(x["reason"] for x in body["items"])
        assert all(x["item"]["title"] for x in body["items"])
        seen = {e for e in ("sku-1", "sku-4", "sku-7", "sku-10")}  # u1's events
        assert not seen & {x["item_id"] for x in body["items"]}
        assert (
            c.get("/recommendations/items/sku-1/similar?k=3", headers=auth(keys["read"])).status_code == 200
        )
        together = c.get("/recommendations/items/sku-1/bought-together", headers=auth(keys["read"])).json()
        assert together["items"][0]["item_id"] == "sku-4" and "bought" in together["items"][0]["reason"]
        trend = c.get("/recommendations/trending?k=3&category=Home", headers=auth(keys["read"])).json()
        assert trend["items"] and all(
            x["item_id"] in {"sku-2", "sku-5", "sku-8", "sku-11"} for x in trend["items"]
        )
        assert c.get("/recommendations/items/nope/similar", headers=auth(keys["read"])).status_code == 404
        r = c.get("/recommendations/users/u1?min_price=50&max_price=10", headers=auth(keys["ingest"]))
        assert r.status_code in (400, 422) and "price" in r.json()["error"]["message"]
        assert c.get("/health/ready").status_code == 200
        assert f'shopmind_model_version_info{{run_id="{engine.bundle.run_id}"}} 1.0' in c.get("/metrics").text


def test_unknown_components_are_refused_before_a_run_is_created(
    trained: tuple[Engine, dict[str, str]],
) -> None:
    engine, keys = trained
    runs_before = [r["id"] for r in engine.artifacts.runs()]
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        r = c.post("/admin/train", json={"components": ["search", "nope"]}, headers=auth(keys["admin"]))
        assert r.status_code == 400 and "unknown components" in r.json()["error"]["message"], r.text
        assert c.get("/admin/training", headers=auth(keys["admin"])).json()["state"] != "running"
    assert [r["id"] for r in engine.artifacts.runs()] == runs_before


def test_hot_route_bodies_match_their_documented_models(trained: tuple[Engine, dict[str, str]]) -> None:
    """The hot routes return orjson bytes, not pydantic output: the bodies must still fit the models."""
    engine, keys = trained
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        for path in (
            "/recommendations/users/u1?k=5&details=true",
            "/recommendations/items/sku-1/similar?k=3",
            "/recommendations/items/sku-1/bought-together",
            "/recommendations/trending?k=3",
        ):
            r = c.get(path, headers=auth(keys["ingest"]))
            assert r.status_code == 200 and r.headers["content-type"] == "application/json", path
            body = RankedListOut.model_validate_json(r.content)
            assert body.items and body.run_id == engine.bundle.run_id
            assert set(r.json()) <= set(RankedListOut.model_fields)  # nothing undocumented
            for item in r.json()["items"]:
                assert set(item) <= set(RecommendationOut.model_fields)
        r = c.get("/search?q=lamp&k=3", headers=auth(keys["read"]))
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        page = r.json()
        assert {"query", "hits", "total", "facets", "search_id", "mode", "run_id"} <= set(page)
        assert page["query"] == "lamp" and page["search_id"]
        assert all({"item_id", "score", "title", "highlight", "position"} <= set(h) for h in page["hits"])
        suggest = c.get("/search/suggest?q=la", headers=auth(keys["read"])).json()
        assert suggest["suggestions"] == engine.suggest("la", 8)[:8]


def test_logged_searches_reach_analytics_at_once(trained: tuple[Engine, dict[str, str]]) -> None:
    """Search logging is queued (batched off the request path); analytics still see every search."""
    engine, keys = trained
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        before = c.get("/admin/search-analytics", headers=auth(keys["admin"])).json()["searches"]
        sids = [
            c.get("/search?q=zzzqqq-analytics&k=3", headers=auth(keys["read"])).json()["search_id"]
            for _ in range(3)
        ]
        assert len(set(sids)) == 3
        r = c.post("/search/clicks", json={"search_id": sids[0], "item_id": "sku-1", "position": 1},
                   headers=auth(keys["read"]))  # fmt: skip
        assert r.status_code == 204
        data = c.get("/admin/search-analytics", headers=auth(keys["admin"])).json()
        assert data["searches"] == before + 3
        assert engine.store.click_log_frame()["search_id"].tolist().count(sids[0]) == 1


def test_in_stock_filter_drops_out_of_stock_items(trained: tuple[Engine, dict[str, str]]) -> None:
    engine, keys = trained
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        for u in range(8):
            items = c.get(f"/recommendations/users/u{u}?k=12", headers=auth(keys["ingest"])).json()["items"]
            assert "sku-5" not in {x["item_id"] for x in items}  # stock 0


def test_new_events_are_folded_in(trained: tuple[Engine, dict[str, str]]) -> None:
    engine, keys = trained
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        cold = c.get("/recommendations/users/newcomer?k=3", headers=auth(keys["ingest"])).json()
        assert cold["items"][0]["explanation"]["path"] == "cold_start"
        ev = [
            {
                "id": "nc-1",
                "user_id": "newcomer",
                "item_id": "sku-2",
                "type": "purchase",
                "timestamp": "2026-02-01T00:00:00Z",
            }
        ]
        assert c.post("/events", json=ev, headers=auth(keys["ingest"])).json()["inserted"] == 1
        warm = c.get("/recommendations/users/newcomer?k=3", headers=auth(keys["ingest"])).json()
        assert warm["items"][0]["explanation"]["path"] == "fold_in"
        assert "sku-2" not in {x["item_id"] for x in warm["items"]}


def test_swap_under_concurrent_requests_has_zero_failures(tmp_path: Path) -> None:
    """Threads hammer /recommendations while /admin/train runs and swaps; nothing may fail."""
    engine, keys = trained_engine(tmp_path)
    first = engine.bundle.run_id
    stop = threading.Event()
    statuses: Counter[int] = Counter()
    runs_seen: set[str] = set()
    errors: list[str] = []
    lock = threading.Lock()
    with LiveServer(create_app(engine, watch_interval_s=None)) as live:

        def hammer(i: int) -> None:
            with httpx.Client(base_url=live.url, headers=auth(keys["ingest"]), timeout=30) as client:
                n = 0
                while not stop.is_set():
                    path = (
                        f"/recommendations/users/u{n % 8}?k=5"
                        if i % 2
                        else "/recommendations/items/sku-3/similar"
                    )
                    try:
                        r = client.get(path)
                        with lock:
                            statuses[r.status_code] += 1
                            if r.status_code == 200:
                                runs_seen.add(r.json()["run_id"])
                            else:
                                errors.append(r.text[:200])
                    except httpx.HTTPError as exc:
                        with lock:
                            errors.append(repr(exc))
                    n += 1

        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        with httpx.Client(base_url=live.url, headers=auth(keys["admin"]), timeout=30) as admin:
            assert admin.post("/admin/train", json={"components": FAST_COMPONENTS}).status_code == 202
            # a second request while the first runs is refused, not queued
            again = admin.post("/admin/train", json={"components": FAST_COMPONENTS})
            assert again.status_code in (202, 409)
            st = wait_training(admin, {})
            assert st["state"] == "succeeded", st
            time.sleep(0.3)
            assert admin.post("/admin/rollback").json()["serving"] == first
            time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join()
    engine.close()
    assert not errors, errors[:3]
    assert statuses[200] > 20 and set(statuses) == {200}
    assert runs_seen == {first, st["run_id"]}


def test_failed_training_leaves_serving_untouched(tmp_path: Path) -> None:
    engine, keys = trained_engine(tmp_path)
    serving = engine.bundle.run_id
    bad = engine.settings.training.model_copy(update={"event_weights": {"teleport": 1.0}})
    engine.settings = engine.settings.model_copy(update={"training": bad})
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        h = auth(keys["admin"])
        assert c.post("/admin/train", headers=h, json={"components": FAST_COMPONENTS}).status_code == 202
        st = wait_training(c, h)
        assert st["state"] == "failed" and "teleport" in st["error"]
        assert engine.bundle.run_id == serving
        assert c.get("/recommendations/users/u1", headers=auth(keys["ingest"])).status_code == 200
        runs = c.get("/admin/models", headers=h).json()
        assert runs["serving"] == serving
        assert [r["status"] for r in runs["runs"]][:2] == ["failed", "ok"]
        assert "teleport" in c.get("/admin/status", headers=h).json()["training"]["error"]
        assert 'shopmind_training_runs_total{outcome="failed"} 1.0' in c.get("/metrics").text
    engine.close()


def test_versions_activate_and_rollback(tmp_path: Path) -> None:
    engine, keys = trained_engine(tmp_path)
    first = engine.bundle.run_id
    second = engine.train(FAST_COMPONENTS)
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        h = auth(keys["admin"])
        models = c.get("/admin/models", headers=h).json()
        assert models["serving"] == second and [r["id"] for r in models["runs"]] == [second, first]
        assert c.post("/admin/rollback", headers=h).json()["serving"] == first
        assert c.post(f"/admin/models/{second}/activate", headers=h).json()["serving"] == second
        assert c.post("/admin/models/nope/activate", headers=h).status_code == 404
        # the oldest run has nothing before it
        c.post(f"/admin/models/{first}/activate", headers=h)
        r = c.post("/admin/rollback", headers=h)
        assert r.status_code == 409 and "roll back" in r.json()["error"]["message"]
    engine.close()


def test_watch_follows_runs_published_elsewhere(tmp_path: Path) -> None:
    engine, _ = trained_engine(tmp_path)
    other = Engine.open(engine.settings)  # a second worker process, in miniature
    try:
        new = engine.train(FAST_COMPONENTS)
        assert other.bundle.run_id != new
        assert other.reload_if_changed() and other.bundle.run_id == new
        assert not other.reload_if_changed()
    finally:
        other.close()
        engine.close()


# ---------------------------------------------------------------------------- issue 21: findings 7 and 8
ALL_COMPONENTS = ["recommend", "search", "assistant", "forecast"]


def copy_as_new_run(engine: Engine) -> Path:
    """Publish a byte-for-byte copy of the current run as a new run (a 'retraining' without the cost)."""
    import shutil

    art = engine.artifacts
    source = art.current()
    run = art.new_run()
    for child in source.path.iterdir():
        if child.is_dir():
            shutil.copytree(child, run.path / child.name)
    art.publish(run, {"components": source.manifest()["components"]})
    return run.path


def flip_byte(path: Path) -> bytes:
    original = path.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0x20
    path.write_bytes(bytes(data))
    return original


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, str]]]:
    """Every component, with every optional artifact: help pages (knowledge base), a usearch HNSW
    index (ann_threshold below the catalogue size) and a click-trained LightGBM ranker."""
    from shopmind.data.schema import Document

    root = tmp_path_factory.mktemp("full")
    engine, keys = trained_engine(root)
    store = engine.store
    store.upsert_documents(
        [
            Document(id="returns", title="Returns", body="You can return any item within 30 days."),
            Document(id="shipping", title="Shipping", body="Orders ship within two working days."),
        ]
    )
    # the [search] section: a usearch HNSW index even for this tiny catalogue
    engine.settings.search = engine.settings.search.model_copy(update={"ann_threshold": 4})
    queries = ["wireless headphones", "smartphone case", "coffee grinder", "model", "fine product"]
    for i in range(60):
        ids = [f"sku-{(i + j) % 12}" for j in range(5)]
        sid = store.log_search(query=queries[i % 5], user_id=None, n_results=5, result_ids=ids)
        store.log_click(search_id=sid, item_id=ids[2], position=3)
    engine.train(ALL_COMPONENTS)
    yield engine, keys
    engine.close()


def test_every_file_of_a_trained_run_is_checked(full_run: tuple[Engine, dict[str, str]]) -> None:
    """Finding 7: a flipped byte in ANY artifact file (every type a run contains) is detected."""
    engine, _ = full_run
    run = engine.artifacts.current()
    assert engine.bundle.run_id == run.id and set(engine.bundle.services) == set(ALL_COMPONENTS)
    assert engine.bundle.integrity.startswith("verified")
    files = sorted(p for p in run.path.rglob("*") if p.is_file())
    kinds = {"".join(p.suffixes[-1:]) for p in files}
    assert {".npy", ".npz", ".json", ".parquet", ".usearch", ".txt"} <= kinds, kinds
    assert any("knowledge" in p.parts for p in files) and any("ranker" in p.parts for p in files)
    for path in files:
        rel = path.relative_to(run.path).as_posix()
        original = flip_byte(path)
        try:
            report = engine.artifacts.verify(run)
            assert not report.ok and rel in report.problems, rel
        finally:
            path.write_bytes(original)
    assert engine.artifacts.verify(run).ok


def test_a_corrupt_run_is_refused_and_the_previous_one_keeps_serving(
    full_run: tuple[Engine, dict[str, str]],
) -> None:
    """Finding 7: corrupt intent vectors, lexical arrays, the usearch index, a deleted vectors.npy —
    each new run is refused and the served one stays (the old code served the damaged run)."""
    engine, keys = full_run
    serving = engine.bundle.run_id
    new = copy_as_new_run(engine)
    damages = [
        "assistant/intents/oos_ref.npy",
        "search/lexical/field_0/data.npy",
        "search/semantic/hnsw.usearch",
        "recommend/models/hybrid/weights.json",
    ]
    with TestClient(create_app(engine, watch_interval_s=None)) as c:
        for rel in damages:
            original = flip_byte(new / rel)
            assert not engine.reload_if_changed(), rel
            assert engine.bundle.run_id == serving
            body = c.get("/health/ready").json()
            assert body["status"] == "ready" and rel in body["checks"]["refused"][new.name]
            (new / rel).write_bytes(original)
        vectors = new / "search" / "semantic" / "vectors.npy"
        kept = vectors.read_bytes()
        vectors.unlink()
        assert not engine.reload_if_changed() and engine.bundle.run_id == serving
        assert "missing" in engine.refused[new.name]
        r = c.post(f"/admin/models/{new.name}/activate", headers=auth(keys["admin"]))
        assert r.status_code == 409 and "integrity" in r.json()["error"]["message"]
        assert engine.artifacts.current().id == new.name  # the pointer was not moved by the refusal
        assert (
            c.post("/chat", json={"message": "where is my order?"}, headers=auth(keys["read"])).status_code
            == 200
        )
        vectors.write_bytes(kept)
        assert engine.reload_if_changed() and engine.bundle.run_id == new.name  # repaired: accepted
        engine.activate(serving)


def test_a_fresh_process_falls_back_or_reports_the_broken_capability(tmp_path: Path) -> None:
    """Finding 7: start-up with a corrupt current run serves the newest intact run; with none intact,
    the intact capabilities load and /health/ready is 503 naming the broken one (old code: 200)."""
    engine, _ = trained_engine(tmp_path)
    intact = engine.bundle.run_id
    new = copy_as_new_run(engine)
    settings = engine.settings
    engine.close()
    flip_byte(new / "recommend" / "pools.npz")
    fresh = Engine.open(settings)
    try:
        assert fresh.bundle.run_id == intact and "recommend" in fresh.bundle.services
        ok, checks = fresh.ready()
        assert ok and "recommend/pools.npz" in checks["refused"][new.name]
    finally:
        fresh.close()
    flip_byte(tmp_path / "artifacts" / "runs" / intact / "recommend" / "pools.npz")  # nothing intact now
    (new / "search" / "semantic" / "vectors.npy").unlink()
    fresh = Engine.open(settings)
    try:
        assert fresh.bundle.run_id == new.name and set(fresh.bundle.services) == {"forecast"}
        with TestClient(create_app(fresh, watch_interval_s=None)) as c:
            r = c.get("/health/ready")
            assert r.status_code == 503, r.text
            caps = r.json()["capabilities"]
            assert caps["recommend"]["state"] == "failed" and "pools.npz" in caps["recommend"]["reason"]
            assert "vectors.npy: missing" in caps["search"]["reason"]
            assert caps["forecast"] == {"state": "ok", "reason": None}
            assert caps["assistant"]["state"] == "not_trained"  # not in the run: not expected
            assert c.get("/health/live").json() == {"status": "ok"}
    finally:
        fresh.close()


KILLED_TRAINER = """
import sys, time
import numpy as np
from shopmind import capabilities
from shopmind.capabilities import Capability
from shopmind.config import Settings
from shopmind.engine import Engine

def train(ctx, out):
    out.mkdir(parents=True)
    np.save(out / "partial.npy", np.zeros(50_000))
    print("TRAINING", flush=True)
    time.sleep(600)

capabilities.CAPABILITIES = {"recommend": Capability("recommend", train, capabilities.RecommendService)}
engine = Engine.open(Settings.model_validate_json(sys.argv[1]))
engine.train()
"""


def test_a_training_killed_with_sigkill_is_marked_failed_at_start_up(tmp_path: Path) -> None:
    """Finding 8: kill -9 left the run 'running' forever, with its partial files."""
    import os
    import signal
    import subprocess
    import sys

    from apishop import make_settings

    settings = make_settings(tmp_path)
    script = tmp_path / "trainer.py"
    script.write_text(KILLED_TRAINER)
    proc = subprocess.Popen(
        [sys.executable, str(script), settings.model_dump_json()], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "TRAINING"
        watcher = Engine.open(settings)  # another worker while the training runs
        try:
            st = watcher.training_status()
            assert st["state"] == "running" and st["pid"] == proc.pid
        finally:
            watcher.close()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    run_id = st["run_id"]
    engine = Engine.open(settings)  # start-up after the crash
    try:
        st = engine.training_status()
        assert st["state"] == "failed" and st["run_id"] == run_id and "is gone" in st["error"]
        info = next(r for r in engine.artifacts.runs() if r["id"] == run_id)
        assert info["status"] == "failed" and "abandoned" in info["error"]
        assert not (engine.artifacts.runs_dir / run_id / "recommend").exists()  # partial files deleted
        keys = ensure_demo_keys(engine.store)
        with TestClient(create_app(engine, watch_interval_s=None)) as c:
            assert c.get("/admin/training", headers=auth(keys["admin"])).json()["state"] == "failed"
    finally:
        engine.close()


def test_two_app_instances_on_one_store_report_the_same_training(tmp_path: Path) -> None:
    """Finding 8: with two workers /admin/training alternated between running, an older run and idle."""
    engine, keys = trained_engine(tmp_path)
    other = Engine.open(engine.settings)  # a second worker process, in miniature
    try:
        with (
            TestClient(create_app(engine, watch_interval_s=None)) as a,
            TestClient(create_app(other, watch_interval_s=None)) as b,
        ):
            h = auth(keys["admin"])
            started = a.post("/admin/train", json={"components": FAST_COMPONENTS}, headers=h).json()
            seen_b = b.get("/admin/training", headers=h).json()
            assert seen_b["run_id"] == started["run_id"]
            assert seen_b["state"] in ("running", "succeeded")
            done = wait_training(a, h)
            assert done["state"] == "succeeded"
            for client in (a, b):
                st = client.get("/admin/training", headers=h).json()
                assert (st["state"], st["run_id"]) == ("succeeded", started["run_id"])
    finally:
        other.close()
        engine.close()


FULL_DISK_TRAINER = """
import json, os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from apishop import catalogue, events_for
from shopmind.config import Settings, TrainingSettings
from shopmind.data.schema import Event, Item
from shopmind.engine import Engine

root = Path(sys.argv[1])
training = {"recommenders": ["popularity", "item_knn"], "threads": 1}
if "tune_budget_s" in TrainingSettings.model_fields:
    training["tune_budget_s"] = 0
values = {"store_url": f"sqlite:///{root / 'shop.db'}", "artifacts_dir": str(root / "artifacts"),
          "training": training}
if "artifacts" in Settings.model_fields:  # the disk-space check would refuse a 4 MiB disk
    values["artifacts"] = {"min_free_mb": 0}
settings = Settings.model_validate(values)
engine = Engine.open(settings)
engine.store.upsert_items([Item.model_validate(r) for r in catalogue(12)])
engine.store.add_events([Event.model_validate(e) for e in events_for(8, 12)])
fd = os.open(root / "filler", os.O_WRONLY | os.O_CREAT)
try:
    while True:
        os.write(fd, bytes(65536))
except OSError:
    pass
os.ftruncate(fd, os.fstat(fd).st_size - 40 * 1024)  # the disk is full but for 40 KiB
os.close(fd)
try:
    engine.train(["recommend"])
    outcome = "trained"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {exc}"
records = engine.store.training_runs(limit=1) if hasattr(engine.store, "training_runs") else []
print(json.dumps({"outcome": outcome, "run": engine.artifacts.runs()[0],
                  "record": records[0].state if records else None,
                  "record_error": records[0].error if records else None,
                  "status": engine.training_status()}, default=str))
"""


def test_a_training_that_fills_the_disk_is_recorded_as_failed(tmp_path: Path) -> None:
    """Finding 8: on a full disk the failure could not be recorded (that needs space too) and the run
    stayed 'running' with its partial files. A real 4 MiB tmpfs, mounted in a user namespace."""
    import json
    import shutil
    import subprocess
    import sys

    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "-Urm", "true"], capture_output=True) if unshare else None
    if probe is None or probe.returncode != 0:
        pytest.skip("needs `unshare -Urm` (user + mount namespaces) to mount a small tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "trainer.py"
    script.write_text(FULL_DISK_TRAINER)
    mount = 'mount -t tmpfs -o size=4m tmpfs "$1" && exec "$2" "$3" "$1" "$4"'
    apishop_dir = str(Path(__file__).parent)
    cmd = [unshare, "-Urm", "sh", "-c", mount, "sh", str(disk), sys.executable, str(script), apishop_dir]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert "No space left on device" in out["outcome"], out
    assert out["run"]["status"] == "failed" and "No space left" in out["run"]["error"]
    assert out["run"]["discarded_bytes"] > 0  # the partial files were deleted to make room
    assert out["record"] == "failed" and "No space left" in out["record_error"]
    assert out["status"]["state"] == "failed"
