"""HTTP load benchmark: ``shopmind serve`` (N workers) on loopback, driven by ``wrk`` (Debian package).

Scenarios, each run for ``--duration`` seconds at every connection count of ``--connections``:

* ``inprocess`` — the recommend and search calls through ``Engine`` in this process, no HTTP;
* ``trending``  — ``GET /recommendations/trending?k=10``: almost no work, so this measures the HTTP
  stack itself (uvicorn, middleware, key check, JSON);
* ``recommend`` — ``GET /recommendations/users/{user}?k=10`` over 2 000 known users;
* ``similar``   — ``GET /recommendations/items/{item}/similar?k=10`` over 2 000 items;
* ``search``    — ``GET /search?q=…&k=10`` over 2 000 queries sampled from the shop's search events
  (a realistic mix: popular queries repeat, so per-worker query-embedding caches get hits — the
  table says how many distinct queries the mix has);
* ``search-unseen`` — queries of the log that are *not* in that mix and never repeat within the
  run: every request pays the query encoder (the cold-cache bound);
* ``swap``      — recommend + search mixed while the model version is swapped every ``--swap-every``
  seconds (``POST /admin/models/{run}/activate``, alternating two published runs, so every swap
  loads a full bundle in the worker that answers it and the other worker follows through the
  artifact watcher). A request fails when wrk sees a socket error, a timeout (30 s) or a non-2xx.

wrk is closed-loop (``-c`` connections, each sends its next request when the last one answered),
one client thread. Latency percentiles are wrk's; besides them each row gives the **server's CPU
time per request** (user + system of every server process, from ``/proc``), which says what a
request costs independently of how busy the machine is.

``--autogroup-nice N`` (Linux): with ``sched_autogroup`` on, a ``nice -n 19`` job in another
terminal session still gets an equal share of the CPU against the server; this puts the server and
wrk in their own session with autogroup nice ``N`` (e.g. -10), so that other sessions' niced work
yields to the measurement as ``nice`` intends. The value is recorded in the JSON.

Usage (the configured store must hold a trained shop, e.g. after ``shopmind demo --no-serve``)::

    python bench/bench_http.py --config shopmind.toml --workers 2 --duration 6 --connections 2,8
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
console = Console(width=150)

WRK_SCRIPT = r"""
-- rotate over the request paths in WRK_PATHS; count statuses and run ids; print a JSON summary
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do if #line > 0 then paths[#paths + 1] = line end end
local auth = "Bearer " .. os.getenv("WRK_KEY")
local count_runs = os.getenv("WRK_RUNS") == "1"
local threads = {}
function setup(thread) thread:set("id", #threads); table.insert(threads, thread) end
function init(args) counter = id * 7919; runs = {}; statuses = {} end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1], {["Authorization"] = auth})
end
if count_runs then
  function response(status, headers, body)
    statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
    local run = string.match(body, '"run_id":"([^"]*)"')
    if run then runs[run] = (runs[run] or 0) + 1 end
  end
end
local function pairs_json(t)
  local out = {}
  for k, v in pairs(t) do out[#out + 1] = string.format('"%s": %d', k, v) end
  return "{" .. table.concat(out, ", ") .. "}"
end
function done(summary, latency, requests)
  local runs_all, statuses_all = {}, {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("runs") or {}) do runs_all[k] = (runs_all[k] or 0) + v end
    for k, v in pairs(t:get("statuses") or {}) do statuses_all[k] = (statuses_all[k] or 0) + v end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %.3f, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f, ' ..
    '"runs_seen": %s, "statuses": %s}\n',
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000, pairs_json(runs_all), pairs_json(statuses_all)))
end
"""


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, default=None, help="shopmind TOML settings (store, artifacts)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--port", type=int, default=0, help="0 = a free loopback port")
    p.add_argument("--duration", type=float, default=6.0, help="seconds per scenario and connection count")
    p.add_argument("--connections", default="2,8", help="wrk -c values, comma-separated")
    p.add_argument("--warmup", type=float, default=10.0, help="seconds of unmeasured mixed traffic first")
    p.add_argument(
        "--swap-every", type=float, default=2.0, help="seconds between the end of a swap and the next"
    )
    p.add_argument("--swap-duration", type=float, default=40.0, help="seconds of the swap scenario")
    p.add_argument("--swap-connections", type=int, default=4, help="wrk -c during the swap scenario")
    p.add_argument("--scenarios", default="inprocess,trending,recommend,similar,search,search-unseen,swap")
    p.add_argument("--inprocess-n", type=int, default=300, help="calls per in-process scenario")
    p.add_argument("--autogroup-nice", type=int, default=None, help="see the module docstring (Linux)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "http-wrk.json")
    return p.parse_args()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _own_session(autogroup_nice: int | None) -> dict[str, Any]:
    """Popen arguments: a new session, optionally with its autogroup's nice value set."""
    if autogroup_nice is None:
        return {}

    def set_nice() -> None:  # runs in the child after setsid(): its session is a fresh autogroup
        Path("/proc/self/autogroup").write_text(str(autogroup_nice))

    return {"start_new_session": True, "preexec_fn": set_nice}


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
    return subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, **_own_session(args.autogroup_nice)
    )


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


def process_tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and all its descendants (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # a process that just ended
    return total


def run_wrk(
    args: argparse.Namespace,
    base: str,
    key: str,
    workdir: Path,
    server_pid: int,
    name: str,
    paths: list[str],
    *,
    connections: int,
    duration: float,
    count_runs: bool = False,
) -> dict[str, Any]:
    """One wrk run over ``paths`` (rotating); returns its summary plus the server's CPU per request."""
    paths_file = workdir / f"{name}.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    script = workdir / "paths.lua"
    script.write_text(WRK_SCRIPT)
    env = dict(os.environ, WRK_PATHS=str(paths_file), WRK_KEY=key, WRK_RUNS="1" if count_runs else "0")
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "30s", "-s", str(script), base]
    cpu0 = process_tree_cpu_s(server_pid)
    out = subprocess.run(
        cmd, env=env, capture_output=True, text=True, check=True, **_own_session(args.autogroup_nice)
    ).stdout
    cpu1 = process_tree_cpu_s(server_pid)
    line = next((x for x in out.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    w = json.loads(line.removeprefix("WRK_JSON "))
    failed = w["connect"] + w["read"] + w["write"] + w["status"] + w["timeout"]
    ok = w["requests"] - w["status"]
    return {
        "requests": w["requests"],
        "failed": failed,
        "errors": {k: w[k] for k in ("connect", "read", "write", "status", "timeout")},
        "seconds": round(w["seconds"], 2),
        "rps": round(ok / w["seconds"], 1),
        **{k: round(w[k], 2) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms")},
        "server_cpu_ms_per_request": round((cpu1 - cpu0) * 1000 / max(w["requests"], 1), 2),
        "runs_seen": w["runs_seen"],
        "statuses": w["statuses"],
    }


def swapper(
    base: str, admin_key: str, every: float, stop: threading.Event, done: list[dict[str, Any]]
) -> None:
    """Until ``stop``: activate whichever of the two newest runs is not serving; each call is one swap."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin_key}"}, timeout=300) as c:
        while not stop.wait(every):
            models = c.get("/admin/models").json()
            ok_runs = [r["id"] for r in models["runs"] if r.get("status") == "ok"][:2]
            if len(ok_runs) < 2:
                raise RuntimeError("the swap scenario needs two successful training runs")
            target = ok_runs[1] if models["serving"] == ok_runs[0] else ok_runs[0]
            t0 = time.perf_counter()
            r = c.post(f"/admin/models/{target}/activate")
            done.append(
                {"activate": target, "status": r.status_code, "seconds": round(time.perf_counter() - t0, 2)}
            )


def ensure_two_runs(settings: Any) -> str | None:
    """The swap scenario alternates two published runs; clone the current one when it is alone.

    The clone is a byte copy of the current run's component folders published as a new run, so a
    swap to it loads a complete bundle from disk exactly as a freshly trained run would (only the
    training time is saved). Returns the clone's id, or None when two runs already existed.
    """
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
                "failed": 0,
                "rps": round(1000 / a.mean(), 1),
                "p50_ms": round(float(np.percentile(a, 50)), 2),
                "p90_ms": round(float(np.percentile(a, 90)), 2),
                "p99_ms": round(float(np.percentile(a, 99)), 2),
                "max_ms": round(float(a.max()), 2),
                "mean_ms": round(float(a.mean()), 2),
                "server_cpu_ms_per_request": None,
            }
    finally:
        engine.close()
    return out


def workload(settings: Any, rng: random.Random) -> dict[str, Any]:
    """Request paths per scenario, from the shop's users, items and logged search queries."""
    from shopmind.store import open_store

    store = open_store(settings.store_url)
    try:
        users = sorted(store.user_ids())
        items = sorted(store.items_frame()["id"].astype(str))
        # real shopper queries: search events of the synthetic shop (typos and Chinese included)
        searches = store.events_frame(types=["search"])
        queries = (
            [q for q in searches["query"].dropna().astype(str).tolist() if q.strip()] if len(searches) else []
        )
    finally:
        store.close()
    if len(queries) < 100:
        raise RuntimeError("the shop has fewer than 100 logged search queries: generate the demo shop first")
    mix = rng.sample(queries, min(2000, len(queries)))
    unseen = sorted(set(queries) - set(mix))
    rng.shuffle(unseen)

    def search_path(q: str) -> str:
        return str(httpx.URL("/search", params={"q": q, "k": 10}))

    rec_users = rng.sample(users, min(2000, len(users)))
    return {
        "trending": ["/recommendations/trending?k=10"],
        "recommend": [f"/recommendations/users/{u}?k=10" for u in rec_users],
        "similar": [
            f"/recommendations/items/{i}/similar?k=10" for i in rng.sample(items, min(2000, len(items)))
        ],
        "search": [search_path(q) for q in mix],
        "search-unseen": [search_path(q) for q in unseen],
        "_users": rec_users,
        "_queries": mix,
        "_query_mix": {
            "requests_in_mix": len(mix),
            "distinct_in_mix": len(set(mix)),
            "unseen_distinct": len(unseen),
            "log_queries": len(queries),
        },
    }


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | conns | requests | failed | req/s | p50 ms | p90 ms | p99 ms | max ms | server CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        r = row["metrics"]
        cpu = r.get("server_cpu_ms_per_request")
        cells = [row["name"], row["connections"], f"{r['requests']:,}", r["failed"], f"{r['rps']:,.0f}"]
        cells += [f"{r[k]:.1f}" for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")]
        cells.append("" if cpu is None else f"{cpu:.2f}")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian/Ubuntu)")
    from shopmind.api.auth import create_key
    from shopmind.config import load_settings
    from shopmind.store import open_store

    settings = load_settings(args.config)
    scenarios = args.scenarios.split(",")
    connections = [int(c) for c in args.connections.split(",")]
    cloned = ensure_two_runs(settings) if "swap" in scenarios else None
    if cloned:
        console.print(f"published clone {cloned} of the current run (the swap scenario needs two runs)")
    paths = workload(settings, random.Random(42))
    console.print(f"search query mix: {paths['_query_mix']}")
    rows: list[dict[str, Any]] = []
    if "inprocess" in scenarios:
        for name, r in in_process(settings, paths["_users"], paths["_queries"], args.inprocess_n).items():
            rows.append({"name": name, "connections": 1, "metrics": r})
    store = open_store(settings.store_url)
    # the shop's backend: "for you" of named customers needs a server-side (or bound) key since issue 21
    read_rec, read = create_key(store, "ingest", name="bench-server")
    admin_rec, admin = create_key(store, "admin", name="bench-admin")
    store.close()
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(args, port)
    swaps: list[dict[str, Any]] = []
    workdir = Path(tempfile.mkdtemp(prefix="shopmind-bench-http-"))
    try:
        t0 = time.perf_counter()
        ready = wait_ready(base)
        console.print(f"server ready in {time.perf_counter() - t0:.1f}s: {ready['checks']}")
        wrk = functools.partial(run_wrk, args, base, read, workdir, server.pid)
        mixed = [p for pair in zip(paths["recommend"], paths["search"], strict=False) for p in pair]
        wrk("mixed", mixed, connections=max(connections), duration=args.warmup)
        for name in ("trending", "recommend", "similar", "search", "search-unseen"):
            if name not in scenarios:
                continue
            for c in connections:
                r = wrk(name, paths[name], connections=c, duration=args.duration)
                rows.append({"name": name, "connections": c, "metrics": r})
                console.print(f"{name} c={c}: {r['rps']} req/s, p99 {r['p99_ms']} ms")
        if "swap" in scenarios:
            stop = threading.Event()
            t = threading.Thread(
                target=swapper, args=(base, admin, args.swap_every, stop, swaps), daemon=True
            )
            t.start()
            r = wrk(
                "mixed",
                mixed,
                connections=args.swap_connections,
                duration=args.swap_duration,
                count_runs=True,
            )
            stop.set()
            t.join(timeout=300)
            rows.append(
                {"name": "swap (recommend+search)", "connections": args.swap_connections, "metrics": r}
            )
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(workdir, ignore_errors=True)
        store = open_store(settings.store_url)
        store.revoke_api_key(read_rec.id)
        store.revoke_api_key(admin_rec.id)
        store.close()

    load = os.getloadavg()
    table = Table(
        title=f"HTTP load (wrk): {args.workers} workers, {args.duration:g}s per row, load {load[0]:.1f}"
    )
    for col in ("scenario", "conns", "requests", "failed", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
                "server CPU ms/req"):  # fmt: skip
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for row in rows:
        r = row["metrics"]
        cpu = r.get("server_cpu_ms_per_request")
        table.add_row(
            row["name"], str(row["connections"]), str(r["requests"]), str(r["failed"]), f"{r['rps']:.0f}",
            str(r["p50_ms"]), str(r["p90_ms"]), str(r["p99_ms"]), str(r["max_ms"]), "" if cpu is None else str(cpu),
        )  # fmt: skip
    console.print(table)
    print(markdown_table(rows))  # for docs/bench/http.md
    if swaps:
        console.print(
            f"swaps: {len(swaps)} ({Counter(s['status'] for s in swaps)}), seconds each: {[s['seconds'] for s in swaps]}"
        )
    payload = {
        "benchmark": "http",
        "client": "wrk -t1 (closed loop)",
        "command": "python " + " ".join(sys.argv),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_end": load,
            "autogroup_nice": args.autogroup_nice,
        },
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "search_query_mix": paths["_query_mix"],
        "note": "client and server share the machine; server_cpu_ms_per_request is user+system CPU of "
        "all server processes divided by the requests of the row",
        "rows": rows,
        "swaps": swaps,
        "cloned_run": cloned,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
