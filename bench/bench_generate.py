"""Benchmark: synthetic shop generation throughput.

* ``demo`` preset: the whole shop written to files (rows/s over all files, wall time);
* a bounded slice of ``large`` (1M users × 100k items × 50M events): the catalogue and customers in
  full, then the first ``--large-chunks`` blocks of 20k customers simulated and streamed to
  ``events.parquet`` (events/s, peak memory), which bounds the full run's time by linear extrapolation.

    .venv/bin/python bench/bench_generate.py [--large-chunks 2] [--skip-large]

Prints a rich table and writes ``bench/results/generate.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from shopmind.datasets.synthetic import ShopConfig, build_shop, generate
from shopmind.datasets.synthetic.behaviour import n_chunks, simulate_chunk
from shopmind.datasets.synthetic.generate import _EventWriter


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_demo(seed: int) -> dict:
    out = Path(tempfile.mkdtemp(prefix="shop-demo-"))
    try:
        cfg = ShopConfig.preset("demo", seed=seed)
        t0 = time.perf_counter()
        res = generate(cfg, out)
        wall = time.perf_counter() - t0
        rows = sum(res.counts.values())
        size_mb = sum(p.stat().st_size for p in out.iterdir()) / 1e6
        return {
            "name": "demo (all files)",
            "config": {"n_items": cfg.n_items, "n_users": cfg.n_users, "n_events": cfg.n_events},
            "counts": res.counts,
            "seconds": round(wall, 2),
            "rows_per_s": round(rows / wall),
            "events_per_s": round(res.counts["events"] / wall),
            "output_mb": round(size_mb, 1),
            "peak_rss_mb": round(peak_rss_mb()),
        }
    finally:
        shutil.rmtree(out, ignore_errors=True)


def bench_large_slice(seed: int, chunks: int) -> dict:
    cfg = ShopConfig.preset("large", seed=seed)
    out = Path(tempfile.mkdtemp(prefix="shop-large-"))
    try:
        t0 = time.perf_counter()
        shop = build_shop(cfg)
        t_setup = time.perf_counter() - t0
        writer = _EventWriter(out / "events.parquet", "parquet")
        events = orders = reviews = 0
        t1 = time.perf_counter()
        for chunk in range(chunks):
            res = simulate_chunk(cfg, shop.calendar, shop.catalog, shop.users, chunk)
            writer.write(res.events)
            events += len(res.events)
            orders += len(res.orders)
            reviews += len(res.reviews)
        writer.close()
        t_events = time.perf_counter() - t1
        total_chunks = n_chunks(cfg)
        return {
            "name": f"large slice ({chunks}/{total_chunks} blocks)",
            "config": {"n_items": cfg.n_items, "n_users": cfg.n_users, "n_events": cfg.n_events},
            "setup_seconds": round(t_setup, 2),
            "blocks": chunks,
            "events": events,
            "orders": orders,
            "reviews": reviews,
            "seconds": round(t_events, 2),
            "events_per_s": round(events / t_events),
            "extrapolated_full_events_minutes": round((t_setup + t_events / chunks * total_chunks) / 60, 1),
            "parquet_mb": round((out / "events.parquet").stat().st_size / 1e6, 1),
            "peak_rss_mb": round(peak_rss_mb()),
        }
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--large-chunks", type=int, default=2)
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("bench/results/generate.json"))
    args = ap.parse_args()
    console = Console()
    rows = [bench_demo(args.seed)]
    if not args.skip_large:
        rows.append(bench_large_slice(args.seed, args.large_chunks))
    table = Table(title="synthetic shop generation (2 shared CPU cores, under contention)")
    for col in ("run", "events", "seconds", "events/s", "rows/s (all files)", "peak RSS MB"):
        table.add_column(col, justify="right" if col != "run" else "left")
    for r in rows:
        ev = r["counts"]["events"] if "counts" in r else r["events"]
        table.add_row(
            r["name"],
            f"{ev:,}",
            f"{r['seconds']:.1f}",
            f"{r['events_per_s']:,}",
            f"{r.get('rows_per_s', 0):,}" if "rows_per_s" in r else "–",
            str(r["peak_rss_mb"]),
        )
    console.print(table)
    if len(rows) > 1:
        console.print(
            f"large: setup (catalogue + 1M customers) {rows[1]['setup_seconds']} s; full 50M events "
            f"extrapolated to ≈ {rows[1]['extrapolated_full_events_minutes']} min"
        )
    payload = {
        "benchmark": "generate",
        "command": "python bench/bench_generate.py"
        + (" --skip-large" if args.skip_large else f" --large-chunks {args.large_chunks}"),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
