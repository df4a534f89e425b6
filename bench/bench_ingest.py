"""Benchmark: event ingest throughput into SQLite and PostgreSQL, with peak memory.

Scenarios (each in its own child process, so ``ru_maxrss`` is that scenario's peak memory):

* ``csv→sqlite``   — ``ingest_file(store, "events", events.csv)``: read, validate (vectorised), store;
* ``frame→sqlite`` — ``store.add_events_frame(frame)``: the store's bulk path alone;
* ``re-ingest sqlite`` — the same CSV again: every row is a duplicate, nothing is written;
* the same three against PostgreSQL (a throw-away cluster started with ``initdb``/``pg_ctl``, or
  ``--pg-url``), where the bulk path is ``COPY`` into a temporary table + ``INSERT … ON CONFLICT``.

    .venv/bin/python bench/bench_ingest.py [--events 1000000] [--pg-events 1000000] [--skip-pg]

The events file is synthetic (10k items, 50k users, ISO timestamps, 8 event types). Prints a rich
table and writes ``bench/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"
TYPES = np.array(["view", "view", "view", "view", "click", "cart", "purchase", "rating"])


def make_events(n: int, n_users: int = 50_000, n_items: int = 10_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    types = TYPES[rng.integers(0, len(TYPES), n)]
    value = np.where(types == "rating", rng.integers(1, 6, n).astype(float), np.nan)
    ts = pd.to_datetime(1_700_000_000 + np.sort(rng.integers(0, 90 * 86_400, n)), unit="s", utc=True)
    return pd.DataFrame(
        {
            "id": [f"ev{i:09d}" for i in range(n)],
            "user_id": [f"u{i}" for i in rng.integers(0, n_users, n)],
            "item_id": [f"sku{i}" for i in rng.integers(0, n_items, n)],
            "type": types,
            "value": value,
            "session_id": [f"s{i}" for i in rng.integers(0, n // 8 + 1, n)],
            "timestamp": ts,
        }
    )


def prepare(store_url: str, n_users: int = 50_000, n_items: int = 10_000) -> None:
    from shopmind.data.schema import Item, User
    from shopmind.store.sql import SqlStore

    s = SqlStore(store_url)
    s.upsert_items([Item(id=f"sku{i}", title=f"Item {i}") for i in range(n_items)])
    s.upsert_users([User(id=f"u{i}") for i in range(n_users)])
    s.close()


def child(scenario: str, store_url: str, csv_path: str, n: int) -> dict:
    """Runs in a fresh interpreter; prints one JSON line."""
    from shopmind.ingest import ingest_file
    from shopmind.store.sql import SqlStore

    store = SqlStore(store_url)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    t0 = time.perf_counter()
    if scenario == "frame":
        frame = make_events(n)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu0 = usage.ru_utime + usage.ru_stime
        t0 = time.perf_counter()  # the store path only, not building the frame
        res = store.add_events_frame(frame)
        out = {"inserted": res.inserted, "duplicates": res.duplicates, "rejected": 0}
    else:
        rep = ingest_file(store, "events", csv_path)
        out = {
            "inserted": rep.inserted,
            "duplicates": rep.duplicates,
            "rejected": rep.rejected,
            "chunks": len(rep.chunks),
        }
    wall = time.perf_counter() - t0
    store.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.update(
        seconds=round(wall, 2),
        events_per_s=round(n / wall),
        cpu_s=round(usage.ru_utime + usage.ru_stime - cpu0, 2),
        peak_rss_mb=round(usage.ru_maxrss / 1024.0),
    )
    return out


def run_child(scenario: str, store_url: str, csv_path: Path, n: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        scenario,
        "--url",
        store_url,
        "--csv",
        str(csv_path),
        "--events",
        str(n),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"{scenario} failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


class TempPostgres:
    """A throw-away PostgreSQL cluster (as the store test suite starts one)."""

    def __init__(self) -> None:
        import glob
        import pwd

        def find(name: str) -> str:
            for c in [
                shutil.which(name),
                f"/usr/local/bin/{name}",
                *sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")),
            ]:
                if c and os.access(c, os.X_OK):
                    return c
            raise RuntimeError(f"{name} not found")

        self.initdb, self.pg_ctl = find("initdb"), find("pg_ctl")
        self.prefix = []
        self.root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.root.chmod(0o755)
        if os.geteuid() == 0:
            pwd.getpwnam("postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, user="postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"postgresql://bench@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        data = str(self.root / "data")
        subprocess.run(
            [*self.prefix, self.initdb, "-D", data, "-A", "trust", "-U", "bench", "--no-sync"],
            check=True,
            capture_output=True,
        )
        # Default durability settings (fsync on): the figures are what a real server would give.
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c shared_buffers=256MB"
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", data, "-o", opts, "-l", str(self.root / "log"), "-w", "start"],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", str(self.root / "data"), "-m", "fast", "-w", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--pg-events", type=int, default=1_000_000)
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--pg-url", default=None, help="use this PostgreSQL database instead of starting one")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--url", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--csv", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, args.csv, args.events)))
        return

    console = Console(width=150)
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    rows: list[dict] = []
    try:
        csv_path = work / "events.csv"
        n_csv = max(args.events, 0 if args.skip_pg else args.pg_events)
        t0 = time.perf_counter()
        frame = make_events(n_csv)
        frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        frame.head(args.events).to_csv(csv_path, index=False)
        console.print(
            f"wrote {args.events:,} events ({csv_path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f}s"
        )
        del frame

        def bench(backend: str, url_for: callable, n: int, csv: Path) -> None:
            for scenario, label in (
                ("csv", "csv→store (ingest_file)"),
                ("frame", "frame→store (add_events_frame)"),
            ):
                url = url_for(scenario)
                prepare(url)
                res = run_child(scenario, url, csv, n)
                rows.append(
                    {
                        "name": f"{label} [{backend}]",
                        "backend": backend,
                        "scenario": scenario,
                        "events": n,
                        **res,
                    }
                )
                console.print(rows[-1])
                if scenario == "csv":
                    res = run_child("csv", url, csv, n)
                    rows.append(
                        {
                            "name": f"re-ingest, all duplicates [{backend}]",
                            "backend": backend,
                            "scenario": "reingest",
                            "events": n,
                            **res,
                        }
                    )
                    console.print(rows[-1])

        bench("sqlite", lambda sc: f"sqlite:///{work / f'{sc}.db'}", args.events, csv_path)

        if not args.skip_pg:
            pg_csv = csv_path
            if args.pg_events != args.events:
                pg_csv = work / "events_pg.csv"
                make_events(args.pg_events).assign(
                    timestamp=lambda f: f["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                ).to_csv(pg_csv, index=False)
            cluster = None
            try:
                if args.pg_url:
                    base = args.pg_url
                else:
                    cluster = TempPostgres()
                    cluster.start()
                    base = cluster.url
                import psycopg

                def pg_db(sc: str) -> str:
                    name = f"bench_{sc}"
                    with psycopg.connect(base, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                        conn.execute(f'CREATE DATABASE "{name}"')
                    return base.rsplit("/", 1)[0] + f"/{name}"

                bench("postgresql", pg_db, args.pg_events, pg_csv)
            finally:
                if cluster:
                    cluster.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = Table(title="Event ingest throughput (2 shared cores)")
    for col in (
        "backend",
        "scenario",
        "events",
        "inserted",
        "duplicates",
        "seconds",
        "events/s",
        "CPU s",
        "peak RSS MB",
    ):
        table.add_column(col, justify="right" if col not in ("backend", "scenario") else "left")
    for r in rows:
        table.add_row(
            r["backend"],
            r["name"].rsplit(" [", 1)[0],
            f"{r['events']:,}",
            f"{r['inserted']:,}",
            f"{r['duplicates']:,}",
            f"{r['seconds']:.1f}",
            f"{r['events_per_s']:,}",
            str(r.get("cpu_s", "")),
            str(r["peak_rss_mb"]),
        )
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "dataset": "synthetic events (10k items, 50k users)",
        "protocol": "one process per scenario; wall time of ingest_file / add_events_frame; ru_maxrss",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "load_average_at_end": os.getloadavg(),
        "note": "measured on a 2-core machine shared with other jobs: wall time is inflated; cpu_s is the "
        "process's own CPU time (user + system) and, for the threaded ingest, can exceed the wall time",
        "rows": [{"name": r["name"], "metrics": {k: v for k, v in r.items() if k != "name"}} for r in rows],
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
