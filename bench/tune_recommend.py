"""Hyper-parameter search on INNER validation splits only (never on the benchmark's test data).

ml-100k: the MS protocol's training set (outer split, seed 42) is split again with the same stratified
75/25-by-item procedure (``--inner-seed``, default 7; a comma list such as ``7,8`` averages the
metrics over several inner splits); configurations are ranked by nDCG@10 on the inner held-out part. Beauty: the ``loo`` validation phase (fit on each sequence minus its last two
items, score the second-to-last item); the test item is never looked at.

    .venv/bin/python bench/tune_recommend.py ml100k --algorithms ease,item_knn
    .venv/bin/python bench/tune_recommend.py beauty --algorithms sasrec --max-configs 4

Writes ``bench/results/tune_<part>.json`` (every configuration tried, best first per algorithm).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

GRIDS_ML100K: dict[str, dict[str, list[Any]]] = {
    "ease": {"l2": [100.0, 200.0, 300.0, 500.0, 800.0, 1200.0]},
    # the sequence-aware EASE (G = XᵀX + γ·C_w + λI); run with --inner-seed 7,8
    "ease_seq": {
        "l2": [500.0, 700.0, 1000.0, 1500.0],
        "sequence_weight": [1.0, 2.0, 3.0],
        "sequence_window": [3, 5, 10],
    },
    # sequence-aware EASE + activity-period columns + availability mask; run with --inner-seed 7,8
    # (a first grid over l2 700/1000/1500, bin 14/30 d, mask off/on with β = 0 chose 1000 / 30 d / on)
    "ease_context": {
        "l2": [500.0, 700.0, 1000.0],
        "sequence_weight": [1.0, 2.0],
        "activity_bin_days": [30.0],
        "activity_weight": [0.0, 1.0],
        "user_weight_exponent": [0.0, 0.5],
        "availability_mask": [True],
        "low_pass_rank": [0],  # added later (the grid below); 0 reproduces this grid's figures
    },
    # ease_context's GF-CF-style low-pass term on top of the grid above's choice; run with --inner-seed 7,8
    "ease_context_lowpass": {
        "l2": [500.0, 700.0],
        "low_pass_rank": [0, 32, 40, 48, 64],
        "low_pass_exponent": [0.0, 0.25, 0.5],
        "low_pass_weight": [0.45, 0.6, 0.8, 1.0],
    },
    "seq_cooc": {"window": [3, 5, 10, 20, 40], "decay": [0.9], "alpha": [0.3, 0.4, 0.5], "k": [2000]},
    "stacked": {"folds": [1, 4], "candidates": [25, 50], "num_leaves": [7], "learning_rate": [0.03]},
    "item_knn": {"similarity": ["cosine"], "k": [50, 100, 200, 400], "binary": [True]},
    "user_knn": {"similarity": ["cosine"], "k": [30, 50, 100, 200], "min_overlap": [1], "shrinkage": [0.0]},
    "als": {
        "factors": [32, 64, 128],
        "regularization": [0.05, 1.0, 10.0],
        "alpha": [1.0, 5.0],
        "binary": [True],
    },
    "bpr": {
        "factors": [100, 200],
        "learning_rate": [0.01],
        "regularization": [0.001, 0.01],
        "iterations": [100, 200, 400],
    },
    "neumf": {
        "factors": [16, 32, 64],
        "epochs": [10, 20],
        "batch_size": [4096],
        "lr": [0.003],
        "negatives": [4, 8],
    },
    "sasrec": {"epochs": [20, 40], "dropout": [0.2, 0.5], "loss": ["sampled_ce"]},
}

GRIDS_BEAUTY: dict[str, dict[str, list[Any]]] = {
    "ease": {"l2": [50.0, 200.0, 500.0]},
    # "_history_half_life" is a split option (fold-in rows weighted 0.5^(age/h)), not a model option.
    "item_knn": {
        "similarity": ["cosine"],
        "k": [100],
        "binary": [True],
        "_history_half_life": [None, 1.0, 2.0, 4.0],
    },
    "sasrec": {"epochs": [30], "dropout": [0.3, 0.5], "negatives": [512], "loss": ["sampled_ce"]},
}


ALIASES: dict[str, str] = {"ease_seq": "ease", "ease_context_lowpass": "ease_context"}
"""Grid names that tune another algorithm (a second grid for the same model)."""


def grid(spec: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(spec)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*(spec[k] for k in keys))]


def inner_ml100k(data_dir: Path, outer_seed: int, inner_seed: int, ratio: float = 0.75):
    from shopmind.evaluate.protocols import msr_split, read_ml100k, split_from_frames

    ratings, items, users = read_ml100k(data_dir)
    outer_train, _ = msr_split(ratings, seed=outer_seed)  # the outer test part is never touched
    inner_train, inner_valid = msr_split(outer_train, ratio=ratio, seed=inner_seed)
    return split_from_frames(
        inner_train, inner_valid, dataset="ml-100k (inner)", protocol="msr", items=items, users=users
    )


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    from shopmind.evaluate.harness import evaluate_model, factory
    from shopmind.evaluate.protocols import loo_protocol

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("part", choices=["ml100k", "beauty"])
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("SHOPMIND_DATASETS", ROOT.parent / "shared" / "datasets")),
    )
    p.add_argument("--algorithms", default="ease,item_knn,user_knn")
    p.add_argument(
        "--grid", type=Path, help='JSON {"algorithm": {"param": [values]}} replacing the built-in grid'
    )
    p.add_argument("--outer-seed", type=int, default=42)
    p.add_argument(
        "--inner-ratio",
        type=float,
        default=0.75,
        help="ml100k: share of the training set kept as inner training (0.9 = closer to the outer density)",
    )
    p.add_argument("--inner-seed", default="7", help="inner split seed(s), comma-separated (ml100k)")
    p.add_argument("--max-configs", type=int, default=0, help="stop after this many configs per algorithm")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    console = Console(width=220)
    if args.part == "ml100k":
        splits = [
            inner_ml100k(args.data_dir / "ml-100k", args.outer_seed, int(s), args.inner_ratio)
            for s in args.inner_seed.split(",")
        ]
        grids = GRIDS_ML100K
    else:
        splits = [loo_protocol(args.data_dir / "amazon-beauty-seq" / "Beauty.txt", phase="valid")]
        grids = GRIDS_BEAUTY
    if args.grid:
        grids = {**grids, **json.loads(args.grid.read_text())}
    report: dict[str, list[dict[str, Any]]] = {}
    for algo in args.algorithms.split(","):
        tried = []
        configs = grid(grids.get(algo, {}))
        if args.max_configs:
            configs = configs[: args.max_configs]
        for cfg in configs:
            t0 = time.perf_counter()
            model_cfg = {k: v for k, v in cfg.items() if not k.startswith("_")}
            these = splits
            if "_history_half_life" in cfg:
                these = [
                    loo_protocol(
                        args.data_dir / "amazon-beauty-seq" / "Beauty.txt",
                        phase="valid",
                        history_half_life=cfg["_history_half_life"],
                    )
                ]
            build = factory(ALIASES.get(algo, algo), model_cfg, threads=1)
            per_split = [evaluate_model(algo, build, sp, seed=args.outer_seed).metrics for sp in these]
            m = {k: float(np.mean([r[k] for r in per_split])) for k in ("ndcg@10", "map", "hr@10")}
            tried.append(
                {
                    "config": cfg,
                    "ndcg@10": m["ndcg@10"],
                    "map": m["map"],
                    "hr@10": m["hr@10"],
                    "seconds": time.perf_counter() - t0,
                    **({"ndcg@10_per_split": [r["ndcg@10"] for r in per_split]} if len(these) > 1 else {}),
                }
            )
            console.print(
                f"{algo} {cfg}: ndcg@10 {m['ndcg@10']:.4f} map {m['map']:.4f} ({tried[-1]['seconds']:.0f}s)"
            )
        tried.sort(key=lambda r: -r["ndcg@10"])
        report[algo] = tried
    t = Table(title=f"best configurations on the inner validation split ({args.part})")
    for c in ("algorithm", "config", "ndcg@10", "map"):
        t.add_column(c)
    for algo, tried in report.items():
        if tried:
            t.add_row(
                algo, json.dumps(tried[0]["config"]), f"{tried[0]['ndcg@10']:.4f}", f"{tried[0]['map']:.4f}"
            )
    console.print(t)
    out = args.out or ROOT / "bench" / "results" / f"tune_{args.part}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "part": args.part,
        "outer_seed": args.outer_seed,
        "inner_ratio": args.inner_ratio if args.part == "ml100k" else None,
        "inner_seed": [int(s) for s in args.inner_seed.split(",")] if args.part == "ml100k" else None,
        "results": report,
    }
    if out.exists():  # accumulate algorithms tuned in separate runs
        old = json.loads(out.read_text())
        if old.get("part") == args.part:
            merged = old.get("results", {})
            for algo, tried in report.items():
                seen = {json.dumps(r["config"], sort_keys=True): r for r in merged.get(algo, [])}
                seen.update({json.dumps(r["config"], sort_keys=True): r for r in tried})
                merged[algo] = sorted(seen.values(), key=lambda r: -r["ndcg@10"])
            payload["results"] = merged
    out.write_text(json.dumps(payload, indent=2) + "\n")
    console.print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
