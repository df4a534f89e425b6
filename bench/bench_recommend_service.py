"""Benchmark the recommendation service on a store: training time, artifact size, serving latency.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_recommend_service.py --store sqlite:///var/shopmind.db \
        [--users 300] [--threads 2] [--artifacts DIR] [--out bench/results/recommend_service.json]

Trains the ``recommend`` component exactly as ``shopmind train`` does (settings defaults: popularity,
EASE, item-kNN, ALS, content + hybrid, trending, bought-together) into a temporary directory (or
``--artifacts DIR``: trained there once and reused by later runs, so before/after latency runs
serve the very same models), loads it, then times ``recommend`` (personal path, fold-in path after ``observe``, cold start),
``similar_items`` and ``bought_together`` for a seeded sample of users/items, and checks that the
fold-in / session fast path (``Hybrid.score_row_parts``) answers every sampled request exactly like the
plain full-scoring path (``score_parts`` on the one-row matrix; also timed). Prints a rich table and
writes JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from shopmind.config import load_settings
from shopmind.data.schema import Event
from shopmind.pipeline import TrainContext
from shopmind.recommend.filters import RecFilters
from shopmind.recommend.service import NAME, RecommendService, train
from shopmind.store import open_store


def _times(fn, args_list) -> dict[str, float]:
    """Wall-clock p50/p95/mean and the process CPU time per call (robust to other jobs on the box)."""
    out, cpu = [], []
    for args in args_list:
        c = time.process_time()
        t = time.perf_counter()
        fn(*args)
        out.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    a = np.asarray(out)
    return {
        "n": len(a),
        "p50_ms": float(np.median(a)),
        "p95_ms": float(np.percentile(a, 95)),
        "mean_ms": float(a.mean()),
        "cpu_p50_ms": float(np.median(cpu)),
        "cpu_mean_ms": float(np.mean(cpu)),
    }


def _plain_path_check(service: RecommendService, users: list[str], sessions: list) -> tuple[dict, dict]:
    """Fold-in and session answers of the fast path vs the plain path (``Hybrid.score_parts`` on the
    one-row matrix, what serving did before ``score_row_parts``): how many requests are identical in
    items, order, scores, reasons and explanations, and the plain path's timings."""
    import copy

    import scipy.sparse as sp

    hybrid = service.models["hybrid"]
    plain_model = copy.copy(hybrid)

    def full(items: np.ndarray, weights: np.ndarray) -> tuple:
        row = sp.csr_matrix((weights, items, [0, len(items)]), shape=(1, hybrid.n_items), dtype=np.float32)
        return hybrid.score_parts(rows=row)

    plain_model.score_row_parts = full  # type: ignore[method-assign]
    plain = copy.copy(service)
    plain.models = {**service.models, "hybrid": plain_model}
    filters = [RecFilters(), RecFilters(in_stock=True, max_price=50.0), RecFilters(exclude_purchased=True)]
    same = total = 0
    for user, session in [(u, None) for u in users] + sessions:
        for f in filters:
            got = service.recommend(user, filters=f, session_items=session)
            want = plain.recommend(user, filters=f, session_items=session)
            key = [(r.item_id, r.score, r.reason, r.explanation) for r in got.items]
            same += key == [(r.item_id, r.score, r.reason, r.explanation) for r in want.items]
            total += 1
    return {"identical": same, "requests": total}, _times(plain.recommend, [(u,) for u in users])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--artifacts", type=Path, help="train into DIR once and reuse it on later runs")
    ap.add_argument("--out", type=Path, default=Path("bench/results/recommend_service.json"))
    args = ap.parse_args()
    console = Console()
    settings = load_settings(env={})
    settings = settings.model_copy(
        update={
            "store_url": args.store,
            "training": settings.training.model_copy(update={"threads": args.threads}),
        }
    )
    store = open_store(args.store)
    ctx = TrainContext(store=store, settings=settings)
    t = time.perf_counter()
    ds = ctx.dataset
    load_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.artifacts or Path(tmp) / NAME
        if (out_dir / "manifest.json").exists():
            manifest = json.loads((out_dir / "manifest.json").read_text())
            info = {"hybrid_weights": manifest["hybrid_weights"]}
            train_s = train_cpu_s = None  # reused artifacts: training not timed in this run
        else:
            t = time.perf_counter()
            c = time.process_time()
            info = train(ctx, out_dir)
            train_s = time.perf_counter() - t
            train_cpu_s = time.process_time() - c
        size_mb = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file()) / 2**20
        t = time.perf_counter()
        service = RecommendService.load(out_dir, store, threads=1)
        load_service_s = time.perf_counter() - t
        rng = np.random.default_rng(42)
        active = np.flatnonzero(np.diff(ds.seen.indptr) > 0)
        users = [ds.users.id(int(u)) for u in rng.choice(active, min(args.users, len(active)), replace=False)]
        popular_items = np.argsort(-ds.item_counts())[:200]
        items = [
            ds.items.id(int(i))
            for i in rng.choice(popular_items, min(100, len(popular_items)), replace=False)
        ]
        service.recommend(users[0])  # warm caches (transposes, solver objects)
        pools = getattr(service, "pools", None)  # None: artifacts (or code) without personal pools
        stock_price = RecFilters(in_stock=True, max_price=50.0)
        rows = {
            "recommend (personal, hybrid)": _times(service.recommend, [(u,) for u in users]),
            "recommend (personal, hybrid, in stock + price <= 50)": _times(
                lambda u: service.recommend(u, filters=stock_price), [(u,) for u in users]
            ),
        }
        if pools is not None:
            service.pools = None  # the same requests scored over the whole catalogue
            rows["recommend (personal, hybrid, full scoring without pools)"] = _times(
                service.recommend, [(u,) for u in users]
            )
            service.pools = pools
        rows |= {
            "recommend (personal, ease)": _times(
                lambda u: service.recommend(u, algorithm="ease"), [(u,) for u in users]
            ),
            "recommend (personal, als)": _times(
                lambda u: service.recommend(u, algorithm="als"), [(u,) for u in users]
            ),
        }
        now = ds.last_timestamp
        service.observe(
            Event(id=f"b{k}", user_id=u, item_id=items[k % len(items)], type="cart", timestamp=now)  # type: ignore[arg-type]
            for k, u in enumerate(users)
        )
        rows["recommend (fold-in after observe, hybrid)"] = _times(service.recommend, [(u,) for u in users])
        rows["recommend (cold start)"] = _times(service.recommend, [(f"new-{k}",) for k in range(100)])
        sessions = [(f"s-{k}", items[k : k + 3]) for k in range(50)]
        rows["recommend (new visitor + 3-item session)"] = _times(
            lambda u, s: service.recommend(u, session_items=s), sessions
        )
        exact = None
        if hasattr(service.models["hybrid"], "score_row_parts"):  # code with the fold-in fast path
            exact, plain_times = _plain_path_check(service, users, sessions)
            rows["recommend (fold-in after observe, hybrid, plain score_parts path)"] = plain_times
        rows["similar_items"] = _times(service.similar_items, [(i,) for i in items])
        rows["bought_together"] = _times(service.bought_together, [(i,) for i in items])
    result = {
        "store": args.store,
        "dataset": repr(ds),
        "threads": args.threads,
        "dataset_load_s": round(load_s, 2),
        "train_s": None if train_s is None else round(train_s, 2),
        "train_cpu_s": None if train_cpu_s is None else round(train_cpu_s, 2),
        "service_load_s": round(load_service_s, 2),
        "artifact_mb": round(size_mb, 1),
        "hybrid_weights": info["hybrid_weights"],
        "personal_pools": None
        if pools is None
        else {"users": int((pools.row >= 0).sum()), "size": pools.size},
        "fold_in_equals_plain_path": exact,
        "latency": rows,
    }
    trained = "reused artifacts" if train_s is None else f"train {train_s:.1f}s wall / {train_cpu_s:.1f}s CPU"
    table = Table(title=f"recommend service on {ds} — {trained}, artifacts {size_mb:.0f} MB")
    table.add_column("operation")
    for col in ("n", "p50 ms", "p95 ms", "mean ms", "CPU p50 ms", "CPU mean ms"):
        table.add_column(col, justify="right")
    for name, r in rows.items():
        table.add_row(
            name,
            str(r["n"]),
            *(f"{r[c]:.2f}" for c in ("p50_ms", "p95_ms", "mean_ms", "cpu_p50_ms", "cpu_mean_ms")),
        )
    console.print(table)
    if exact is not None:
        console.print(
            f"fold-in/session fast path vs plain full scoring: {exact['identical']}/{exact['requests']} identical"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
