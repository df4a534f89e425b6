"""HTTP load benchmark: ``shopmind serve`` (N workers) on loopback, driven by an async httpx client.

Scenarios, each bounded by ``--duration`` seconds and ``--max-requests``:

-. ``inprocess`` — the recommend and search calls through ``Engine`` in this process, no HTTP;
0. ``trending``  — ``GET /recommendations/trending?k=10``: a precomputed list, so this measures the
   HTTP stack itself (uvicorn, middleware, key check, JSON);
1. ``recommend`` — ``GET /recommendations/users/{random known user}?k=10``;
2. ``search``    — ``GET /search?q={random query}&k=10`` (queries of the shop's search events, else
   words of item titles);
3. ``swap``      — the two mixed 50/50 while the model version is swapped every ``--swap-every``
   seconds (``POST /admin/rollback`` then ``POST /admin/models/{newest}/activate``, so every swap
   loads a full bundle in the worker that answers it, and the other worker follows through the
   artifact watcher). A request fails when it raises or answers anything but 200.

Latency is measured by the client (send → full body read), so it includes the client's own CPU
time: on a 2-core machine the load generator competes with the server (reported honestly).

Usage (the configured store must hold a trained shop, e.g. after ``shopmind demo --no-serve``)::

    python bench/bench_http.py --config shopmind.toml --workers 2 --duration 15 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
console = Console()


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=None, help="shopmind TOML settings (store, artifacts)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--port", type=int, default=0, help="0 = a free loopback port")
    p.add_argument("--duration", type=float, default=15.0, help="seconds per scenario")
    p.add_argument("--max-requests", type=int, default=50_000, help="per scenario")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    p.add_argument("--warmup", type=float, default=10.0, help="seconds of unmeasured warm-up")
    p.add_argument(
        "--swap-every", type=float, default=2.0, help="seconds between the end of a swap and the next"
    )
    p.add_argument("--swap-duration", type=float, default=45.0, help="seconds of the swap scenario")
    p.add_argument("--scenarios", default="inprocess,trending,recommend,search,swap")
    p.add_argument("--inprocess-n", type=int, default=300, help="calls per in-process scenario")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "http.json")
    return p.parse_args()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "shopmind"
    cmd = [str(exe)]
    if args.config:
        cmd += ["--config", str(args.config)]
    cmd += ["--quiet", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)]
    env = dict(os.environ, SHOPMIND_LOG_LEVEL="WARNING")
    log_path = Path(tempfile.gettempdir()) / "shopmind-bench-http-server.log"
    console.print(f"server log: {log_path}")
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the server
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(base: str, timeout: float = 600.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            r = httpx.get(base + "/health/ready", timeout=5)
            last = r.json()
            if r.status_code == 200:
                return last
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(1.0)
    raise RuntimeError(f"server not ready after {timeout:.0f}s: {last}")


async def load(
    base: str,
    headers: dict[str, str],
    paths: list[str],
    *,
    duration: float,
    max_requests: int,
    concurrency: int,
    seed: int,
) -> dict[str, Any]:
    """Closed-loop load: ``concurrency`` workers each send the next request when the last one ends."""
    rng = random.Random(seed)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    runs: Counter[str] = Counter()
    failures: list[str] = []
    sent = 0
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as client:

        async def worker() -> None:
            nonlocal sent
            while time.perf_counter() < deadline and sent < max_requests:
                sent += 1
                path = rng.choice(paths)
                t0 = time.perf_counter()
                try:
                    r = await client.get(path)
                    body = r.content
                except httpx.HTTPError as exc:
                    statuses["error"] += 1
                    failures.append(f"{path}: {exc!r}")
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[str(r.status_code)] += 1
                if r.status_code != 200:
                    failures.append(f"{path}: {r.status_code} {body[:200]!r}")
                elif b'"run_id"' in body:
                    runs[json.loads(body).get("run_id") or "?"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    lat = np.asarray(latencies) * 1000
    ok = statuses.get("200", 0)
    return {
        "requests": int(sum(statuses.values())),
        "ok": ok,
        "failed": int(sum(v for k, v in statuses.items() if k != "200")),
        "statuses": dict(statuses),
        "seconds": round(wall, 2),
        "rps": round(ok / wall, 1) if wall else 0.0,
        "p50_ms": round(float(np.percentile(lat, 50)), 2) if len(lat) else None,
        "p90_ms": round(float(np.percentile(lat, 90)), 2) if len(lat) else None,
        "p99_ms": round(float(np.percentile(lat, 99)), 2) if len(lat) else None,
        "max_ms": round(float(lat.max()), 2) if len(lat) else None,
        "runs_seen": dict(runs),
        "failure_examples": failures[:5],
    }


async def swapper(
    base: str, admin: dict[str, str], every: float, stop: asyncio.Event
) -> list[dict[str, Any]]:
    """Until ``stop``: activate whichever of the two newest runs is not serving; each call is one swap."""
    done: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=base, headers=admin, timeout=300) as client:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=every)
                break
            except TimeoutError:
                pass
            models = (await client.get("/admin/models")).json()
            ok_runs = [r["id"] for r in models["runs"] if r.get("status") == "ok"][:2]
            if len(ok_runs) < 2:
                raise RuntimeError("the swap scenario needs two successful training runs")
            target = ok_runs[1] if models["serving"] == ok_runs[0] else ok_runs[0]
            t0 = time.perf_counter()
            r = await client.post(f"/admin/models/{target}/activate")
            done.append(
                {"activate": target, "status": r.status_code, "seconds": round(time.perf_counter() - t0, 2)}
            )
    return done


def ensure_two_runs(settings: Any) -> str | None:
    """The swap scenario alternates two published runs; clone the current one when it is alone.

    The clone is a byte copy of the current run's component folders published as a new run, so a
    swap to it loads a complete bundle from disk exactly as a freshly trained run would (only the
    training time is saved). Returns the clone's id, or None when two runs already existed.
    """
    import shutil

    from shopmind.store.artifacts import ArtifactStore

    artifacts = ArtifactStore(settings.artifacts_dir)
    if sum(1 for r in artifacts.runs() if r.get("status") == "ok") >= 2:
        return None
    current = artifacts.current()
    if current is None:
        raise RuntimeError("no trained run: run `shopmind demo --no-serve` (or `shopmind train`) first")
    manifest = current.manifest()
    run = artifacts.new_run()
    for child in current.path.iterdir():
        if child.is_dir():
            shutil.copytree(child, run.path / child.name)
    artifacts.publish(run, {"components": manifest.get("components", {}), "cloned_from": current.id})
    return run.id


def in_process(settings: Any, rec_users: list[str], queries: list[str], n: int) -> dict[str, Any]:
    """The same calls through ``Engine`` without HTTP (one thread): what the services themselves cost."""
    from shopmind.api.server import single_threaded_math
    from shopmind.engine import Engine

    single_threaded_math()
    engine = Engine.open(settings)
    out: dict[str, Any] = {}
    try:
        calls = {
            "recommend (in-process)": [
                lambda u=u: engine.recommend(u, 10, filters={"in_stock": True}) for u in rec_users[:n]
            ],
            "search (in-process)": [lambda q=q: engine.search(q, 10) for q in queries[:n]],
        }
        for name, fns in calls.items():
            for f in fns[:10]:  # warm caches like the server's warm-up does
                f()
            lat = []
            for f in fns:
                t0 = time.perf_counter()
                f()
                lat.append((time.perf_counter() - t0) * 1000)
            a = np.asarray(lat)
            out[name] = {
                "requests": len(a),
                "ok": len(a),
                "failed": 0,
                "rps": round(1000 / a.mean(), 1),
                "p50_ms": round(float(np.percentile(a, 50)), 2),
                "p90_ms": round(float(np.percentile(a, 90)), 2),
                "p99_ms": round(float(np.percentile(a, 99)), 2),
                "max_ms": round(float(a.max()), 2),
                "runs_seen": {engine.bundle.run_id: len(a)},
            }
    finally:
        engine.close()
    return out


def workload(settings: Any, rng: random.Random) -> tuple[list[str], list[str], list[str], list[str]]:
    from shopmind.store import open_store

    store = open_store(settings.store_url)
    try:
        users = sorted(store.user_ids())
        # real shopper queries: search events of the synthetic shop (typos and Chinese included)
        searches = store.events_frame(types=["search"])
        queries = (
            [q for q in searches["query"].dropna().astype(str).tolist() if q.strip()] if len(searches) else []
        )
        if len(queries) < 50:
            titles = store.items_frame()["title"].astype(str).tolist()
            for t in rng.sample(titles, min(500, len(titles))):
                words = t.split()
                queries.append(" ".join(words[: rng.choice([1, 2])]))
    finally:
        store.close()
    sample_users = rng.sample(users, min(2000, len(users)))
    rec_paths = [f"/recommendations/users/{u}?k=10" for u in sample_users]
    q = rng.sample(queries, min(2000, len(queries)))
    search_paths = [str(httpx.URL("/search", params={"q": x, "k": 10})) for x in q]
    return rec_paths, search_paths, sample_users, q


def main() -> None:
    args = parse_args()
    from shopmind.api.auth import create_key
    from shopmind.config import load_settings
    from shopmind.store import open_store

    settings = load_settings(args.config)
    cloned = ensure_two_runs(settings) if "swap" in args.scenarios else None
    if cloned:
        console.print(f"published clone {cloned} of the current run (the swap scenario needs two runs)")
    rng = random.Random(42)
    rec_paths, search_paths, rec_users, queries = workload(settings, rng)
    results: dict[str, Any] = {}
    if "inprocess" in args.scenarios:
        results.update(in_process(settings, rec_users, queries, args.inprocess_n))
    store = open_store(settings.store_url)
    read_rec, read = create_key(store, "read", name="bench-read")
    admin_rec, admin = create_key(store, "admin", name="bench-admin")
    store.close()
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(args, port)
    swaps: list[dict[str, Any]] = []
    try:
        t0 = time.perf_counter()
        ready = wait_ready(base)
        console.print(f"server ready in {time.perf_counter() - t0:.1f}s: {ready['checks']}")
        headers = {"Authorization": f"Bearer {read}"}
        asyncio.run(
            load(
                base,
                headers,
                rec_paths + search_paths,
                duration=args.warmup,
                max_requests=10**9,
                concurrency=args.concurrency,
                seed=0,
            )
        )
        scenarios = args.scenarios.split(",")
        common = {
            "duration": args.duration,
            "max_requests": args.max_requests,
            "concurrency": args.concurrency,
        }
        if "trending" in scenarios:
            results["trending"] = asyncio.run(
                load(base, headers, ["/recommendations/trending?k=10"], seed=4, **common)
            )
        if "recommend" in scenarios:
            results["recommend"] = asyncio.run(load(base, headers, rec_paths, seed=1, **common))
        if "search" in scenarios:
            results["search"] = asyncio.run(load(base, headers, search_paths, seed=2, **common))
        if "swap" in scenarios:

            async def swap_run() -> tuple[dict[str, Any], list[dict[str, Any]]]:
                stop = asyncio.Event()
                swap_task = asyncio.create_task(
                    swapper(base, {"Authorization": f"Bearer {admin}"}, args.swap_every, stop)
                )
                res = await load(
                    base,
                    headers,
                    rec_paths + search_paths,
                    seed=3,
                    **(common | {"duration": args.swap_duration}),
                )
                stop.set()
                return res, await swap_task

            results["swap (recommend+search)"], swaps = asyncio.run(swap_run())
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        store = open_store(settings.store_url)
        store.revoke_api_key(read_rec.id)
        store.revoke_api_key(admin_rec.id)
        store.close()

    table = Table(
        title=f"HTTP load: {args.workers} workers, {args.concurrency} in flight, {args.duration:.0f}s per scenario"
    )
    for col in (
        "scenario",
        "requests",
        "failed",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "runs seen",
    ):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for name, r in results.items():
        table.add_row(
            name, str(r["requests"]), str(r["failed"]), f"{r['rps']:.0f}", str(r["p50_ms"]), str(r["p90_ms"]),
            str(r["p99_ms"]), str(r["max_ms"]), str(len(r["runs_seen"])),
        )  # fmt: skip
    console.print(table)
    if swaps:
        console.print(
            f"swaps: {len(swaps)} ({Counter(s['status'] for s in swaps)}), seconds each: {[s['seconds'] for s in swaps]}"
        )
    payload = {
        "benchmark": "http",
        "command": "python " + " ".join(sys.argv),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "note": "client and server share the machine; latency is client-measured (includes client CPU)",
        "rows": [{"name": name, "metrics": r} for name, r in results.items()],
        "swaps": swaps,
        "cloned_run": cloned,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
