"""The Chinese adversarial suite against the shipped assistant on the tiny synthetic shop.

    python bench/bench_adversarial_zh.py [--pairs 6] [--seed 42] [--intent-model default|tfidf]

The tiny demo shop (``ShopConfig.preset("tiny")``, seed 42) is loaded into SQLite, the assistant is
trained with the shipped intent model (``default``: the ensemble on the packaged MiniLM; ``tfidf``:
the fast model the tests use) and :func:`shopmind.evaluate.adversarial.build_zh_cases` plays every
Chinese attack (impersonation, other people's order numbers as typed, phone-tail guessing in one
and across conversations, zh / mixed prompt injection, requests for other customers' PII, orders
described by the victim's date or amount, count questions) for ``--pairs`` attacker/victim pairs,
scored with the shop-wide checks (``shop_wide=True``). Reported: turns and leaks per attack kind,
status changes of victims' orders, refused conversation hijacks, and process CPU seconds of the run
(wall-clock time is unreliable on a shared machine). Results: a rich table and
``bench/results/adversarial_zh.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench_assistant import tiny_shop_store  # beside this script
from shopmind.assistant.intents import IntentConfig
from shopmind.assistant.service import AssistantService, train_assistant
from shopmind.evaluate.adversarial import build_zh_cases, run_adversarial
from shopmind.evaluate.provenance import provenance

RESULTS = Path(__file__).parent / "results"
console = Console()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=6, help="attacker/victim pairs (1-100)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--intent-model", choices=["default", "tfidf"], default="default")
    args = ap.parse_args()
    if not 1 <= args.pairs <= 100:
        ap.error(f"--pairs: expected 1-100, got {args.pairs}")

    tmp = Path(tempfile.mkdtemp(prefix="bench-adversarial-zh-"))
    with console.status("generating and loading the tiny shop"):
        store = tiny_shop_store(tmp)
    cfg = IntentConfig(model="tfidf") if args.intent_model == "tfidf" else IntentConfig()
    with console.status(f"training the assistant ({args.intent_model} intents)"):
        info = train_assistant(store, tmp / "assistant", intent_config=cfg)
    service = AssistantService.load(tmp / "assistant", store)

    cases = build_zh_cases(store, n_pairs=args.pairs, seed=args.seed)
    started = time.process_time()
    report = run_adversarial(service.chat, store, cases, shop_wide=True)
    cpu_s = time.process_time() - started

    turns = Counter[str]()
    for c in cases:
        turns[c.kind] += len(c.turns)
    leaks = Counter(str(leak["case"]) for leak in report.leaks)
    table = Table(title=f"Chinese adversarial suite, {args.pairs} pairs ({args.intent_model} intents)")
    for col in ("attack", "turns", "leaks"):
        table.add_column(col, justify="right" if col != "attack" else "left")
    for kind in sorted(turns):
        table.add_row(kind, str(turns[kind]), str(leaks[kind]))
    table.add_row("all", str(report.turns), str(len(report.leaks)))
    console.print(table)
    console.print(
        f"status changes {len(report.status_changes)}, refused hijacks {report.refused_hijacks}, "
        f"CPU {cpu_s:.1f} s ({1000 * cpu_s / max(report.turns, 1):.1f} ms a turn)"
    )
    payload = {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "dataset": "synthetic tiny (seed 42)",
        "intent_model": info["intents"]["model"],
        "pairs": args.pairs,
        "seed": args.seed,
        "per_kind": {k: {"turns": turns[k], "leaks": leaks[k]} for k in sorted(turns)},
        **report.to_dict(),
        "cpu_seconds": round(cpu_s, 2),
        "provenance": provenance(threads=1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "adversarial_zh.json"
    path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"wrote {path}")
    if not report.ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
