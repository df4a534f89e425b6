"""Chinese keyword search on the synthetic shop: judged quality and analysis speed per segmenter.

    python bench/bench_chinese_search.py [--items 3000] [--seed 42] [--set segmenter=lac ...] [--label NAME]
                                         [--shop-log] [--no-head-backoff]

**Catalogue.** The demo shop's generator (``shopmind.datasets.synthetic``, preset ``small``) with
``--items`` products; only the Chinese-titled and mixed-titled ones are indexed (the keyword leg is
what is measured, so English titles, which no Chinese query can match by keyword, are left out). Two
versions of the records: ``generated`` (as the generator writes them: English category path and
brand) and ``monolingual`` (category path and brand in Chinese, from the same vocabulary), where the
catalogue's user dictionary has Chinese brands and the category words to learn.

**Queries** (Chinese only, from the shop's vocabulary ``vocab.LEAVES`` / ``vocab.BRANDS``), per leaf
category: its name ("袜子"), each product noun ("运动袜", "短袜"), a shopper's modifier glued to the
name ("便宜袜子", cycling through ``QUERY_MODIFIERS_ZH``), and for each of the leaf's brands the
Chinese brand before the name, with a space ("耐克 袜子") and glued ("耐克袜子"). The leaf names are
what the shop's own search log asks most; several never occur in a title (titles say "运动袜", the
log says "袜子"). **Judgements**: 3 = the leaf and the named brand, 1 = the leaf only (a name or noun
query grades every product of the leaf 1). nDCG@10 with gain 2^g − 1; recall = the share of graded
products among the first ``DEPTH`` results; P@10 = the share of graded products among the first ten;
"no result" = queries that return nothing.

**Engine**: ``ProductSearch`` in ``bm25`` mode with semantic search, the multilingual encoder and the
glossary off (keyword matching only), built with ``SearchConfig(**--set)`` so segmenter settings are
compared through the served code. **Speed**: process CPU per query (query side, the whole search),
CPU seconds to build the index, and each segmenter's CPU time over the distinct CJK runs of the
indexed titles and descriptions with its caches bypassed (jieba and LAC side by side in one process).

``--shop-log`` also scores bm25 on the demo shop's own search log (all 500 judged queries, and the
Chinese ones alone) and on Chorus (English): see :func:`logged_queries`.

Results: a rich table and ``bench/results/chinese_search[_LABEL].json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402  (after the thread limits)
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench_crosslingual_search import catalogues as crosslingual_catalogues  # noqa: E402  (beside this script)
from shopmind.config import SearchConfig  # noqa: E402
from shopmind.datasets.synthetic import ShopConfig  # noqa: E402
from shopmind.datasets.synthetic.vocab import BRANDS, LEAVES, QUERY_MODIFIERS_ZH  # noqa: E402
from shopmind.evaluate.search import ndcg_at  # noqa: E402
from shopmind.search.engine import ProductSearch  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DEPTH = 1000
"""Results read per query (recall is counted among them)."""
console = Console()
LEAF_OF = {leaf.path_en: leaf for leaf in LEAVES}


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def catalogues(n_items: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    """``{records version: Chinese- and mixed-titled products}`` (module docstring): the Chinese half
    of the cross-lingual benchmark's catalogues."""
    return {name: sides["zh"] for name, sides in crosslingual_catalogues(n_items, seed).items()}


def queries(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Judged Chinese queries: ``{"q", "leaf" (English path), "brand" (English name or None), "kind"}``."""
    out: list[dict[str, Any]] = []
    present = {tuple(it["category"]) for it in items}
    for i, leaf in enumerate(LEAVES):
        if leaf.path_en not in present:
            continue
        name = leaf.path_zh[-1]
        out.append({"q": name, "leaf": leaf.path_en, "brand": None, "kind": "name"})
        for noun in dict.fromkeys(leaf.nouns_zh):
            if noun != name:
                out.append({"q": noun, "leaf": leaf.path_en, "brand": None, "kind": "noun"})
        mod = QUERY_MODIFIERS_ZH[i % len(QUERY_MODIFIERS_ZH)]
        out.append({"q": f"{mod}{name}", "leaf": leaf.path_en, "brand": None, "kind": "modifier"})
        for brand in leaf.brands:
            zh_brand = BRANDS[brand][0]
            for sep, kind in ((" ", "brand"), ("", "brand glued")):
                out.append(
                    {"q": f"{zh_brand}{sep}{name}", "leaf": leaf.path_en, "brand": brand, "kind": kind}
                )
    return out


def evaluate(cats: Mapping[str, list[dict[str, Any]]], overrides: Mapping[str, Any]) -> dict[str, Any]:
    base = {"semantic": False, "glossary": False, "multilingual_encoder": None}
    config = SearchConfig(**{**base, **overrides})
    report: dict[str, Any] = {}
    for version, items in cats.items():
        leaf_of = {it["id"]: it["_leaf"] for it in items}
        brand_of = {it["id"]: it["_brand"] for it in items}
        judged = queries([{**it, "category": list(it["_leaf"])} for it in items])
        records = [{k: v for k, v in it.items() if not k.startswith("_")} for it in items]
        started = cpu_s()
        engine = ProductSearch.build(records, config=config)
        build_s = cpu_s() - started
        rows: list[dict[str, Any]] = []
        started = cpu_s()
        for q in judged:
            qrels = {
                i: (3 if q["brand"] is not None and brand_of[i] == q["brand"] else 1)
                for i in leaf_of
                if leaf_of[i] == q["leaf"]
            }
            ranked = engine.search(q["q"], mode="bm25", k=DEPTH, facets=False, highlight_hits=False).ids
            graded = sum(1 for r in ranked if r in qrels)
            rows.append(
                {
                    "q": q["q"],
                    "kind": q["kind"],
                    "ndcg10": ndcg_at(ranked, qrels, 10),
                    "recall": graded / max(len(qrels), 1),
                    "p10": sum(1 for r in ranked[:10] if r in qrels) / 10,
                    "empty": not ranked,
                }
            )
        query_ms = (cpu_s() - started) * 1000 / max(len(judged), 1)
        kinds = sorted({r["kind"] for r in rows})
        summary = {
            "n_products": len(items),
            "n_queries": len(rows),
            **{m: float(np.mean([r[m] for r in rows])) for m in ("ndcg10", "recall", "p10")},
            "no_result": int(sum(r["empty"] for r in rows)),
            "by_kind": {
                k: {
                    m: float(np.mean([r[m] for r in rows if r["kind"] == k]))
                    for m in ("ndcg10", "recall", "p10")
                }
                for k in kinds
            },
            "build_cpu_s": build_s,
            "query_cpu_ms": query_ms,
            "no_result_queries": [r["q"] for r in rows if r["empty"]],
            "queries": rows,
        }
        report[version] = summary
    return report


def segmenter_speed(cats: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Process CPU seconds of each segmenter over the distinct CJK runs of the indexed titles and
    descriptions, caches bypassed (every run segmented once), side by side in this process."""
    try:
        from shopmind.text import lac_segment, normalize, segment, split_scripts
    except ImportError:  # code from before the segmenter choice (a "before" run): quality only
        return {}

    texts = [f"{it['title']} {it.get('description') or ''}" for it in cats["generated"]]
    runs = sorted({han for t in texts for han, _ in split_scripts(normalize(t)) if len(han) > 1})
    chars = sum(len(r) for r in runs)
    out: dict[str, Any] = {"runs": len(runs), "chars": chars}
    for name, fn in (("jieba", segment), ("lac", lac_segment)):
        fn.__wrapped__("预热")  # load the model / dictionary outside the timing
        started = cpu_s()
        for r in runs:
            fn.__wrapped__(r)
        spent = cpu_s() - started
        out[name] = {"cpu_s": spent, "cpu_ms_per_1000_chars": spent * 1e6 / max(chars, 1)}
    return out


def logged_queries(cache: Path, data_dir: Path, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """bm25 nDCG@10 through ``evaluate.search.evaluate`` on the seeded demo shop's search log (the
    "synthetic shop" set of ``bench_generalisation.py``: its 500 most frequent queries judged by the
    sessions' clicks, carts and purchases), all of them and the Chinese ones alone, and on Chorus
    (English, expert judgements: the letter–digit and analyzer changes must not cost English search)."""
    from dataclasses import replace

    from shopmind.datasets.judged import read_products
    from shopmind.datasets.synthetic import generate
    from shopmind.evaluate.search import evaluate, judged_from_events, load_chorus, read_events
    from shopmind.text import has_cjk

    folder = cache / "demo-shop-42"  # the same files bench_generalisation.py generates and reuses
    if not (folder / "events.csv").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        generate(ShopConfig.preset("demo", seed=42), folder)
    shop = judged_from_events(read_products(folder / "items.jsonl"), read_events(folder / "events.csv"))
    zh = {q for q, t in shop.queries.items() if has_cjk(t) and q in shop.qrels}
    sets = {
        "shop log, all": shop,
        "shop log, Chinese": replace(
            shop,
            queries={q: t for q, t in shop.queries.items() if q in zh},
            qrels={q: g for q, g in shop.qrels.items() if q in zh},
        ),
    }
    if (data_dir / "chorus-icecat-search").is_dir():
        sets["chorus-icecat"] = load_chorus(data_dir / "chorus-icecat-search")
    config = SearchConfig(**{"semantic": False, **overrides})
    out: dict[str, Any] = {}
    for name, judged in sets.items():
        res = evaluate(judged, ["bm25"], config=config)
        row = next(r for r in res["rows"] if r["name"] == "bm25")
        out[name] = {"n_queries": res["n_queries"], "ndcg10": row["metrics"]["ndcg@10"], **row["metrics"]}
        console.print(
            f"[dim]{name}: {res['n_queries']} queries, bm25 nDCG@10 {row['metrics']['ndcg@10']:.4f}[/]"
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a SearchConfig field (JSON value)"
    )
    ap.add_argument("--label", default="")
    ap.add_argument("--shop-log", action="store_true", help="also the demo shop's logged queries and Chorus")
    ap.add_argument("--cache", type=Path, default=Path(__file__).resolve().parents[1] / "var" / "bench-cache")
    ap.add_argument(
        "--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets"
    )
    ap.add_argument(
        "--no-head-backoff", action="store_true", help="ablation: no head characters indexed or backed off to"
    )
    args = ap.parse_args(argv)
    if args.no_head_backoff:
        from shopmind.search.analyzers import Analyzer

        build = Analyzer.for_catalogue.__func__  # type: ignore[attr-defined]

        def without_heads(cls: type[Analyzer], records: Any, **kw: Any) -> Analyzer:
            an = build(cls, records, **kw)
            an.head_backoff = False
            return an

        Analyzer.for_catalogue = classmethod(without_heads)  # type: ignore[assignment,method-assign]
    logging.basicConfig(level=logging.WARNING)
    overrides: dict[str, Any] = {}
    for kv in args.set:
        key, _, value = kv.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    cats = catalogues(args.items, args.seed)
    for items in cats.values():
        gen = {it["id"]: it for it in cats["generated"]}
        for it in items:
            it["_leaf"] = tuple(gen[it["id"]]["category"])
            it["_brand"] = gen[it["id"]]["brand"]
    report = {"settings": overrides, "items": args.items, "seed": args.seed, **evaluate(cats, overrides)}
    report["speed"] = segmenter_speed(cats)
    if args.shop_log:
        report["logged"] = logged_queries(args.cache, args.data_dir, overrides)
    table = Table(title=f"Chinese keyword search ({args.label or 'default'}: {overrides or 'defaults'})")
    for col in ("records", "products", "queries", "nDCG@10", "recall", "P@10", "no result", "query ms CPU"):
        table.add_column(col)
    for version in cats:
        s = report[version]
        table.add_row(
            version, str(s["n_products"]), str(s["n_queries"]), f"{s['ndcg10']:.4f}", f"{s['recall']:.4f}",
            f"{s['p10']:.4f}", str(s["no_result"]), f"{s['query_cpu_ms']:.2f}",
        )  # fmt: skip
    console.print(table)
    for version in cats:
        console.print(version, json.dumps(report[version]["by_kind"], ensure_ascii=False))
        console.print("no result:", report[version]["no_result_queries"][:40])
    console.print("segmenter speed (CPU, uncached):", report["speed"])
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"chinese_search{'_' + args.label if args.label else ''}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
