"""Poisoning benchmark: inject the four standard shilling attacks, measure detection and target hit ratio.

    nice -n 10 .venv/bin/python bench/bench_poisoning.py            # ml-100k + demo shop, ~10 min CPU
    nice -n 10 .venv/bin/python bench/bench_poisoning.py --datasets ml100k --targets 2

Attack models (Lam & Riedl, WWW 2004; Mobasher, Burke, Bhaumik & Williams, ACM TOIT 2007): every fake
profile gives the target item the top level and adds

* **random** — ``filler`` random items at levels ~ N(global mean, global sd);
* **average** — ``filler`` random items, each at ~ N(item mean, item sd);
* **bandwagon** — the 3 most popular items at the top level + random fillers as in random;
* **segment** — the 5 most popular items of the target's segment (ml-100k: its first genre; shop: its
  leaf category) at the top level + fillers at the bottom level.

A level is the star rating on ml-100k (rating events) and, on the shop, an event bundle: 1 = view,
2 = view + wishlist, 3 = view + cart, 4 = view + view + cart, 5 = view + cart + purchase (levels of the
genuine data come from ``shopmind.ingest.poisoning.event_levels``). ``filler`` = min(3 % of the
catalogue, the median genuine profile size): 50 items on ml-100k, the median on the shop. Fake accounts
are new accounts created within one day (``--spread-days`` spreads them out, the evasion case), two
days before the end of the data, each acting for up to an hour.

Per dataset, ``--targets`` seeded target items are drawn among items with 10–50 distinct users (a push
attack promotes an unpopular item); each (attack, size, target) is a separate injection into the clean
data at 1 %, 3 % and 5 % of the genuine users. Measures:

* detection precision / recall of :func:`shopmind.ingest.poisoning.detect_poisoning` (defaults) over
  the injected accounts, and the share of genuine users flagged;
* hit ratio@10 of the target — the share of evaluated genuine users (``--eval-users``, seeded sample,
  users who never touched the target) with the target in their top-10 (seen items excluded) — before the
  attack, after it undefended, and after it defended (flagged accounts' events removed before fitting),
  averaged over targets.

The recommender is EASE (binary, λ = 1200 on ml-100k as in bench_recommend.py; on the shop the service's
configuration: λ = 500, 5,000 most popular items, float32). Goal (issue 21): defended hit ratio within
10 % of the pre-attack value at 3 % attackers, with < 1 % of genuine users flagged. Writes
``bench/results/poisoning.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from shopmind.data.dataset import Dataset, EventWeights
from shopmind.ingest.poisoning import detect_poisoning, event_levels
from shopmind.recommend import get_algorithm

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ML100K = Path(os.environ.get("SHOPMIND_DATASETS", ROOT.parent / "shared" / "datasets")) / "ml-100k"
ATTACKS = ("random", "average", "bandwagon", "segment")
SIZES = (0.01, 0.03, 0.05)
SHOP_BUNDLES: dict[int, list[str]] = {
    1: ["view"],
    2: ["view", "wishlist"],
    3: ["view", "cart"],
    4: ["view", "view", "cart"],
    5: ["view", "cart", "purchase"],
}


@dataclass
class Clean:
    """One genuine dataset and what the attack generator needs from it."""

    name: str
    events: pd.DataFrame  # user_id, item_id, type, value, timestamp (unix seconds)
    items: pd.DataFrame  # id + features
    segment: pd.Series  # item id -> segment label
    kind: str  # "rating" or "shop"
    model: tuple[str, dict[str, Any]]
    weights: EventWeights


def load_ml100k() -> Clean:
    from shopmind.datasets.movielens import load_movielens

    ml = load_movielens(ML100K)
    ev = ml.events().copy()
    ev["timestamp"] = pd.to_numeric(ev["timestamp"]).astype("int64")
    genres = ml.items.set_index("id")["attributes"].map(lambda a: (a or {}).get("genres") or ["?"])
    segment = genres.map(lambda g: str(g[0]))
    return Clean(
        "ml-100k",
        ev,
        ml.items,
        segment,
        "rating",
        ("ease", {"l2": 1200.0}),
        EventWeights(),
    )


def load_shop(size: str, seed: int) -> Clean:
    from shopmind.datasets.synthetic import ShopConfig, build_shop, item_records, iter_event_chunks

    cfg = ShopConfig.preset(size, seed=seed)
    shop = build_shop(cfg)
    ev = pd.concat(list(iter_event_chunks(cfg, shop)), ignore_index=True)
    ev = ev[ev["item_id"].notna()][["user_id", "item_id", "type", "value", "timestamp"]].copy()
    ev["timestamp"] = (ev["timestamp"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().astype("int64")
    items = pd.DataFrame(list(item_records(shop)))[["id", "title", "category", "brand", "price"]]
    segment = pd.Series(items["category"].map(lambda c: " > ".join(c)).to_numpy(), index=items["id"])
    model = ("ease", {"l2": 500.0, "top_items": 5000, "precision": "float32"})
    return Clean(f"shop ({size})", ev, items, segment, "shop", model, EventWeights())


def profile_stats(clean: Clean) -> dict[str, Any]:
    ds = Dataset.from_frame(clean.events, items=clean.items)
    lv = pd.DataFrame({"u": ds.user_idx, "i": ds.item_idx, "r": event_levels(ds)})
    pairs = lv.groupby(["u", "i"])["r"].max().reset_index()
    per_item = pairs.groupby("i")["r"].agg(["mean", "std", "size"])
    sizes = pairs.groupby("u").size()
    return {
        "ds": ds,
        "mean": float(pairs["r"].mean()),
        "sd": float(pairs["r"].std()),
        "item_mean": per_item["mean"].reindex(range(ds.n_items)).fillna(pairs["r"].mean()).to_numpy(),
        "item_sd": per_item["std"].reindex(range(ds.n_items)).fillna(pairs["r"].std()).to_numpy(),
        "popularity": per_item["size"].reindex(range(ds.n_items)).fillna(0).to_numpy(),
        "median_size": int(sizes.median()),
    }


def make_attack(
    clean: Clean,
    st: dict[str, Any],
    attack: str,
    target: int,
    n_fake: int,
    rng: np.random.Generator,
    spread_days: float,
) -> pd.DataFrame:
    """Events of ``n_fake`` new accounts pushing item index ``target`` (module docstring)."""
    ds: Dataset = st["ds"]
    n_items = ds.n_items
    filler = int(min(round(0.03 * n_items), st["median_size"]))
    pop_order = np.argsort(-st["popularity"], kind="stable")
    if attack == "bandwagon":
        selected = [int(i) for i in pop_order if i != target][:3]
    elif attack == "segment":
        seg = clean.segment.reindex(ds.items.ids).to_numpy()
        same = [int(i) for i in pop_order if seg[i] == seg[target] and i != target]
        selected = same[:5]
    else:
        selected = []
    end = int(clean.events["timestamp"].max())
    start = end - 2 * 86_400
    rows: list[tuple[str, int, int, float]] = []  # user, item index, level, time
    candidates = np.setdiff1d(np.arange(n_items), np.array([target, *selected]))
    for a in range(n_fake):
        user = f"ATTACK-{a:05d}"
        born = (
            start
            + int(rng.uniform(0, max(spread_days, 1.0) * 86_400))
            - (int(spread_days * 86_400) if spread_days > 1 else 0)
        )
        fill = rng.choice(candidates, size=filler, replace=False)
        if attack == "random" or attack == "bandwagon":
            lv = rng.normal(st["mean"], st["sd"], size=filler)
        elif attack == "average":
            lv = rng.normal(st["item_mean"][fill], np.nan_to_num(st["item_sd"][fill], nan=st["sd"]))
        else:  # segment: fillers at the bottom level
            lv = np.ones(filler)
        levels = np.clip(np.rint(lv), 1, 5).astype(int)
        items = [*fill.tolist(), *selected, target]
        levels_all = [*levels.tolist(), *([5] * len(selected)), 5]
        order = rng.permutation(len(items))
        offsets = np.sort(rng.uniform(0, 3600, size=len(items))).astype(int)
        for k, pos in enumerate(order.tolist()):
            rows.append((user, items[pos], levels_all[pos], born + int(offsets[k])))
    ids = ds.items.ids
    if clean.kind == "rating":
        return pd.DataFrame(
            {
                "user_id": [r[0] for r in rows],
                "item_id": [ids[r[1]] for r in rows],
                "type": "rating",
                "value": [float(r[2]) for r in rows],
                "timestamp": [r[3] for r in rows],
            }
        )
    out: list[tuple[str, str, str, float, float]] = []
    for user, item, level, ts in rows:
        for k, kind in enumerate(SHOP_BUNDLES[level]):
            out.append((user, ids[item], kind, 1.0, ts + 20 * k))
    return pd.DataFrame(out, columns=["user_id", "item_id", "type", "value", "timestamp"])


def run_dataset(
    clean: Clean, args: argparse.Namespace, progress: Progress, console: Console
) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    st = profile_stats(clean)
    ds: Dataset = st["ds"]
    genuine_users = np.asarray(ds.users.ids)[np.asarray(ds.seen.sum(axis=1)).ravel() > 0]
    n_genuine = len(genuine_users)
    pop = st["popularity"]
    pool = np.flatnonzero((pop >= 10) & (pop <= 50))
    targets = [int(t) for t in rng.choice(pool, size=args.targets, replace=False)]
    target_ids = [ds.items.id(t) for t in targets]
    seen = ds.seen
    eval_users: dict[str, np.ndarray] = {}
    for t, tid in zip(targets, target_ids, strict=True):
        ok = np.asarray(seen[:, t].todense()).ravel() == 0
        cand = np.asarray(ds.users.ids)[ok & (np.asarray(seen.sum(axis=1)).ravel() > 0)]
        eval_users[tid] = np.sort(rng.choice(cand, size=min(args.eval_users, len(cand)), replace=False))
    all_eval = np.unique(np.concatenate(list(eval_users.values())))
    user_frame = pd.DataFrame({"id": genuine_users})

    def hr(events: pd.DataFrame, drop: set[str] | None = None) -> dict[str, float]:
        """Per target HR over that target's evaluated users (one model fit for every target)."""
        ev = events if not drop else events[~events["user_id"].isin(drop)]
        # every genuine user keeps a row (a flagged genuine user is scored from an empty history)
        dsx = Dataset.from_frame(ev, items=clean.items, users=user_frame, weights=clean.weights)
        name, cfg = clean.model
        model = get_algorithm(name)(cfg).fit(dsx)
        pos = {u: k for k, u in enumerate(all_eval)}
        top, _ = model.recommend_indices(dsx.users.index(all_eval), 10, exclude=dsx.seen)
        out = {}
        for tid in target_ids:
            rows = np.array([pos[u] for u in eval_users[tid]])
            out[tid] = float((top[rows] == dsx.items.index_of(tid)).any(axis=1).mean())
        return out

    cpu = time.process_time()
    before = hr(clean.events)
    console.print(f"{clean.name}: targets {target_ids}, pre-attack HR@10 {before}")
    rows = []
    task = progress.add_task(clean.name, total=len(args.attacks) * len(args.sizes) * len(targets))
    for attack in args.attacks:
        for size in args.sizes:
            n_fake = max(1, round(size * n_genuine))
            tp = fp = fn = 0
            genuine_flagged: list[float] = []
            hr_attacked: list[float] = []
            hr_defended: list[float] = []
            for t, tid in zip(targets, target_ids, strict=True):
                fake = make_attack(clean, st, attack, t, n_fake, rng, args.spread_days)
                events = pd.concat([clean.events, fake], ignore_index=True)
                attacked = Dataset.from_frame(events, items=clean.items)
                report = detect_poisoning(attacked)
                flagged = set(report.flagged_ids)
                if args.verbose:
                    console.print(attack, size, tid, report.to_dict()["groups_detail"])
                fake_ids = set(fake["user_id"].unique())
                hit = len(flagged & fake_ids)
                tp += hit
                fp += len(flagged) - hit
                fn += len(fake_ids) - hit
                genuine_flagged.append((len(flagged) - hit) / n_genuine)
                undefended = hr(events)
                hr_attacked.append(undefended[tid])
                hr_defended.append(hr(events, flagged)[tid] if flagged else undefended[tid])
                progress.advance(task)
            pre = float(np.mean([before[t] for t in target_ids]))
            rows.append(
                {
                    "attack": attack,
                    "size": size,
                    "fake_accounts": n_fake,
                    "precision": tp / (tp + fp) if tp + fp else 1.0,
                    "recall": tp / (tp + fn) if tp + fn else 1.0,
                    "genuine_flagged_share": float(np.max(genuine_flagged)),
                    "hr_before": pre,
                    "hr_attacked": float(np.mean(hr_attacked)),
                    "hr_defended": float(np.mean(hr_defended)),
                    "hr_attacked_per_target": hr_attacked,
                    "hr_defended_per_target": hr_defended,
                }
            )
    return {
        "dataset": clean.name,
        "genuine_users": n_genuine,
        "items": ds.n_items,
        "events": len(clean.events),
        "targets": target_ids,
        "target_users": {tid: int(pop[t]) for t, tid in zip(targets, target_ids, strict=True)},
        "eval_users_per_target": {tid: len(v) for tid, v in eval_users.items()},
        "hr_before_per_target": before,
        "model": {"algorithm": clean.model[0], **clean.model[1]},
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "rows": rows,
    }


def goal(row: dict[str, Any]) -> bool:
    """Defended HR within 10 % of the pre-attack HR (absolute 0.001 when that is 0) and < 1 % flagged."""
    tol = max(0.1 * row["hr_before"], 0.001)
    return abs(row["hr_defended"] - row["hr_before"]) <= tol and row["genuine_flagged_share"] < 0.01


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default="ml100k,shop", help="comma list of ml100k, shop")
    p.add_argument("--shop-size", default="demo", help="synthetic preset (tiny, small, demo)")
    p.add_argument("--attacks", default=",".join(ATTACKS))
    p.add_argument("--sizes", default=",".join(str(s) for s in SIZES), help="attackers as share of users")
    p.add_argument("--targets", type=int, default=3, help="target items per dataset (seeded)")
    p.add_argument("--eval-users", type=int, default=2000)
    p.add_argument("--spread-days", type=float, default=0.0, help="spread account creation over N days")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--verbose", action="store_true", help="print every detected group")
    p.add_argument("--out", type=Path, default=RESULTS / "poisoning.json")
    args = p.parse_args(argv)
    args.attacks = [a for a in args.attacks.split(",") if a]
    args.sizes = [float(s) for s in args.sizes.split(",") if s]
    bad = set(args.attacks) - set(ATTACKS)
    if bad:
        p.error(f"unknown attacks {sorted(bad)}; expected some of {', '.join(ATTACKS)}")
    console = Console()
    results = []
    with Progress(console=console) as progress:
        for name in args.datasets.split(","):
            clean = load_ml100k() if name == "ml100k" else load_shop(args.shop_size, args.seed)
            results.append(run_dataset(clean, args, progress, console))
    for res in results:
        table = Table(
            title=f"{res['dataset']}: shilling attacks, EASE, HR@10 of the target (mean of "
            f"{len(res['targets'])} targets)"
        )
        for col in (
            "attack",
            "size",
            "fake",
            "precision",
            "recall",
            "genuine flagged",
            "HR before",
            "HR attacked",
            "HR defended",
            "goal",
        ):
            table.add_column(col, justify="left" if col == "attack" else "right")
        for r in res["rows"]:
            table.add_row(
                r["attack"],
                f"{r['size']:.0%}",
                str(r["fake_accounts"]),
                f"{r['precision']:.3f}",
                f"{r['recall']:.3f}",
                f"{r['genuine_flagged_share']:.2%}",
                f"{r['hr_before']:.4f}",
                f"{r['hr_attacked']:.4f}",
                f"{r['hr_defended']:.4f}",
                "yes" if goal(r) else "[red]NO[/]",
            )
        console.print(table)
    for res in results:
        for r in res["rows"]:
            r["goal_met"] = goal(r)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "command": "bench/bench_poisoning.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": {"python": platform.python_version(), "processor": platform.processor()},
        "results": results,
    }
    args.out.write_text(json.dumps(payload, indent=2, default=str))
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
