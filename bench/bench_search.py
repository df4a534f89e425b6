"""Search benchmarks: judged quality (chorus-icecat), bm25s vs tantivy, latency, build, updates.

    python bench/bench_search.py quality  --data-dir ../shared/datasets/chorus-icecat-search
    python bench/bench_search.py engines  --data-dir ../shared/datasets/chorus-icecat-search
    python bench/bench_search.py latency  --data-dir ../shared/datasets/chorus-icecat-search
    python bench/bench_search.py latency  --synthetic 200000 [--reuse]

Everything runs on one core (BLAS/torch/usearch/LightGBM threads = 1). Results go to
``bench/results/search_<command>[_<dataset>].json`` and a rich table.

Latency: each query runs a filter and computes facets (category, brand, price buckets, attributes)
and highlights the page, as a shop's search page would. Modes are timed next to raw bm25s retrieval
(``BM25.retrieve`` top-10 over the title, nothing else). ``hybrid``/``ltr`` include embedding the
query with all-MiniLM-L6-v2 on one core (``embed=miss``) or from the query cache (``embed=hit``,
shop queries repeat). The synthetic catalogue's document vectors are random unit vectors (embedding
200k titles with MiniLM takes hours on one core); HNSW search cost does not depend on what the vectors
mean, and random vectors are its hard case (no cluster structure).

``--reuse`` loads the artifacts a previous ``latency`` run saved (``<tmp>/search-<dataset>``) instead
of building them again (HNSW over 200k random vectors takes ~10 CPU-minutes); the build, save and
memory figures are then carried over from that run's JSON (``build_from``) and ``load_s`` is measured.
``embed=miss`` (MiniLM encodes every query inside the timing) is the headline; ``embed=hit`` (LRU
cache of query vectors, shop queries repeat) is reported beside it. A second filter set selects a
brand too (disjunctive facets: the brand facet is then counted without the brand filter). The sync
rows time ``SearchService.sync`` with nothing new (one store lookup, what every search pays) and
applying another worker's change, on a SQLite store in a temporary folder.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402  (after the thread limits)
import pandas as pd  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
console = Console()
log = logging.getLogger("bench_search")


def _torch_one_thread() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p))


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


# --------------------------------------------------------------------------- quality
def cmd_quality(args: argparse.Namespace) -> dict[str, Any]:
    from shopmind.evaluate.search import evaluate, load_chorus, write_run

    judged = load_chorus(Path(args.data_dir))
    out = evaluate(judged, ["bm25", "semantic", "hybrid", "ltr"], cache_dir=Path(args.cache_dir))
    if args.run:
        write_run(Path(args.run), out["runs"])
    out.pop("runs")
    table = Table(
        title=f"chorus-icecat judged search ({out['n_queries']} queries, {out['n_products']} products)"
    )
    for c in ("mode", "nDCG@10", "× baseline", "P@10", "MRR", "zero-result"):
        table.add_column(c, justify="left" if c == "mode" else "right")
    base = out["rows"][0]["metrics"]["ndcg@10"]
    for row in out["rows"]:
        m = row["metrics"]
        table.add_row(
            row["name"],
            f"{m['ndcg@10']:.4f}",
            f"{m['ndcg@10'] / base:.3f}",
            f"{m['p@10']:.4f}",
            f"{m['mrr']:.4f}",
            f"{m['zero_result_rate']:.3f}",
        )
    console.print(table)
    return out


# --------------------------------------------------------------------------- bm25s vs tantivy
def _tantivy_runs(
    products: pd.DataFrame, queries: dict[str, str], fields: dict[str, float], depth: int = 100
):
    import re

    import tantivy

    from shopmind.search.lexical import field_text

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    for f in fields:
        sb.add_text_field(f, stored=False, tokenizer_name="en_stem")
    schema = sb.build()
    started, cstart = time.perf_counter(), time.process_time()
    index = tantivy.Index(schema)
    writer = index.writer(heap_size=200_000_000, num_threads=1)
    for r in products.to_dict("records"):
        doc = {"id": str(r["id"])}
        for f in fields:
            v = r.get(f)
            if f == "attributes" and isinstance(v, dict):
                v = [x for x in v.values() if isinstance(x, str)]
            doc[f] = field_text(v)
        writer.add_document(tantivy.Document(**doc))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    build_s, build_cpu = time.perf_counter() - started, time.process_time() - cstart
    searcher = index.searcher()
    runs, times = {}, []
    for qid, text in queries.items():
        t0 = time.process_time()
        clean = re.sub(r"[^\w\s]", " ", text)
        q = index.parse_query(clean, list(fields), field_boosts=dict(fields))
        hits = searcher.search(q, depth).hits
        runs[qid] = [(searcher.doc(addr)["id"][0], float(s)) for s, addr in hits]
        times.append((time.process_time() - t0) * 1000)
    return runs, (build_s, build_cpu), times


def cmd_engines(args: argparse.Namespace) -> dict[str, Any]:
    """Quality and latency of bm25s (this project's multi-field index) vs tantivy, same fields/boosts."""
    from shopmind.config import SearchConfig
    from shopmind.evaluate.search import load_chorus, score_runs

    judged = load_chorus(Path(args.data_dir))
    cfg = SearchConfig(semantic=False, typo=False)
    rows = []
    from shopmind.catalog import records_of as _records
    from shopmind.search.engine import _lexical_doc
    from shopmind.search.lexical import LexicalIndex

    docs = [_lexical_doc(r) for r in _records(judged.products)]
    t0, c0 = time.perf_counter(), time.process_time()
    lex = LexicalIndex.build(docs, cfg.fields)  # just the keyword index, as tantivy below
    b_build, b_cpu = time.perf_counter() - t0, time.process_time() - c0
    runs, times = {}, []
    for qid, text in judged.queries.items():
        t = time.process_time()
        runs[qid] = lex.search(text, 100)
        times.append((time.process_time() - t) * 1000)
    rows.append({"name": "bm25s multi-field (LexicalIndex)", "metrics": score_runs(runs, judged.qrels),
                 "build_s": round(b_build, 2), "build_cpu_s": round(b_cpu, 2), "cpu_p50_ms": pct(times, 50), "cpu_p99_ms": pct(times, 99)})  # fmt: skip
    truns, t_build, ttimes = _tantivy_runs(pd.DataFrame(docs), judged.queries, cfg.fields)
    rows.append({"name": "tantivy multi-field (en_stem, boosts)", "metrics": score_runs(truns, judged.qrels),
                 "build_s": round(t_build[0], 2), "build_cpu_s": round(t_build[1], 2), "cpu_p50_ms": pct(ttimes, 50), "cpu_p99_ms": pct(ttimes, 99)})  # fmt: skip
    table = Table(title="Keyword engine choice on chorus-icecat (same fields and boosts, 1 core)")
    for c in ("engine", "nDCG@10", "P@10", "MRR", "build CPU s", "CPU p50 ms", "CPU p99 ms"):
        table.add_column(c, justify="left" if c == "engine" else "right")
    for r in rows:
        m = r["metrics"]
        table.add_row(
            r["name"],
            f"{m['ndcg@10']:.4f}",
            f"{m['p@10']:.4f}",
            f"{m['mrr']:.4f}",
            f"{r['build_cpu_s']:.2f}",
            f"{r['cpu_p50_ms']:.2f}",
            f"{r['cpu_p99_ms']:.2f}",
        )
    console.print(table)
    return {"dataset": "chorus-icecat", "rows": rows}


# --------------------------------------------------------------------------- latency
BRANDS = ["Acme", "Nordic", "Voltra", "Kumo", "Zenith", "Orion", "Pixelon", "Soundly", "Terra", "Lumen",
          "小米", "华为", "联想", "Apex", "Bolt", "Cobalt", "Delta", "Echo", "Fable", "Granite"]  # fmt: skip
CATS = {
    "Audio": ["Headphones", "Speakers", "Earbuds", "Soundbars"],
    "Computers": ["Laptops", "Monitors", "Keyboards", "Storage", "Mice"],
    "Phones": ["Smartphones", "Cases", "Chargers", "Cables"],
    "Home": ["Lamps", "Kettles", "Vacuum Cleaners", "Fans"],
    "手机配件": ["手机壳", "充电器", "数据线"],
}
ADJ = ["wireless", "portable", "compact", "premium", "ergonomic", "waterproof", "smart", "fast", "slim", "quiet",
       "rugged", "mini", "pro", "ultra", "classic", "gaming", "travel", "kids", "studio", "outdoor"]  # fmt: skip
COLORS = ["black", "white", "silver", "blue", "red", "green", "grey", "pink"]
UNITS = [
    "16GB",
    "32GB",
    "64GB",
    "128GB",
    "256GB",
    "512GB",
    "1TB",
    "2TB",
    "10W",
    "20W",
    "65W",
    "5000mAh",
    '27"',
    "15.6 inch",
]
ZH = ["蓝牙", "无线", "降噪", "便携", "快充", "透明", "防水", "超薄"]


def synthetic_catalogue(n: int, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cats = [(top, leaf) for top, leaves in CATS.items() for leaf in leaves]
    ci = rng.integers(0, len(cats), n)
    bi = rng.integers(0, len(BRANDS), n)
    a1, a2 = rng.integers(0, len(ADJ), n), rng.integers(0, len(ADJ), n)
    col = rng.integers(0, len(COLORS), n)
    un = rng.integers(0, len(UNITS), n)
    zh = rng.random(n) < 0.1
    zi = rng.integers(0, len(ZH), n)
    model = rng.integers(100, 9999, n)
    price = np.round(np.exp(rng.normal(4.0, 1.0, n)), 2)
    stock = rng.integers(0, 50, n)
    rows = []
    for i in range(n):
        top, leaf = cats[ci[i]]
        words = [
            BRANDS[bi[i]],
            ADJ[a1[i]],
            ADJ[a2[i]],
            leaf.rstrip("s") if i % 2 else leaf,
            UNITS[un[i]],
            COLORS[col[i]],
            f"X{model[i]}",
        ]
        if zh[i]:
            words.insert(1, ZH[zi[i]] + leaf)
        rows.append({
            "id": f"s{i}", "title": " ".join(words), "brand": BRANDS[bi[i]], "category": [top, leaf],
            "price": float(price[i]), "stock": int(stock[i]), "attributes": {"color": COLORS[col[i]]},
            "description": f"{ADJ[a1[i]]} {leaf.lower()} by {BRANDS[bi[i]]}",
        })  # fmt: skip
    return pd.DataFrame(rows)


def synthetic_queries(n: int, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    leaves = [leaf for leaves in CATS.values() for leaf in leaves]
    for _ in range(n):
        kind = rng.integers(0, 4)
        leaf = leaves[rng.integers(0, len(leaves))].lower()
        if kind == 0:
            out.append(f"{ADJ[rng.integers(0, len(ADJ))]} {leaf}")
        elif kind == 1:
            out.append(
                f"{BRANDS[rng.integers(0, len(BRANDS))].lower()} {leaf} {COLORS[rng.integers(0, len(COLORS))]}"
            )
        elif kind == 2:
            out.append(f"{leaf} {UNITS[rng.integers(0, len(UNITS))].lower()}")
        else:
            out.append(f"{ZH[rng.integers(0, len(ZH))]}")
    return out


def _time(fn, queries: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and process-CPU milliseconds per query (CPU time ≈ latency on an idle core)."""
    wall, cpu = [], []
    for _ in range(repeat):
        for q in queries:
            t, c = time.perf_counter(), time.process_time()
            fn(q)
            cpu.append((time.process_time() - c) * 1000)
            wall.append((time.perf_counter() - t) * 1000)
    return wall, cpu


def cmd_latency(args: argparse.Namespace) -> dict[str, Any]:
    from shopmind.embeddings import get_encoder

    _torch_one_thread()
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    if args.synthetic:
        name = f"synthetic-{args.synthetic // 1000}k"
        products = synthetic_catalogue(args.synthetic)
        queries = synthetic_queries(200)
        qrels = None
        filters = {"price": "..500", "in_stock": True}
        brand = "Acme"
    else:
        from shopmind.evaluate.search import load_chorus

        judged = load_chorus(Path(args.data_dir))
        name = "chorus-icecat"
        products = judged.products
        queries = list(judged.queries.values())
        qrels = judged
        filters = {"price": "..2000"}
        brand = str(products["brand"].value_counts().index[0])
    n = len(products)
    console.print(f"[dim]{name}: {n} products, {len(queries)} queries[/]")
    out: dict[str, Any] = {"dataset": name, "n_products": n, "n_queries": len(queries), "filters": filters}
    out["filters_with_brand"] = {**filters, "brand": brand}
    enc = get_encoder(None)
    art = Path(args.tmp) / f"search-{name}"
    previous = RESULTS / f"search_latency_{name}.json"
    if args.reuse and (art / "search.json").exists() and previous.exists():
        eng, sem = _reuse(art, enc, json.loads(previous.read_text()), out)
    else:
        eng, sem = _build(products, enc, args, out, art)
    _timings(eng, sem, products, queries, qrels, args, out)
    _sync_cost(eng, products, Path(args.tmp), out)
    return out


def _reuse(art: Path, enc: Any, prev: dict[str, Any], out: dict[str, Any]) -> tuple[Any, Any]:
    from shopmind.search.engine import ProductSearch

    for k in ("build_keyword_s", "build_keyword_cpu_s", "rss_after_keyword_build_mb", "build_vector_index_s",
              "build_vector_index_cpu_s", "vector_index", "rss_total_mb", "save_s", "artifacts_mb",
              "build_raw_bm25s_title_s"):  # fmt: skip
        if k in prev:
            out[k] = prev[k]
    out["build_from"] = prev.get("build_from") or prev.get("command")
    t0 = time.perf_counter()
    eng = ProductSearch.load(art, encoder=enc)
    out["load_s"] = round(time.perf_counter() - t0, 2)
    console.print(f"[dim]reused {art} (loaded in {out['load_s']} s)[/]")
    return eng, eng.semantic


def _build(products: pd.DataFrame, enc: Any, args: argparse.Namespace, out: dict[str, Any], art: Path):
    from shopmind.config import SearchConfig
    from shopmind.search.engine import ProductSearch
    from shopmind.search.semantic import SemanticIndex

    n = len(products)
    rss0 = rss_mb()
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    eng = ProductSearch.build(products, config=SearchConfig(semantic=False))
    out["build_keyword_s"] = round(time.perf_counter() - t0, 2)
    out["build_keyword_cpu_s"] = round(time.process_time() - c0, 2)
    console.print(f"[dim]keyword index built in {out['build_keyword_s']} s[/]")
    out["rss_after_keyword_build_mb"] = round(rss_mb() - rss0, 1)
    # vectors: real MiniLM embeddings from the cache for chorus, random unit vectors for synthetic
    if args.synthetic:
        vecs = np.random.default_rng(0).normal(size=(n, 384)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    else:
        from shopmind.search.semantic import encode_cached, item_text

        t0 = time.perf_counter()
        vecs = encode_cached(enc, [item_text(r) for r in products.to_dict("records")], Path(args.cache_dir))
        out["embed_or_cache_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    c0 = time.process_time()
    sem = SemanticIndex(vecs, encoder=enc, ann_threshold=eng.config.ann_threshold)
    sem._maybe_build_ann()
    out["build_vector_index_s"] = round(time.perf_counter() - t0, 2)
    out["build_vector_index_cpu_s"] = round(time.process_time() - c0, 2)
    console.print(f"[dim]vector index built in {out['build_vector_index_s']} s[/]")
    out["vector_index"] = "usearch HNSW" if sem._ann is not None else "exact numpy"
    eng.semantic = sem
    out["rss_total_mb"] = round(rss_mb() - rss0, 1)
    t0 = time.perf_counter()
    eng.save(art)
    out["save_s"] = round(time.perf_counter() - t0, 2)
    out["artifacts_mb"] = round(dir_mb(art), 1)
    t0 = time.perf_counter()
    ProductSearch.load(art, encoder=enc)
    out["load_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    _raw_bm25s(products)
    out["build_raw_bm25s_title_s"] = round(time.perf_counter() - t0, 2)
    return eng, sem


def _raw_bm25s(products: pd.DataFrame) -> Any:
    import bm25s

    raw = bm25s.BM25()
    raw.index(
        bm25s.tokenize(products["title"].astype(str).tolist(), show_progress=False), show_progress=False
    )
    return raw


def _timings(eng, sem, products, queries, qrels, args, out) -> None:
    """The latency rows: raw bm25s, then each mode with embed=hit and embed=miss."""
    import bm25s

    from shopmind.search.ltr import RankingData, Reranker

    filters, with_brand = out["filters"], out["filters_with_brand"]
    # a reranker for the ltr timing: judged labels on chorus; on synthetic, labels = word coverage
    # (only the timing matters there)
    parts = []
    for i, q in enumerate(queries[:100]):
        qq = eng._retrieve(q, "hybrid", None)
        head = qq.rows[: eng.config.rerank_n]
        if len(head) < 2:
            continue
        X = eng.features(qq, head)
        if qrels is not None:
            qid = list(qrels.queries)[i]
            y = np.asarray([qrels.qrels.get(qid, {}).get(eng.lexical.ids[r], 0) for r in head], np.float32)
        else:
            y = np.round(X[:, 6] * 3)
        parts.append((q, X, y))
    eng.reranker = Reranker().fit(RankingData.stack(parts))
    raw = _raw_bm25s(products)

    def raw_fn(q: str) -> None:
        raw.retrieve(bm25s.tokenize([q], show_progress=False), k=10, show_progress=False, n_threads=1)

    def mode_fn(mode: str, f: dict[str, Any]) -> Any:
        return lambda q: eng.search(q, k=10, filters=f, mode=mode)

    cases: list[tuple[str, Any, bool | None]] = [
        ("raw bm25s retrieve (title, top-10, no filter/facets)", raw_fn, None),
        ("bm25 (fields+filter+facets+highlight)", mode_fn("bm25", filters), None),
        ("bm25 + brand selected (disjunctive facets)", mode_fn("bm25", with_brand), None),
    ]
    for embed in ("miss", "hit"):
        what = "MiniLM per query" if embed == "miss" else "query vector cached"
        cases += [
            (f"semantic, embed={embed} ({what})", mode_fn("semantic", filters), embed == "miss"),
            (f"hybrid, embed={embed}", mode_fn("hybrid", filters), embed == "miss"),
            (f"hybrid + brand selected, embed={embed}", mode_fn("hybrid", with_brand), embed == "miss"),
            (f"ltr (hybrid + rerank top-100), embed={embed}", mode_fn("ltr", filters), embed == "miss"),
        ]
    rows = []
    rep = args.repeat
    warm = queries[:20]
    for label, fn, encode_each in cases:
        if encode_each:
            sem._cache_size = 0
            sem._cache.clear()
        elif encode_each is False:
            sem._cache_size = 100_000
            for q in queries:
                sem.embed_query(q)
        _time(fn, warm, 1)
        times, cpu = _time(fn, queries, rep)
        rows.append({
            "name": label, "cpu_p50_ms": round(pct(cpu, 50), 3), "cpu_p95_ms": round(pct(cpu, 95), 3),
            "cpu_p99_ms": round(pct(cpu, 99), 3), "cpu_qps": round(1000.0 / statistics.mean(cpu), 1),
            "p50_ms": round(pct(times, 50), 3), "p95_ms": round(pct(times, 95), 3),
            "p99_ms": round(pct(times, 99), 3), "qps": round(1000.0 / statistics.mean(times), 1), "n": len(times),
        })  # fmt: skip
    out["rows"] = rows
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    # updates: 100 upserts + 100 deletes without a rebuild
    new = products.head(100).copy()
    new["id"] = [f"new{i}" for i in range(100)]
    sem._cache_size = 100_000
    t0 = time.perf_counter()
    c0 = time.process_time()
    eng.upsert(new.to_dict("records"))
    out["upsert_100_s_incl_embedding"] = round(time.perf_counter() - t0, 3)
    out["upsert_100_cpu_s_incl_embedding"] = round(time.process_time() - c0, 3)
    t0 = time.perf_counter()
    eng.delete([f"new{i}" for i in range(100)])
    out["delete_100_s"] = round(time.perf_counter() - t0, 4)
    table = Table(
        title=f"Search latency, {out['dataset']} ({len(products)} products), 1 core, filter {filters} + facets"
    )
    for c in ("mode", "CPU p50", "CPU p95", "CPU p99", "CPU QPS", "wall p50", "wall p99"):
        table.add_column(c, justify="left" if c == "mode" else "right")
    for r in rows:
        table.add_row(
            r["name"],
            *(f"{r[k]:.2f}" for k in ("cpu_p50_ms", "cpu_p95_ms", "cpu_p99_ms")),
            f"{r['cpu_qps']:.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
        )
    console.print(table)


def _sync_cost(eng: Any, products: pd.DataFrame, tmp: Path, out: dict[str, Any]) -> None:
    """Cost of keeping a worker in step with the store (SearchService.sync), SQLite store."""
    import tempfile

    from shopmind.data.schema import Item
    from shopmind.search.service import SearchService
    from shopmind.store import open_store

    tmp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp) as d:
        store = open_store(f"sqlite:///{Path(d) / 'sync.db'}")
        svc = SearchService(eng, store)
        idle = []
        for _ in range(2000):
            c = time.perf_counter()
            svc.sync(force=True)
            idle.append((time.perf_counter() - c) * 1000)
        out["sync_nothing_new_ms_p50"] = round(pct(idle, 50), 4)
        out["sync_nothing_new_ms_p99"] = round(pct(idle, 99), 4)
        recs = products.head(20).to_dict("records")
        applied = []
        for i, r in enumerate(recs):
            item = Item(id=f"sync{i}", title=str(r["title"]), brand=r.get("brand"), price=r.get("price"))
            store.upsert_items([item])  # written by "another worker"
            c = time.perf_counter()
            svc.sync(force=True)
            applied.append((time.perf_counter() - c) * 1000)
        out["sync_apply_one_change_ms_p50"] = round(pct(applied, 50), 3)
        out["sync_apply_one_change_ms_max"] = round(max(applied), 3)
        store.close()
    console.print({k: v for k, v in out.items() if k != "rows"})


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["quality", "engines", "latency"])
    p.add_argument(
        "--data-dir",
        default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets" / "chorus-icecat-search"),
    )
    p.add_argument("--synthetic", type=int, default=0, help="latency on a generated catalogue of this size")
    p.add_argument("--cache-dir", default="var/cache/search")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--reuse", action="store_true", help="latency: load the artifacts a previous run saved")
    p.add_argument("--run", default=None, help="quality: also write the TREC run file")
    p.add_argument("--tmp", default="var/bench")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    out = {"quality": cmd_quality, "engines": cmd_engines, "latency": cmd_latency}[args.command](args)
    out["command"] = "python " + " ".join(["bench/bench_search.py", *(argv or sys.argv[1:])])
    out["note"] = "measured on a shared 2-core machine under contention from other jobs"
    suffix = f"_{out.get('dataset', '')}".replace("/", "-") if args.command == "latency" else ""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"search_{args.command}{suffix}.json"
    path.write_text(json.dumps(out, indent=2, ensure_ascii=False, default=str) + "\n")
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
