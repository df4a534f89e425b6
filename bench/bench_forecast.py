"""Forecasting benchmarks: speed of per-series model choice, and rolling-origin backtests.

    # speed: 1,000 daily series × 730 days, model choice by rolling-origin CV + refit + forecast
    .venv/bin/python bench/bench_forecast.py speed --n-series 1000 --days 730 --n-jobs 2

    # accuracy: the backtest of `shopmind evaluate forecast` on each dataset
    .venv/bin/python bench/bench_forecast.py backtest --dataset aus-retail --data-dir ../shared/datasets

Results go to ``bench/results/forecast_*.json``. Wall time is measured together with the CPU time
of this process and its worker processes, because the shared development machine is usually
oversubscribed: CPU seconds / cores is the better estimate of an unloaded run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from shopmind.cli.forecast import backtest_table

RESULTS = Path(__file__).resolve().parent / "results"
console = Console()


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def speed(args: argparse.Namespace) -> dict:
    import pandas as pd

    from shopmind.config import ForecastTrainConfig
    from shopmind.datasets.demand import synthetic_demand
    from shopmind.forecast.series import build_series
    from shopmind.forecast.service import fit_store

    df = synthetic_demand(args.n_series, args.days, seed=args.seed)
    sales = df.rename(columns={"unique_id": "item_id", "ds": "date", "y": "units"})
    cats = {u: f"cat{int(u[3:]) % 10}" for u in df["unique_id"].unique()}
    items = pd.DataFrame({"id": list(cats), "category": [[c] for c in cats.values()]})
    cfg = ForecastTrainConfig(
        horizon=args.horizon,
        top_n=args.top_n,
        n_windows=args.windows,
        tail_windows=args.tail_windows,
        input_size=args.input_size,
    )
    t0, c0 = time.perf_counter(), _cpu()
    series = build_series(sales, items)
    t1 = time.perf_counter()
    sf = fit_store(series, cfg, n_jobs=args.n_jobs)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    out = {
        "benchmark": "forecast speed",
        "n_series": args.n_series,
        "days": args.days,
        "n_jobs": args.n_jobs,
        "config": sf.info["config"],
        "series_build_s": round(t1 - t0, 2),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_s_per_core": round(cpu / max(args.n_jobs, 1), 2),
        "load_average_1m": os.getloadavg()[0],
        "models": sf.info["models"],
        "demand_classes": sf.info["demand_classes"],
    }
    t = Table(title=f"Forecast speed: {args.n_series} daily series × {args.days} days")
    for col in ("wall s", "CPU s", "CPU s / core", "n_jobs", "load avg", "models chosen"):
        t.add_column(col)
    t.add_row(
        f"{wall:.1f}",
        f"{cpu:.1f}",
        f"{cpu / max(args.n_jobs, 1):.1f}",
        str(args.n_jobs),
        f"{out['load_average_1m']:.1f}",
        json.dumps(out["models"]),
    )
    console.print(t)
    return out


def backtest_cmd(args: argparse.Namespace) -> dict:
    from shopmind.evaluate.forecast import backtest, benchmark_config, load_benchmark

    df = load_benchmark(args.dataset, Path(args.data_dir) if args.data_dir else None, n_series=args.n_series)
    over = {"horizon": args.horizon, "n_windows": args.windows, "input_size": args.input_size}
    cfg = benchmark_config(args.dataset, **over)
    t0, c0 = time.perf_counter(), _cpu()
    res = backtest(df, cfg, n_test=args.test_windows, n_jobs=args.n_jobs)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    title = f"Backtest {args.dataset}: {res.info['n_series']} series, wall {wall:.0f}s, CPU {cpu:.0f}s"
    console.print(backtest_table(title, res))
    console.print(f"chosen: {res.info['chosen_models']}")
    return {
        "dataset": args.dataset,
        "protocol": "rolling-origin backtest, nested per-series model choice",
        "config": cfg.model_dump(),
        "info": res.info,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "rows": res.rows,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--n-series", type=int, default=1000)
    s.add_argument("--days", type=int, default=730)
    s.add_argument("--horizon", type=int, default=28)
    s.add_argument("--windows", type=int, default=2)
    s.add_argument("--tail-windows", type=int, default=1)
    s.add_argument("--top-n", type=int, default=100)
    s.add_argument("--input-size", type=int, default=364)
    s.add_argument("--n-jobs", type=int, default=2)
    s.add_argument("--seed", type=int, default=42)
    b = sub.add_parser("backtest")
    b.add_argument("--dataset", required=True)
    b.add_argument("--data-dir", default=None)
    b.add_argument("--horizon", type=int, default=None)
    b.add_argument("--windows", type=int, default=3)
    b.add_argument(
        "--save-cv", type=Path, default=None, help="keep the CV forecasts (parquet) for re-scoring"
    )
    b.add_argument("--test-windows", type=int, default=2)
    b.add_argument("--input-size", type=int, default=None)
    b.add_argument("--n-series", type=int, default=None)
    b.add_argument("--n-jobs", type=int, default=1)
    for sp in (s, b):
        sp.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(v, "1")
    result = speed(args) if args.cmd == "speed" else backtest_cmd(args)
    name = "speed" if args.cmd == "speed" else args.dataset
    out = args.out or RESULTS / f"forecast_{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()
