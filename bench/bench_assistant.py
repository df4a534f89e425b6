"""Assistant benchmarks: intents (BANKING77, Bitext), out of scope, ECD, sentiment, adversarial set, latency.

    python bench/bench_assistant.py intents     --data-dir ../shared/datasets   # BANKING77 full + 10-shot + OOS
    python bench/bench_assistant.py bitext      --data-dir ../shared/datasets
    python bench/bench_assistant.py responses   --data-dir ../shared/datasets
    python bench/bench_assistant.py sentiment   --data-dir ../shared/datasets
    python bench/bench_assistant.py chat        # tiny synthetic shop: adversarial set + chat-turn latency
    # with the mpnet extra installed: the all-mpnet-base-v2 rows and chat latency
    python bench/bench_assistant.py intents --settings full-mpnet,10-shot-mpnet,10-shot-knn-mpnet,oos-mpnet
    python bench/bench_assistant.py chat --encoder mpnet

One BLAS/torch thread. Sentence vectors are cached under ``var/cache/embeddings`` (encoding BANKING77's
13k utterances with MiniLM takes minutes on one contended core). Results: ``bench/results/assistant_<cmd>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rich.console import Console  # noqa: E402

from shopmind.cli.common import metric_rows_table  # noqa: E402

console = Console()
RESULTS = Path(__file__).parent / "results"
CACHE = Path("var/cache/embeddings")


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    console.print(metric_rows_table(title, rows))


def _write(name: str, payload: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"assistant_{name}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"wrote {path}")


# Fine-tuning setting of the "10-shot-ft" row: SetFit-like values (lr 5e-5 with warm-up, 5 epochs,
# batches of distinct intents) fixed before any run. An inner-validation check afterwards (another
# 10-shot sample of train, 1,000 other train utterances; test unread) found them the best of
# {5 ep lr 5e-5, 5 ep lr 1.5e-4, 10 ep lr 5e-5} for the ensemble: docs/bench/assistant.md.
FINETUNE = {"finetune_epochs": 5, "finetune_batch_size": 32, "finetune_lr": 5e-5}
# Few-shot preset of the "-names" rows: each intent's name as one more example
# (IntentConfig.label_examples) and TF-IDF weight 0.3, both chosen on the inner 10-shot validation
# split above (weights 0.2–0.5 × C 5/20 × names on/off, frozen and fine-tuned; test unread):
# docs/bench/assistant.md.
FEWSHOT = {"label_examples": True, "ensemble_weight": 0.3}
# ... plus the nearest-neighbour head (IntentConfig.knn_weight), chosen afterwards on the same inner
# split with the fine-tuned encoder: T = 20, weights TF-IDF 0.25 / kNN 0.25 / embedding LR 0.5.
FEWSHOT_KNN = {"label_examples": True, "ensemble_weight": 0.25, "knn_weight": 0.25}
MPNET = {"encoder": "mpnet"}
INTENT_SETTINGS = (
    "full",
    "10-shot",
    "10-shot-ft",
    "10-shot-names",
    "10-shot-names-ft",
    "10-shot-knn",
    "10-shot-knn-ft",
    "oos",
    "full-mpnet",
    "10-shot-mpnet",
    "oos-mpnet",
    "10-shot-knn-mpnet",
)


def bench_intents(data_dir: Path, oos: int, settings: list[str]) -> None:
    import torch

    from shopmind.assistant.intents import IntentConfig, read_intent_csv
    from shopmind.evaluate.assistant import evaluate_intents

    torch.set_num_threads(1)
    d = data_dir / "banking77"
    tr_t, tr_l = read_intent_csv(d / "train.csv")
    te_t, te_l = read_intent_csv(d / "test.csv")
    runs: dict[str, dict[str, Any]] = {
        "full": {},
        "10-shot": {"shots": 10},
        "10-shot-ft": {"shots": 10, "config": IntentConfig(**FINETUNE), "name": "banking77-ft"},
        "10-shot-names": {"shots": 10, "config": IntentConfig(**FEWSHOT), "name": "banking77-names"},
        "10-shot-names-ft": {
            "shots": 10,
            "config": IntentConfig(**FEWSHOT, **FINETUNE),
            "name": "banking77-names-ft",
        },
        "10-shot-knn": {"shots": 10, "config": IntentConfig(**FEWSHOT_KNN), "name": "banking77-knn"},
        "10-shot-knn-ft": {
            "shots": 10,
            "config": IntentConfig(**FEWSHOT_KNN, **FINETUNE),
            "name": "banking77-knn-ft",
        },
        "oos": {"oos_holdout": oos},
        # all-mpnet-base-v2 (the `mpnet` extra), chosen for out of scope on the inner pseudo-OOS
        # splits (mean recall 0.527 vs 0.456 for MiniLM over inner seeds 7-10): docs/bench/assistant.md
        "full-mpnet": {"config": IntentConfig(**MPNET), "name": "banking77-mpnet"},
        "10-shot-mpnet": {"shots": 10, "config": IntentConfig(**MPNET), "name": "banking77-mpnet"},
        "oos-mpnet": {"oos_holdout": oos, "config": IntentConfig(**MPNET), "name": "banking77-mpnet"},
        # the few-shot kNN preset on frozen mpnet vectors (inner 10-shot split: 0.866 vs 0.853 on MiniLM)
        "10-shot-knn-mpnet": {
            "shots": 10,
            "config": IntentConfig(**FEWSHOT_KNN, **MPNET),
            "name": "banking77-knn-mpnet",
        },
    }
    rows: list[dict[str, Any]] = []
    for setting in settings:
        kwargs = {"name": "banking77", **runs[setting]}
        started = time.perf_counter()
        new = evaluate_intents(tr_t, tr_l, te_t, te_l, cache_dir=CACHE, **kwargs)
        for r in new:
            r["seconds"] = round(time.perf_counter() - started, 1)
        rows += new
        _table("BANKING77", new)
    _table("BANKING77", rows)
    # a run of some settings replaces only their rows in the results file
    path = RESULTS / "assistant_intents.json"
    old = json.loads(path.read_text(encoding="utf-8"))["rows"] if path.exists() else []
    names = {r["name"] for r in rows}
    merged = [r for r in old if r["name"] not in names] + rows
    _write("intents", {"dataset": "banking77", "protocol": "official train/test", "rows": merged})


def bench_bitext(data_dir: Path) -> None:
    from shopmind.datasets.dialogue import load_bitext
    from shopmind.evaluate.assistant import evaluate_intents, stratified_split

    frame = load_bitext(data_dir / "bitext-customer-support")
    texts, labels = frame["text"].tolist(), frame["intent"].tolist()
    tr, te = stratified_split(labels, 0.2, 42)
    rows = evaluate_intents(
        [texts[i] for i in tr],
        [labels[i] for i in tr],
        [texts[i] for i in te],
        [labels[i] for i in te],
        name="bitext",
        cache_dir=CACHE,
    )
    _table("Bitext (seeded 80/20)", rows)
    _write(
        "bitext", {"dataset": "bitext-customer-support", "protocol": "seeded stratified 80/20", "rows": rows}
    )


def bench_responses(data_dir: Path) -> None:
    from shopmind.datasets.dialogue import ecd_groups, load_ecd
    from shopmind.evaluate.assistant import evaluate_response_selection

    groups = ecd_groups(load_ecd(data_dir / "ecd-taobao-cs-sample" / "test.txt"))
    rows = [{"name": "ecd/tfidf-cosine", "metrics": evaluate_response_selection(groups)}]
    _table("ECD response selection", rows)
    _write("responses", {"dataset": "ecd-taobao-cs-sample", "protocol": "R10@k on test.txt", "rows": rows})


def bench_sentiment(data_dir: Path) -> None:
    from shopmind.datasets.reviews import load_amazon_reviews
    from shopmind.evaluate.assistant import evaluate_sentiment

    rows = evaluate_sentiment(
        load_amazon_reviews(data_dir / "amazon-fashion-5core" / "AMAZON_FASHION_5.json.gz")
    )
    _table("review sentiment", rows)
    _write(
        "sentiment",
        {"dataset": "amazon-fashion-5core", "protocol": "seeded 80/20 grouped by text", "rows": rows},
    )


def tiny_shop_store(tmp: Path) -> Any:
    """The seeded tiny shop generated into ``tmp/shop`` and loaded into ``tmp/shop.db``: its catalogue,
    customers, orders, help pages and reviews (what the assistant reads; no behaviour events)."""
    from shopmind.data.schema import Document, Item, Order, Review, User
    from shopmind.datasets.synthetic import ShopConfig
    from shopmind.datasets.synthetic.generate import generate
    from shopmind.store import open_store

    generate(ShopConfig.preset("tiny"), tmp / "shop")
    store = open_store(f"sqlite:///{tmp / 'shop.db'}")

    def records(name: str, model: Any) -> list[Any]:
        with (tmp / "shop" / name).open(encoding="utf-8") as fh:
            return [model(**json.loads(line)) for line in fh if line.strip()]

    store.upsert_items(records("items.jsonl", Item))
    store.upsert_users(records("users.jsonl", User))
    store.upsert_orders(records("orders.jsonl", Order))
    store.upsert_documents(records("documents.jsonl", Document))
    store.upsert_reviews(records("reviews.jsonl", Review))
    return store


def bench_chat(n_pairs: int, encoder: str | None = None) -> None:
    import torch

    from shopmind.assistant.intents import IntentConfig
    from shopmind.assistant.service import AssistantService, train_assistant
    from shopmind.evaluate.adversarial import build_cases, run_adversarial

    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="bench-assistant-"))
    store = tiny_shop_store(tmp)
    started = time.perf_counter()
    # the default ensemble intent model, on the packaged MiniLM unless --encoder says otherwise
    info = train_assistant(store, tmp / "assistant", intent_config=IntentConfig(encoder=encoder))
    train_s = time.perf_counter() - started
    service = AssistantService.load(tmp / "assistant", store)

    cases = build_cases(store, n_pairs=n_pairs, seed=42)
    report = run_adversarial(service.chat, store, cases)
    adv = report.to_dict()

    messages = [
        "hi",
        "where is my order?",
        "how long does express delivery take",
        "do you accept paypal",
        "I want to cancel my order",
        "退货政策是什么",
        "我的快递到哪了",
        "can I pay with bitcoin",
        "what is your return policy",
        "thanks, bye",
    ]
    users = sorted(store.user_ids())[:20]
    for m in messages[:3]:
        service.chat(m, user_id=users[0])  # warm caches (jieba, encoder)
    load_before = os.getloadavg()[0]
    times: list[float] = []
    for u in users:
        cid = None
        for m in messages:
            t = time.perf_counter()
            r = service.chat(m, conversation_id=cid, user_id=u)
            times.append((time.perf_counter() - t) * 1000)
            cid = r.conversation_id
    times.sort()
    p50 = statistics.median(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    rows = [
        {
            "name": "adversarial/identity",
            "metrics": {
                "cases": adv["cases"],
                "turns": adv["turns"],
                "leaks": adv["leaks"],
                "status_changes": len(adv["status_changes"]),
                "refused_hijacks": adv["refused_hijacks"],
            },
        },
        {
            "name": "chat/turn-latency-ms",
            "metrics": {
                "p50": round(p50, 2),
                "p95": round(p95, 2),
                "turns": len(times),
                "intent_model": info["intents"]["model"],
                "encoder": encoder or "all-MiniLM-L6-v2",
                "train_seconds": round(train_s, 1),
                # other jobs on the machine inflate timings: record the 1-minute load average
                "load_before": round(load_before, 2),
                "load_after": round(os.getloadavg()[0], 2),
            },
        },
    ]
    _table("assistant on the tiny synthetic shop", rows)
    _write(
        "chat" if encoder is None else f"chat-{encoder}",
        {"dataset": "synthetic tiny (seed 42)", "rows": rows, "adversarial": adv},
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["intents", "bitext", "responses", "sentiment", "chat"])
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/datasets"))
    ap.add_argument("--oos-holdout", type=int, default=20)
    ap.add_argument(
        "--settings",
        default=",".join(s for s in INTENT_SETTINGS if not s.endswith("-mpnet")),
        help=f"intents: comma-separated subset of {','.join(INTENT_SETTINGS)} (the -mpnet ones need the "
        "mpnet extra and are not in the default)",
    )
    ap.add_argument("--encoder", default=None, help="chat: the intent model's encoder spec (e.g. mpnet)")
    ap.add_argument("--pairs", type=int, default=12, help="attacker/victim pairs in the adversarial set")
    args = ap.parse_args()
    if args.command == "intents":
        settings = [s.strip() for s in args.settings.split(",") if s.strip()]
        unknown = sorted(set(settings) - set(INTENT_SETTINGS))
        if unknown:
            ap.error(f"--settings: unknown {unknown}; expected a subset of {','.join(INTENT_SETTINGS)}")
        bench_intents(args.data_dir, args.oos_holdout, settings)
    elif args.command == "bitext":
        bench_bitext(args.data_dir)
    elif args.command == "responses":
        bench_responses(args.data_dir)
    elif args.command == "sentiment":
        bench_sentiment(args.data_dir)
    else:
        bench_chat(args.pairs, args.encoder)


if __name__ == "__main__":
    main()
