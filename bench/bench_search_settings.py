"""Search settings edited at run time on the demo catalogue: what a change costs and when it applies.

    python bench/bench_search_settings.py [--seed 42] [--queries 200]

Reads the demo shop's catalogue (20,000 items) from ``var/bench-cache/demo-shop-<seed>`` when present,
else generates it. Builds the keyword index (``semantic=false``: field weights and rules act on the
keyword leg and on the ranked list; the encoder is not involved) and measures, in process CPU time
(the machine is shared, wall time is not reliable):

* ``weights``: ``SearchService.set_field_weights`` when every field is indexed (query-time boosts:
  live at once), and the CPU per query before and after (same work, other weights);
* ``reindex``: an index built with the title only, then weights that need the four other fields:
  the background build (analysis + bm25s) until the new weights apply, wall and CPU;
* ``rules``: CPU per query with 0 and 1,000 merchandising rules (exact rules are looked up by the
  normalised query, ``search.rules.RuleIndex``).

Results go to ``bench/results/search_settings.json`` and a rich table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "1"

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CACHE = Path(__file__).resolve().parents[1] / "var" / "bench-cache"
console = Console()


def catalogue(seed: int) -> tuple[list[dict[str, Any]], str]:
    """The demo shop's items: the bench cache, else generated."""
    folder = CACHE / f"demo-shop-{seed}"
    if (folder / "items.jsonl").exists():
        with (folder / "items.jsonl").open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()], str(
                folder.relative_to(CACHE.parents[1])
            )
    from shopmind.datasets.synthetic import ShopConfig
    from shopmind.datasets.synthetic.generate import build_shop, item_records

    return list(item_records(build_shop(ShopConfig.preset("demo", seed=seed)))), "generated"


def cpu_per_query(service: Any, queries: list[str]) -> float:
    """Mean process CPU milliseconds of one search (page of 10, facets, highlights, no logging)."""
    start = time.process_time()
    for q in queries:
        service.search(q, mode="bm25", log=False)
    return (time.process_time() - start) * 1000 / len(queries)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--queries", type=int, default=200, help="queries per latency figure")
    args = ap.parse_args()

    from shopmind.config import SearchConfig
    from shopmind.search.engine import ProductSearch
    from shopmind.search.service import SearchService

    items, source = catalogue(args.seed)
    titles = [str(r.get("title") or "") for r in items]
    queries = [" ".join(t.split()[:2]).lower() for t in titles[:: max(1, len(titles) // args.queries)]]
    queries = queries[: args.queries]
    defaults = SearchConfig().fields
    out: dict[str, Any] = {"items": len(items), "source": source, "queries": len(queries)}

    # --- every field indexed: weights are query-time boosts
    t0, c0 = time.perf_counter(), time.process_time()
    full = SearchService(ProductSearch.build(items, config=SearchConfig(semantic=False)), None)
    out["build_all_fields"] = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    cpu_per_query(full, queries)  # warm-up: first-touch costs are not the weights' doing
    before = cpu_per_query(full, queries)
    top_before = [full.search(q, mode="bm25", log=False).ids[:10] for q in queries]
    c0 = time.process_time()
    applied = full.set_field_weights({**defaults, "title": 0.5, "description": 3.0})
    change_ms = (time.process_time() - c0) * 1000
    after = cpu_per_query(full, queries)
    top_after = [full.search(q, mode="bm25", log=False).ids[:10] for q in queries]
    changed = sum(a != b for a, b in zip(top_before, top_after, strict=True))
    out["weights"] = {
        "applied": applied,
        "change_cpu_ms": change_ms,
        "query_cpu_ms_before": before,
        "query_cpu_ms_after": after,
        "queries_with_other_top10": changed,
    }

    # --- title only: the other four fields are indexed in the background
    t0, c0 = time.perf_counter(), time.process_time()
    slim = SearchService(
        ProductSearch.build(items, config=SearchConfig(semantic=False, fields={"title": 3.0})), None
    )
    out["build_title_only"] = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    t0, c0 = time.perf_counter(), time.process_time()
    applied = slim.set_field_weights(defaults)
    answered = 0
    while not slim.wait_for_reindex(timeout=0.05):  # searches keep being answered meanwhile
        slim.search(queries[answered % len(queries)], mode="bm25", log=False)
        answered += 1
    status = slim.field_settings()["reindex"]
    out["reindex"] = {
        "applied": applied,
        "fields": status["fields"],
        "state": status["state"],
        "rows": status["rows_total"],
        "wall_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
        "searches_answered_meanwhile": answered,
    }

    # --- the same build with no searches competing for the interpreter
    quiet = SearchService(
        ProductSearch.build(items, config=SearchConfig(semantic=False, fields={"title": 3.0})), None
    )
    t0, c0 = time.perf_counter(), time.process_time()
    quiet.set_field_weights(defaults)
    quiet.wait_for_reindex()
    out["reindex_idle"] = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}

    # --- merchandising rules
    rules = [
        {"query": f"rule query {i}", "pin": [{"id": items[i]["id"], "position": 1}]} for i in range(1000)
    ]
    no_rules = cpu_per_query(full, queries)
    full.set_rules(rules)
    out["rules"] = {
        "n": len(rules),
        "query_cpu_ms_0": no_rules,
        "query_cpu_ms_1000": cpu_per_query(full, queries),
    }

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search_settings.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    table = Table(title=f"search settings on {len(items)} products ({source})")
    table.add_column("what")
    table.add_column("figure", justify="right")
    w, r, ru = out["weights"], out["reindex"], out["rules"]
    table.add_row("build, 5 fields (CPU s)", f"{out['build_all_fields']['cpu_s']:.1f}")
    table.add_row(f"weight change ({w['applied']}), CPU ms", f"{w['change_cpu_ms']:.3f}")
    table.add_row(
        "query CPU ms before / after", f"{w['query_cpu_ms_before']:.2f} / {w['query_cpu_ms_after']:.2f}"
    )
    table.add_row("queries whose top 10 changed", f"{w['queries_with_other_top10']} / {len(queries)}")
    table.add_row(f"reindex {', '.join(r['fields'])} ({r['state']}), wall s", f"{r['wall_s']:.1f}")
    table.add_row("reindex CPU s (with the searches meanwhile)", f"{r['cpu_s']:.1f}")
    table.add_row("searches answered during the reindex", str(r["searches_answered_meanwhile"]))
    idle = out["reindex_idle"]
    table.add_row("reindex with no searches, wall / CPU s", f"{idle['wall_s']:.1f} / {idle['cpu_s']:.1f}")
    table.add_row(
        "query CPU ms, 0 / 1000 rules", f"{ru['query_cpu_ms_0']:.2f} / {ru['query_cpu_ms_1000']:.2f}"
    )
    console.print(table)


if __name__ == "__main__":
    main()
