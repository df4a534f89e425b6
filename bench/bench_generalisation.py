"""Generalisation benchmark: every capability on every data set we have for it, ranked per data set.

    nice -n 10 .venv/bin/python bench/bench_generalisation.py                  # everything
    nice -n 10 .venv/bin/python bench/bench_generalisation.py --only recommend # one capability

For each capability the methods run with their neutral library defaults, the automatic choice where
there is one (recommend: ``shopmind.recommend.tuning`` on the training part only; forecast: the
per-series choice ``auto``), and with every shipped preset that configures them (``shopmind.presets``,
applied to every data set, not only the one it was tuned on). Each method gets its rank on each data set
(1 = best) and its relative gain over the standard baseline (popularity / BM25 / TF-IDF logistic
regression / SeasonalNaive); the summary is the mean rank and the mean relative gain over the data sets
the method ran on. Everything goes through the project's evaluation code
(``shopmind.evaluate.harness``, ``shopmind.evaluate.search``, ``shopmind.evaluate.assistant``,
``shopmind.evaluate.forecast``).

Fast-but-honest settings (printed and written to the JSON): one split seed (42); EASE models at most
the 5000 most popular items in float32 (what ``shopmind train`` does on a shop); forecasting keeps the
first ``--forecast-series`` series of each data set with 2 rolling test windows; search scores BM25,
the semantic and hybrid modes (the LTR mode needs a 5-fold cross-fit and is left out unless
``--search-ltr``) on Chorus and on the demo shop's own search log; intents score the ensemble and its
parts on the official/seeded splits, with all training examples and with 10 per intent.
Results: ``bench/results/generalisation.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DATASETS = ROOT.parent / "shared" / "datasets"
console = Console()
log = logging.getLogger("bench_generalisation")

REC_METHODS = ("popularity", "item_knn", "ease", "als", "seq_rules")
"""Recommenders run with neutral defaults on every data set (each also with every preset configuring it)."""

AUTO_CANDIDATES = ("popularity", "ease", "item_knn", "als")
"""What the automatic choice chooses among (the ``shopmind train`` default set, content aside: three of
the four data sets have no item text)."""

EASE_TOP_ITEMS = 5000


def _cpu() -> float:
    return time.process_time()


# ====================================================================== recommend
def rec_splits(data_dir: Path, cache: Path) -> dict[str, Callable[[], Any]]:
    """Data set name → a builder of its evaluation split (built lazily, one at a time)."""
    from shopmind.data.dataset import Dataset
    from shopmind.evaluate import protocols as P

    ml = data_dir / "ml-100k"

    def ml_temporal() -> Any:
        ratings, _, _ = P.read_ml100k(ml)
        frame = ratings.assign(type="rating", value=ratings["rating"]).drop(columns="rating")
        return P.temporal_protocol(Dataset.from_frame(frame), test_fraction=0.2, name="ml-100k")

    def synthetic() -> Any:
        folder = demo_shop(cache)
        ev = pd.read_csv(folder / "events.csv", usecols=["user_id", "item_id", "type", "value", "timestamp"])
        ev = ev[ev["item_id"].notna()]
        ev["timestamp"] = pd.to_datetime(ev["timestamp"], utc=True).astype("int64") // 10**9
        return P.temporal_protocol(Dataset.from_frame(ev), test_fraction=0.2, name="synthetic-shop")

    return {
        "ml-100k msr": lambda: P.msr_protocol(ml, seed=42),
        "ml-100k temporal": ml_temporal,
        "Beauty loo": lambda: P.loo_protocol(data_dir / "amazon-beauty-seq" / "Beauty.txt", dataset="Beauty"),
        "synthetic shop temporal": synthetic,
    }


def _shop_config(name: str, cfg: dict[str, Any], n_items: int) -> dict[str, Any]:
    if name == "ease" and n_items > EASE_TOP_ITEMS:
        return {"top_items": EASE_TOP_ITEMS, "precision": "float32", **cfg}
    return cfg


def _score(
    rows: list[dict[str, Any]],
    split: Any,
    method: str,
    variant: str,
    model: Any,
    extra: dict[str, Any] | None = None,
) -> None:
    """Fit ``model`` on the split's training part and append its test nDCG@10 (the evaluation harness)."""
    from shopmind.evaluate.harness import evaluate_model

    t0 = _cpu()
    res = evaluate_model(method, lambda s, seed: model, split, seed=42)
    rows.append(
        {
            "method": method,
            "variant": variant,
            "score": res.metrics["ndcg@10"],
            "cpu_s": round(_cpu() - t0, 2),
            **(extra or {}),
        }
    )


def run_recommend(args: argparse.Namespace, progress: Progress) -> list[dict[str, Any]]:
    from shopmind import presets as presets_mod
    from shopmind.recommend import make_algorithm
    from shopmind.recommend.base import Runtime
    from shopmind.recommend.hybrid import Hybrid
    from shopmind.recommend.tuning import tune

    presets = [presets_mod.load_preset(p) for p in presets_mod.available()]
    out = []
    splits = rec_splits(args.data_dir, args.cache)
    task = progress.add_task("recommend", total=len(splits))
    for dname, build in splits.items():
        started = _cpu()
        progress.update(task, description=f"recommend: {dname} (split)")
        split = build()
        rows: list[dict[str, Any]] = []
        runtime = Runtime(seed=42, threads=args.threads)

        jobs: list[tuple[str, str, dict[str, Any]]] = [(m, "default", {}) for m in REC_METHODS]
        for preset in presets:
            for m in REC_METHODS:
                cfg = preset.recommend_config(m)
                if cfg is not None:
                    jobs.append((m, f"preset {preset.name}", cfg))
        for m, variant, cfg in jobs:
            progress.update(task, description=f"recommend: {dname} · {m} ({variant})")
            try:
                model = make_algorithm(m, _shop_config(m, cfg, split.n_items), runtime)
                _score(rows, split, m, variant, model)
            except Exception as exc:  # one method failing must not lose the table
                rows.append(
                    {"method": m, "variant": variant, "score": None, "error": f"{type(exc).__name__}: {exc}"}
                )
        progress.update(task, description=f"recommend: {dname} · automatic choice")
        t0 = _cpu()
        components = {m: _shop_config(m, {}, split.n_items) for m in AUTO_CANDIDATES}
        choice = tune(
            split.train, components, budget_s=args.tune_budget_s, runtime=runtime, holdout_how=args.holdout
        )
        chosen = (
            Hybrid({"components": choice.components, "weights": choice.weights}, runtime)
            if choice.chosen == "hybrid"
            else make_algorithm(choice.chosen, choice.components[choice.chosen], runtime)
        )
        tune_s = _cpu() - t0
        _score(
            rows,
            split,
            "auto",
            f"automatic choice, {args.holdout} hold-out",
            chosen,
            {
                "chosen": choice.chosen_trial.name if choice.chosen_trial else choice.chosen,
                "holdout_ndcg": choice.chosen_score,
                "tuning_cpu_s": round(tune_s, 1),
            },
        )
        out.append(
            {
                "capability": "recommend",
                "dataset": dname,
                "metric": "nDCG@10",
                "baseline": "popularity",
                "protocol": f"{split.protocol}; {len(split.users)} users, {split.n_items} items",
                "cpu_s": round(_cpu() - started, 1),
                "rows": rows,
            }
        )
        progress.advance(task)
    return out


# ====================================================================== search
def demo_shop(cache: Path) -> Path:
    """The seeded demo shop's files (generated once into ``cache``)."""
    from shopmind.datasets.synthetic import ShopConfig, generate

    folder = cache / "demo-shop-42"
    if not (folder / "events.csv").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        generate(ShopConfig.preset("demo", seed=42), folder)
    return folder


def run_search(args: argparse.Namespace, progress: Progress) -> list[dict[str, Any]]:
    from shopmind.datasets.judged import read_products
    from shopmind.evaluate.search import BASELINE, evaluate, judged_from_events, load_chorus, read_events

    modes = ["bm25", "semantic", "hybrid"] + (["ltr"] if args.search_ltr else [])

    def shop_log() -> Any:
        folder = demo_shop(args.cache)
        return judged_from_events(read_products(folder / "items.jsonl"), read_events(folder / "events.csv"))

    sets = {
        "chorus-icecat": (lambda: load_chorus(args.data_dir / "chorus-icecat-search"), "expert judgements"),
        "synthetic shop": (shop_log, "judged by the sessions' clicks, carts and purchases (its search log)"),
    }
    task = progress.add_task("search", total=len(sets))
    out: list[dict[str, Any]] = []
    for name, (load, judged_by) in sets.items():
        progress.update(task, description=f"search: {name}")
        started = _cpu()
        res = evaluate(load(), modes, cache_dir=ROOT / "var" / "cache" / "search")  # shared with the CLI
        progress.advance(task)
        rows = [
            {
                "method": "bm25s title (baseline)" if r["name"] == BASELINE else r["name"],
                "variant": "default",
                "score": r["metrics"]["ndcg@10"],
            }
            for r in res["rows"]
        ]
        out.append(
            {
                "capability": "search",
                "dataset": name,
                "metric": "nDCG@10",
                "baseline": "bm25s title (baseline)",
                "protocol": f"{res['n_queries']} queries {judged_by}, modes {modes}",
                "cpu_s": round(_cpu() - started, 1),
                "rows": rows,
            }
        )
    return out


# ====================================================================== intents
INTENT_SETTINGS: tuple[tuple[str, int | None, str], ...] = (
    ("full training set", None, "banking77"),
    ("10 examples per intent", 10, "banking77-10shot"),
)
"""(setting, shots per intent, the shipped preset for that setting): each runs with neutral defaults and
with the preset, on every data set."""


def run_intents(args: argparse.Namespace, progress: Progress) -> list[dict[str, Any]]:
    from shopmind.assistant.intents import IntentConfig, read_intent_csv
    from shopmind.datasets.dialogue import load_bitext
    from shopmind.evaluate.assistant import evaluate_intents, stratified_split
    from shopmind.presets import load_presets

    def official(folder: str) -> tuple[list[str], list[str], list[str], list[str]]:
        tr_t, tr_l = read_intent_csv(args.data_dir / folder / "train.csv")
        te_t, te_l = read_intent_csv(args.data_dir / folder / "test.csv")
        return tr_t, tr_l, te_t, te_l

    def bitext() -> tuple[list[str], list[str], list[str], list[str]]:
        frame = load_bitext(args.data_dir / "bitext-customer-support")
        texts, labels = frame["text"].tolist(), frame["intent"].tolist()
        tr, te = stratified_split(labels, 0.2, 42)
        return (
            [texts[i] for i in tr],
            [labels[i] for i in tr],
            [texts[i] for i in te],
            [labels[i] for i in te],
        )

    out: list[dict[str, Any]] = []
    sets: dict[str, Callable[[], tuple[list[str], list[str], list[str], list[str]]]] = {
        "BANKING77 (official split)": lambda: official("banking77"),
        "Bitext (seeded 80/20)": bitext,
        "SMP2017 zh (official split)": lambda: official("zh-intents"),
    }
    task = progress.add_task("intents", total=len(sets) * len(INTENT_SETTINGS) * 2)
    for name, load in sets.items():
        data = load()
        for setting, shots, preset in INTENT_SETTINGS:
            started = _cpu()
            rows: list[dict[str, Any]] = []
            for variant in ("default", f"preset {preset}"):
                progress.update(task, description=f"intents: {name}, {setting}, {variant}")
                config = IntentConfig.from_presets(load_presets([preset])) if variant != "default" else None
                for r in evaluate_intents(
                    *data,
                    name=name,
                    model="ensemble",
                    shots=shots,
                    seed=42,
                    config=config,
                    cache_dir=args.cache / "intents",
                ):
                    if r["model"] == "tfidf" and variant != "default":
                        continue  # a preset does not change the TF-IDF part: one baseline row
                    rows.append({"method": r["model"], "variant": variant, "score": r["metrics"]["accuracy"]})
                progress.advance(task)
            out.append(
                {
                    "capability": "intents",
                    "dataset": f"{name}, {setting}",
                    "metric": "accuracy",
                    "baseline": "tfidf",
                    "protocol": f"{setting} (seed 42); neutral IntentConfig and preset {preset}",
                    "cpu_s": round(_cpu() - started, 1),
                    "rows": rows,
                }
            )
    out.append(
        {
            "capability": "intents",
            "dataset": "ECD (Taobao)",
            "skipped": "not applicable: ECD is a response-selection corpus without intent labels "
            "(shopmind evaluate responses scores it)",
        }
    )
    return out


# ====================================================================== forecast
def run_forecast(args: argparse.Namespace, progress: Progress) -> list[dict[str, Any]]:
    from shopmind.evaluate.forecast import backtest, benchmark_config, load_benchmark

    out: list[dict[str, Any]] = []
    names = ("walmart", "aus-retail", "us-retail", "synthetic")
    task = progress.add_task("forecast", total=len(names))
    for name in names:
        started = _cpu()
        progress.update(task, description=f"forecast: {name}")
        df = load_benchmark(name, args.data_dir, n_series=args.forecast_series)
        res = backtest(df, benchmark_config(name), n_test=2, n_jobs=1)
        total = res.row("auto")["metrics"]["n_series"]  # every series long enough to be scored
        rows = []
        for r in res.rows:
            mase, n = r.get("metrics", {}).get("mase"), r.get("metrics", {}).get("n_series", total)
            if not isinstance(mase, float):
                continue
            if n == total:
                rows.append({"method": r["name"], "variant": "default", "score": mase})
            else:  # a model runs only on the series whose demand class lists it: not comparable
                rows.append({"method": r["name"], "variant": f"{n} of {total} series", "partial_score": mase})
        # the same windows re-scored with the SeasonalNaive fallback of the per-series choice
        fallback = backtest(
            df, benchmark_config(name, benchmark_fallback=True), n_test=2, n_jobs=1, cv=res.cv
        )
        rows.append(
            {
                "method": "auto",
                "variant": "SeasonalNaive fallback",
                "score": fallback.row("auto")["metrics"]["mase"],
            }
        )
        out.append(
            {
                "capability": "forecast",
                "dataset": name,
                "metric": "MASE (lower is better)",
                "lower_is_better": True,
                "baseline": "SeasonalNaive",
                "protocol": f"first {df['unique_id'].nunique()} series ({total} long enough), 2 rolling test windows; "
                "ranked: the rows scored on every "
                "series (a model listed for one demand class only is scored on that class's series)",
                "cpu_s": round(_cpu() - started, 1),
                "rows": rows,
            }
        )
        progress.advance(task)
    return out


# ====================================================================== summary
def rank_and_gain(section: dict[str, Any]) -> None:
    """Adds ``rank`` (1 = best; ties share the better rank) and ``gain`` (relative to the baseline,
    sign so that positive is better) to each scored row of one capability × data set."""
    rows = [r for r in section.get("rows", []) if isinstance(r.get("score"), float | int)]
    lower = section.get("lower_is_better", False)
    base = [r["score"] for r in rows if r["method"] == section["baseline"] and r["variant"] == "default"]
    values = np.array([r["score"] for r in rows], dtype=np.float64)
    key = values if lower else -values
    for r, k in zip(rows, key, strict=True):
        r["rank"] = int((key < k - 1e-12).sum()) + 1
        if base and base[0]:
            g = r["score"] / base[0] - 1.0
            r["gain"] = -g if lower else g


def summarise(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per capability × method (variant): mean rank, mean gain over the data sets it ran on."""
    acc: dict[tuple[str, str, str], list[tuple[int, float | None, str]]] = {}
    for s in sections:
        for r in s.get("rows", []):
            if "rank" in r:
                acc.setdefault((s["capability"], r["method"], r["variant"]), []).append(
                    (r["rank"], r.get("gain"), s["dataset"])
                )
    out = []
    for (cap, method, variant), vals in acc.items():
        gains = [g for _, g, _ in vals if g is not None]
        out.append(
            {
                "capability": cap,
                "method": method,
                "variant": variant,
                "datasets": len(vals),
                "mean_rank": float(np.mean([r for r, _, _ in vals])),
                "mean_gain": float(np.mean(gains)) if gains else None,
            }
        )
    return sorted(out, key=lambda r: (r["capability"], r["mean_rank"]))


def markdown(sections: list[dict[str, Any]], summary: list[dict[str, Any]]) -> str:
    """The tables for docs/benchmarks.md: per capability, rank (score) per data set + means."""
    lines = []
    for cap in dict.fromkeys(s["capability"] for s in sections):
        secs = [s for s in sections if s["capability"] == cap]
        ran = [s for s in secs if "rows" in s]
        metric = ran[0]["metric"] if ran else ""
        lines.append(f"**{cap}** ({metric}; rank on the data set, score in brackets)\n")
        head = ["method", *[s["dataset"] for s in ran], "mean rank", "mean gain vs baseline"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for row in [r for r in summary if r["capability"] == cap]:
            cells = [f"{row['method']}" + ("" if row["variant"] == "default" else f" [{row['variant']}]")]
            for s in ran:
                hit = [
                    r for r in s["rows"] if r["method"] == row["method"] and r["variant"] == row["variant"]
                ]
                cells.append(f"{hit[0]['rank']} ({hit[0]['score']:.4f})" if hit and "rank" in hit[0] else "—")
            cells.append(f"{row['mean_rank']:.2f}")
            cells.append("—" if row["mean_gain"] is None else f"{100 * row['mean_gain']:+.1f} %")
            lines.append("| " + " | ".join(cells) + " |")
        for s in ran:
            partial = [
                f"{r['method']} {r['partial_score']:.4f} ({r['variant']})"
                for r in s["rows"]
                if "partial_score" in r
            ]
            if partial:
                lines.append(
                    f"\n*{s['dataset']}, not ranked* (scored on part of the series): " + "; ".join(partial)
                )
        for s in secs:
            if "skipped" in s:
                lines.append(f"\n*{s['dataset']}*: not run — {s['skipped']}")
        lines.append("")
    return "\n".join(lines)


RUNNERS = {"recommend": run_recommend, "search": run_search, "intents": run_intents, "forecast": run_forecast}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(RUNNERS), help="comma-separated: " + ", ".join(RUNNERS))
    ap.add_argument("--data-dir", type=Path, default=DATASETS)
    ap.add_argument("--cache", type=Path, default=ROOT / "var" / "bench-cache")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tune-budget-s", type=float, default=60.0, help="CPU seconds of the automatic choice")
    ap.add_argument(
        "--holdout",
        choices=("user", "global"),
        default="user",
        help="hold-out of the automatic choice: each user's latest events, or one time cut",
    )
    ap.add_argument("--forecast-series", type=int, default=100, help="series kept per forecasting data set")
    ap.add_argument("--search-ltr", action="store_true", help="also score the cross-fitted LTR mode")
    ap.add_argument("--out", type=Path, default=RESULTS / "generalisation.json")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    only = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = sorted(set(only) - set(RUNNERS))
    if unknown:
        ap.error(f"--only: unknown capability {unknown} (expected some of {', '.join(RUNNERS)})")
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    sections = [s for s in previous.get("sections", []) if s["capability"] not in only]
    started = _cpu()
    wall = time.perf_counter()
    with Progress(console=console) as progress:
        for cap in only:
            try:
                sections += RUNNERS[cap](args, progress)
            except Exception as exc:  # report the capability as not run, keep the others
                log.exception("%s failed", cap)
                sections.append(
                    {"capability": cap, "dataset": "all", "skipped": f"{type(exc).__name__}: {exc}"}
                )
    order = list(RUNNERS)
    sections.sort(key=lambda s: order.index(s["capability"]))
    for s in sections:
        rank_and_gain(s)
    summary = summarise(sections)
    from shopmind.evaluate.provenance import provenance

    payload = {
        "command": "nice -n 10 .venv/bin/python bench/bench_generalisation.py " + " ".join(argv or []),
        "settings": {k: str(v) for k, v in vars(args).items()},
        "cpu_s": round(_cpu() - started, 1),
        "wall_s": round(time.perf_counter() - wall, 1),
        "sections": sections,
        "summary": summary,
        "provenance": provenance(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1, default=str))
    table = Table(title="generalisation: mean rank and mean gain over the baseline")
    for col in ("capability", "method", "variant", "data sets", "mean rank", "mean gain"):
        table.add_column(col)
    for r in summary:
        gain = "—" if r["mean_gain"] is None else f"{100 * r['mean_gain']:+.1f} %"
        table.add_row(
            r["capability"], r["method"], r["variant"], str(r["datasets"]), f"{r['mean_rank']:.2f}", gain
        )
    console.print(table)
    print(markdown(sections, summary))  # plain text: the [variant] brackets are not markup
    console.print(f"wrote {args.out} (CPU {payload['cpu_s']} s, wall {payload['wall_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
