"""Shopping questions on the demo catalogue: are price, brand and category respected? (en + zh)

    python bench/bench_shopping_questions.py                 # 160 + 160 questions, BM25 search service
    python bench/bench_shopping_questions.py --no-search     # catalogue scan only (no search service)
    python bench/bench_shopping_questions.py --per-language 400 --seed 7

The demo catalogue (20,000 items, seed 42) is read from ``var/bench-cache/demo-shop-42`` when present,
else generated (catalogue only, no events). It is loaded into a temporary SQLite store; the assistant
is trained the light way the tests use (TF-IDF intents, no help pages) and the search service is
built BM25-only (no sentence encoder), so the run needs no model download. Questions and scoring:
:mod:`shopmind.evaluate.shopping`. Result: ``bench/results/shopping_questions.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

console = Console()
RESULTS = Path(__file__).parent / "results"
CACHE = Path("var/bench-cache/demo-shop-42")


def _catalogue(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """Items and category tree of the demo shop: the bench cache, else generated (items only)."""
    from shopmind.datasets.synthetic import ShopConfig
    from shopmind.datasets.synthetic.generate import build_shop, category_tree, item_records

    cache = Path(str(CACHE).replace("-42", f"-{seed}"))
    if (cache / "items.jsonl").exists() and (cache / "categories.json").exists():
        with (cache / "items.jsonl").open(encoding="utf-8") as fh:
            items = [json.loads(line) for line in fh if line.strip()]
        tree = json.loads((cache / "categories.json").read_text(encoding="utf-8"))
        return items, tree, str(cache)
    console.print(f"generating the demo catalogue (seed {seed}); {cache} not found")
    shop = build_shop(ShopConfig.preset("demo", seed=seed))
    return list(item_records(shop)), category_tree(), "generated"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-language", type=int, default=160, help="questions per language (default 160)")
    ap.add_argument("--seed", type=int, default=42, help="demo shop seed (the questions use it too)")
    ap.add_argument("--no-search", action="store_true", help="no search service: the catalogue scan only")
    ap.add_argument("--out", type=Path, default=RESULTS / "shopping_questions.json")
    args = ap.parse_args()

    from shopmind.assistant.intents import IntentConfig
    from shopmind.assistant.service import AssistantService, train_assistant
    from shopmind.config import SearchConfig
    from shopmind.data.schema import Item
    from shopmind.evaluate.shopping import generate_questions, score
    from shopmind.search.engine import ProductSearch
    from shopmind.search.service import SearchService
    from shopmind.store import open_store

    cpu0 = time.process_time()
    items, tree, source = _catalogue(args.seed)
    questions = generate_questions(items, tree, n_per_language=args.per_language, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'shop.db'}")
        store.upsert_items([Item.model_validate(r) for r in items])
        train_assistant(store, Path(tmp) / "assistant", intent_config=IntentConfig(model="tfidf"))
        search = None
        if not args.no_search:
            engine = ProductSearch.build(store.items_frame(), config=SearchConfig(semantic=False))
            search = SearchService(engine, store)
        setup_cpu = time.process_time() - cpu0
        service = AssistantService.load(Path(tmp) / "assistant", store, search=search)
        cpu1 = time.process_time()
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("questions", total=len(questions))
            report, outcomes = score(
                questions,
                lambda text, lang: service.chat(text, language=lang),
                {str(r["id"]): r for r in items},
                progress=lambda i: bar.update(task, completed=i),
            )
        ask_cpu = time.process_time() - cpu1
        store.close()

    payload = {
        "benchmark": "shopping_questions",
        "command": "python bench/bench_shopping_questions.py"
        + (f" --per-language {args.per_language}" if args.per_language != 160 else "")
        + (f" --seed {args.seed}" if args.seed != 42 else "")
        + (" --no-search" if args.no_search else ""),
        "catalogue": {"source": source, "items": len(items), "seed": args.seed},
        "search": "none (catalogue scan)" if args.no_search else "SearchService, BM25 only",
        "intents": "TF-IDF",
        "report": report.to_dict(),
        "cpu_s": {"setup": round(setup_cpu, 1), "questions": round(ask_cpu, 1)},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "examples": [o.to_dict() for o in outcomes[:: max(1, len(outcomes) // 12)]][:12],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    table = Table(title=f"shopping questions ({report.n}, {payload['search']})")
    for col in ("slice", "n", "correct", "violations"):
        table.add_column(col, justify="right" if col != "slice" else "left")
    table.add_row("all", str(report.n), f"{report.correct:.1%}", str(report.violations))
    for name, block in [*report.by_language.items(), *report.by_kind.items()]:
        table.add_row(name, str(int(block["n"])), f"{block['correct']:.1%}", str(int(block["violations"])))
    console.print(table)
    console.print(f"median {report.median_ms:.1f} ms per question; wrote {args.out}")


if __name__ == "__main__":
    main()
