"""Cross-lingual product search on the synthetic shop: nDCG@10 of same-language and cross-language queries.

    python bench/bench_crosslingual_search.py [--items 3000] [--seed 42] [--speed]

**Catalogues.** The demo shop's generator (``shopmind.datasets.synthetic``, preset ``small``) with
``--items`` products, split by the language of the title: the English-titled products form one
catalogue, the Chinese-titled (and mixed: Chinese noun, English brand) another. Two versions of the
records: ``generated`` (as the generator writes them: English category path, brand and attribute
values on every product — the shop's bilingual fields) and ``monolingual`` (the Chinese-titled
products' category path and brand in Chinese, from the same vocabulary: nothing English left to match
but model numbers and Latin-script brands).

**Queries**, from the shop's bilingual vocabulary (``vocab.LEAVES``, ``vocab.BRANDS``, the colour
names), each asked in English and in Chinese: per leaf category its name ("headphones" / "耳机"),
brand + name ("sony headphones" / "索尼 耳机") for the leaf's most stocked brand, and colour + name
("black headphones" / "黑色 耳机") where the leaf has colours. **Judgements** (graded, per catalogue):
3 = the leaf and every named brand/colour, 1 = the leaf only, 0 = the rest. A query is scored on a
catalogue only where it has a product of grade 3. nDCG@10 with gain 2^g − 1 (the ideal over the judged
catalogue). One engine indexes the whole shop, as served (its glossary learns from every title); a
query's ranking on one language's products is its top ``DEPTH`` with the other language's products
left out. *Same language*: English queries on the English-titled products and Chinese queries on the
Chinese-titled ones; *cross-language*: the other two pairs; each is the mean over both directions'
queries.

**Settings compared** (hybrid search, the served mode, and bm25): MiniLM alone as before
(``multilingual_encoder=None, glossary=False``); MiniLM + glossary; MiniLM + USE-multilingual +
glossary (the shipped default); USE-multilingual as the only encoder + glossary.

``--speed`` also times each encoder: process CPU seconds to embed 1,000 product titles (half
English, half Chinese) in batches and per single query, one thread. Results: a rich table and
``bench/results/crosslingual_search.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402  (after the thread limits)
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from shopmind.config import SearchConfig  # noqa: E402
from shopmind.datasets.synthetic import ShopConfig, build_shop, item_records  # noqa: E402
from shopmind.datasets.synthetic.vocab import BRANDS, COLOURS, LEAVES  # noqa: E402
from shopmind.evaluate.search import ndcg_at  # noqa: E402
from shopmind.search.engine import ProductSearch  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
console = Console()
log = logging.getLogger("bench_crosslingual")

SETTINGS: dict[str, dict[str, Any]] = {
    "MiniLM (before)": {"encoder": None, "multilingual_encoder": None, "glossary": False},
    "MiniLM + glossary": {"encoder": None, "multilingual_encoder": None, "glossary": True},
    "MiniLM + USE + glossary (default)": {"encoder": None, "glossary": True},
    "USE only + glossary": {"encoder": "use-multilingual", "multilingual_encoder": None, "glossary": True},
}
COLOUR_ZH = {en: zh for _, en, zh in COLOURS}
LEAF_OF = {leaf.path_en: leaf for leaf in LEAVES}
DEPTH = 1000
"""Results read per query before the other language's products are left out."""


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def catalogues(n_items: int, seed: int) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """``{records version: {"en": English-titled products, "zh": Chinese-titled ones}}``."""
    items = list(item_records(build_shop(ShopConfig.preset("small", seed=seed, n_items=n_items))))
    en = [it for it in items if it["language"] == "en"]
    zh = [it for it in items if it["language"] != "en"]
    mono = []
    for it in zh:
        leaf = LEAF_OF[tuple(it["category"])]
        brand_zh = BRANDS[it["brand"]][0]
        mono.append(
            {
                **it,
                "category": list(leaf.path_zh),
                "brand": brand_zh if brand_zh in it["title"] else it["brand"],
            }
        )
    return {"generated": {"en": en, "zh": zh}, "monolingual": {"en": en, "zh": mono}}


def queries(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The judged query intents (leaf, brand, colour) with their English and Chinese wording."""
    out: list[dict[str, Any]] = []
    for leaf in LEAVES:
        pool = [it for it in items if tuple(it["category"]) == leaf.path_en]
        if not pool:
            continue
        en_name, zh_name = leaf.path_en[-1].lower(), leaf.path_zh[-1]
        out.append({"leaf": leaf.path_en, "brand": None, "colour": None, "en": en_name, "zh": zh_name})
        brands = [it["brand"] for it in pool]
        top = max(sorted(set(brands)), key=brands.count)
        out.append(
            {"leaf": leaf.path_en, "brand": top, "colour": None,
             "en": f"{top.lower()} {en_name}", "zh": f"{BRANDS[top][0]} {zh_name}"}
        )  # fmt: skip
        colours = [
            it["attributes"].get("colour") for it in pool if it["attributes"].get("colour") in COLOUR_ZH
        ]
        if colours:
            c = max(sorted(set(colours)), key=colours.count)
            out.append(
                {"leaf": leaf.path_en, "brand": None, "colour": c,
                 "en": f"{c.lower()} {en_name}", "zh": f"{COLOUR_ZH[c]} {zh_name}"}
            )  # fmt: skip
    return out


def grades(q: Mapping[str, Any], items: Sequence[Mapping[str, Any]], leaf_of: Mapping[str, tuple]) -> dict:
    """Graded judgements of intent ``q`` over a catalogue (module docstring); ``leaf_of``: id → English path."""
    out: dict[str, int] = {}
    for it in items:
        if leaf_of[it["id"]] != q["leaf"]:
            continue
        exact = (q["brand"] is None or it["brand"] in (q["brand"], BRANDS[q["brand"]][0])) and (
            q["colour"] is None or it["attributes"].get("colour") == q["colour"]
        )
        out[it["id"]] = 3 if exact else 1
    return out


def evaluate(
    cats: Mapping[str, Mapping[str, list]], cache: Path, modes: Sequence[str]
) -> list[dict[str, Any]]:
    """One engine per records version and setting over the whole (mixed) shop, as served; a query's
    ranking on a language's products is its ranking with the other language's products left out."""
    rows: list[dict[str, Any]] = []
    leaf_of = {it["id"]: tuple(it["category"]) for it in cats["generated"]["en"] + cats["generated"]["zh"]}
    intents = queries(cats["generated"]["en"] + cats["generated"]["zh"])
    for version, by_lang in cats.items():
        judged = {lang: [grades(q, items, leaf_of) for q in intents] for lang, items in by_lang.items()}
        lang_of = {it["id"]: lang for lang, items in by_lang.items() for it in items}
        everything = [it for items in by_lang.values() for it in items]
        for name, overrides in SETTINGS.items():
            started = cpu_s()
            engine = ProductSearch.build(everything, config=SearchConfig(**overrides), cache_dir=cache)
            build_s = cpu_s() - started
            for mode in modes:
                scores: dict[tuple[str, str], list[float]] = {}
                for q_lang in ("en", "zh"):
                    for i, q in enumerate(intents):
                        ranked = engine.search(q[q_lang], mode=mode, k=DEPTH, facets=False).ids
                        for p_lang in by_lang:
                            qrels = judged[p_lang][i]
                            if any(g >= 3 for g in qrels.values()):
                                ids = [r for r in ranked if lang_of[r] == p_lang][:10]
                                scores.setdefault((q_lang, p_lang), []).append(ndcg_at(ids, qrels, 10))
                pair = {f"{a}->{b}": float(np.mean(v)) for (a, b), v in scores.items()}
                same = float(np.mean(scores[("en", "en")] + scores[("zh", "zh")]))
                cross = float(np.mean(scores[("en", "zh")] + scores[("zh", "en")]))
                rows.append(
                    {"records": version, "setting": name, "mode": mode, "same": same, "cross": cross,
                     "ratio": cross / same if same else 0.0, "pairs": pair,
                     "n_queries": {f"{a}->{b}": len(v) for (a, b), v in scores.items()}, "build_cpu_s": build_s}
                )  # fmt: skip
                console.print(f"[dim]{version} · {name} · {mode}: same {same:.4f} cross {cross:.4f}[/]")
    return rows


def speed(cats: Mapping[str, Mapping[str, list]]) -> list[dict[str, Any]]:
    """CPU seconds per 1,000 titles (batched) and per single query, one thread, per encoder."""
    from shopmind.embeddings import get_encoder

    titles = [it["title"] for it in cats["generated"]["en"][:500] + cats["generated"]["zh"][:500]]
    out = []
    for spec, label in (
        (None, "all-MiniLM-L6-v2 (ONNX Runtime)"),
        ("use-multilingual", "USE multilingual v3"),
    ):
        started = cpu_s()
        enc = get_encoder(spec)
        enc.encode(["warm up"])
        load = cpu_s() - started
        started = cpu_s()
        enc.encode(titles)
        batch = (cpu_s() - started) * 1000 / len(titles)
        started = cpu_s()
        for t in titles[:200]:
            enc.encode([t])
        single = (cpu_s() - started) / 200 * 1000
        out.append(
            {"encoder": label, "dim": enc.dim, "load_cpu_s": load, "cpu_s_per_1k": batch, "query_ms": single}
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--modes", default="hybrid,bm25")
    ap.add_argument("--speed", action="store_true", help="also time each encoder")
    ap.add_argument("--cache-dir", type=Path, default=Path("var/cache/search"))
    ap.add_argument("--out", type=Path, default=RESULTS / "crosslingual_search.json")
    args = ap.parse_args(argv)
    if not 100 <= args.items <= 100_000:
        ap.error(f"--items must be in 100..100000, got {args.items}")
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    cats = catalogues(args.items, args.seed)
    rows = evaluate(cats, args.cache_dir, [m.strip() for m in args.modes.split(",") if m.strip()])
    table = Table(
        title=f"Cross-lingual search, synthetic shop ({args.items} products, seed {args.seed}), nDCG@10"
    )
    for col in ("records", "setting", "mode", "same-language", "cross-language", "cross / same",
                "en→zh", "zh→en"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("records", "setting", "mode") else "right")
    for r in rows:
        table.add_row(
            r["records"], r["setting"], r["mode"], f"{r['same']:.4f}", f"{r['cross']:.4f}", f"{r['ratio']:.2f}",
            f"{r['pairs']['en->zh']:.4f}", f"{r['pairs']['zh->en']:.4f}",
        )  # fmt: skip
    console.print(table)
    result: dict[str, Any] = {
        "command": "python bench/bench_crosslingual_search.py " + " ".join(argv or sys.argv[1:]),
        "items": args.items,
        "seed": args.seed,
        "catalogues": {v: {k: len(x) for k, x in c.items()} for v, c in cats.items()},
        "n_intents": len(queries(cats["generated"]["en"] + cats["generated"]["zh"])),
        "rows": rows,
    }
    if args.speed:
        result["speed"] = speed(cats)
        st = Table(title="Encoders: CPU per 1,000 titles (batched) and per query, one thread")
        for col in ("encoder", "dim", "load s", "s / 1k titles", "ms / query"):
            st.add_column(col, justify="left" if col == "encoder" else "right")
        for s in result["speed"]:
            st.add_row(s["encoder"], str(s["dim"]), f"{s['load_cpu_s']:.2f}", f"{s['cpu_s_per_1k']:.2f}",
                       f"{s['query_ms']:.2f}")  # fmt: skip
        console.print(st)
    result["wall_s"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
