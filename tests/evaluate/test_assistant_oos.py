"""``shopmind evaluate intents --oos-label``: out-of-scope rows marked in the test file.

On a small file written here and on BANKING77 (realdata) the labelled-file path gives exactly the
figures of the ``--oos-holdout`` protocol when the held-out intents are relabelled ``oos`` in the test
file and dropped from training; bad files get one error line.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shopmind.assistant.intents import IntentConfig, read_intent_csv
from shopmind.cli import app
from shopmind.errors import DataError
from shopmind.evaluate.assistant import evaluate_intents, evaluate_intents_oos_label

INTENTS = {
    "order_status": ["where is my order", "track my package", "has my parcel shipped", "order status please",
                     "when will my order arrive", "is my delivery on the way", "shipping status of my order",
                     "i want to track my order"],
    "refund": ["i want a refund", "give me my money back", "refund my purchase", "how do i get a refund",
               "request a refund for my order", "money back please", "can i be refunded", "refund status"],
    "password": ["reset my password", "i forgot my password", "cannot log in password", "change my password",
                 "password reset link", "locked out of my account password", "new password please",
                 "password not working"],
    "opening_hours": ["when are you open", "opening hours", "what time do you close", "are you open on sunday",
                      "store hours today", "what are your hours", "when does the shop open", "closing time"],
}  # fmt: skip
OOS = ["what is the weather tomorrow", "tell me a joke", "who won the football match", "play some music",
       "what is the capital of france", "recipe for pancakes"]  # fmt: skip


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "intent"])
        w.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    train = [(t, lab) for lab, texts in INTENTS.items() for t in texts[:6]] + [(OOS[0], "oos")]
    test = [(t, lab) for lab, texts in INTENTS.items() for t in texts[6:]] + [(t, "oos") for t in OOS[1:]]
    return write_csv(tmp_path / "train.csv", train), write_csv(tmp_path / "test.csv", test)


def invoke(args: list[str]) -> Any:
    return CliRunner().invoke(app, ["evaluate", "intents", *args])


def test_cli_oos_label_rows_carry_the_metrics(files: tuple[Path, Path], tmp_path: Path) -> None:
    train, test = files
    out = tmp_path / "oos.json"
    r = invoke(["--train", str(train), "--test", str(test), "--model", "tfidf", "--oos-label", "oos",
                "--json", str(out)])  # fmt: skip
    assert r.exit_code == 0, (r.output, r.exception)
    doc = json.loads(out.read_text())
    assert "out of scope" in doc["protocol"]
    (row,) = doc["rows"]
    m = row["metrics"]
    assert {"in_scope_accuracy", "oos_recall", "oos_precision", "in_scope_loss", "threshold"} <= set(m)
    assert row["n_oos_test"] == 5 and row["n_train"] == 24  # the one 'oos' training row is dropped
    for key in ("in_scope_accuracy", "oos_recall", "in_scope_loss"):
        assert 0.0 <= m[key] <= 1.0
    assert m["oos_precision"] is None or 0.0 <= m["oos_precision"] <= 1.0
    assert "intents (" in r.output  # the table


def test_metrics_recomputed_from_predictions(files: tuple[Path, Path]) -> None:
    """The figures are what the shipped classifier does at its own threshold, counted by hand here."""
    from shopmind.assistant.intents import IntentClassifier

    tr_t, tr_l = read_intent_csv(files[0])
    te_t, te_l = read_intent_csv(files[1])
    cfg = IntentConfig(model="tfidf", seed=42)
    (row,) = evaluate_intents_oos_label(tr_t, tr_l, te_t, te_l, "oos", model="tfidf", config=cfg)
    keep = [i for i, lab in enumerate(tr_l) if lab != "oos"]
    clf = IntentClassifier(cfg).fit([tr_t[i] for i in keep], [tr_l[i] for i in keep])
    preds = clf.predict(te_t)
    oos = [lab == "oos" for lab in te_l]
    rejected = [not p.in_scope for p in preds]
    n_in = oos.count(False)
    assert row["metrics"]["oos_recall"] == round(
        sum(r for r, o in zip(rejected, oos, strict=True) if o) / 5, 4
    )
    assert row["metrics"]["in_scope_accuracy"] == round(
        sum(p.intent == g for p, g, o in zip(preds, te_l, oos, strict=True) if not o) / n_in, 4
    )
    n_rej = sum(rejected)
    expected_precision = (
        round(sum(r and o for r, o in zip(rejected, oos, strict=True)) / n_rej, 4) if n_rej else None
    )
    assert row["metrics"]["oos_precision"] == expected_precision
    assert row["metrics"]["threshold"] == round(clf.threshold, 6)


def test_label_path_equals_holdout_protocol(files: tuple[Path, Path]) -> None:
    """Relabel the holdout protocol's held-out intents as 'oos': the same figures."""
    tr_t, tr_l = read_intent_csv(files[0])
    te_t, te_l = read_intent_csv(files[1])
    keep_tr = [i for i, lab in enumerate(tr_l) if lab != "oos"]
    keep_te = [i for i, lab in enumerate(te_l) if lab != "oos"]
    tr_t, tr_l = [tr_t[i] for i in keep_tr], [tr_l[i] for i in keep_tr]
    te_t, te_l = [te_t[i] for i in keep_te], [te_l[i] for i in keep_te]
    cfg = IntentConfig()
    (hold,) = evaluate_intents(tr_t, tr_l, te_t, te_l, model="tfidf", oos_holdout=1, config=cfg)
    held = set(hold["held_out_intents"])
    lab_tr = [(t, "oos" if lab in held else lab) for t, lab in zip(tr_t, tr_l, strict=True)]
    lab_te = [(t, "oos" if lab in held else lab) for t, lab in zip(te_t, te_l, strict=True)]
    (row,) = evaluate_intents_oos_label(
        [t for t, _ in lab_tr], [lab for _, lab in lab_tr], [t for t, _ in lab_te], [lab for _, lab in lab_te],
        "oos", model="tfidf", config=cfg,
    )  # fmt: skip
    assert row["metrics"] == hold["metrics"]
    assert row["n_oos_test"] == hold["n_oos_test"] and row["n_train"] == hold["n_train"]


def test_missing_oos_label_is_one_clear_error(files: tuple[Path, Path]) -> None:
    train, test = files
    r = invoke(
        ["--train", str(train), "--test", str(test), "--model", "tfidf", "--oos-label", "out_of_scope"]
    )
    assert isinstance(r.exception, DataError)
    msg = str(r.exception)
    assert "\n" not in msg and "out_of_scope" in msg and "no test row" in msg


def test_bad_intent_file_names_line_and_column(tmp_path: Path, files: tuple[Path, Path]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text('text,intent\n"hello",greet\n"unterminated,greet\n')
    r = invoke(["--train", str(files[0]), "--test", str(bad), "--model", "tfidf", "--oos-label", "oos"])
    assert isinstance(r.exception, DataError)
    assert str(bad) in str(r.exception)
    cols = tmp_path / "cols.csv"
    cols.write_text("utterance_text,label_name\nhi,greet\n")
    r = invoke(["--train", str(files[0]), "--test", str(cols), "--model", "tfidf", "--oos-label", "oos"])
    assert isinstance(r.exception, DataError) and "line 1" in str(r.exception)
    r = invoke(
        ["--train", str(files[0]), "--test", str(files[1]), "--oos-label", "oos", "--oos-holdout", "2"]
    )
    assert r.exit_code != 0 and "exclude each other" in str(r.exception)


@pytest.mark.slow
def test_realdata_banking77_label_file_equals_holdout(datasets_dir: Path, tmp_path: Path) -> None:
    """BANKING77 (its first 30 intents, for time) with 5 held out: the relabelled files through the CLI
    give exactly the holdout protocol's figures."""
    folder = datasets_dir / "banking77"
    tr_t, tr_l = read_intent_csv(folder / "train.csv")
    te_t, te_l = read_intent_csv(folder / "test.csv")
    kept = set(sorted(set(tr_l))[:30])
    tr = [(t, lab) for t, lab in zip(tr_t, tr_l, strict=True) if lab in kept]
    te = [(t, lab) for t, lab in zip(te_t, te_l, strict=True) if lab in kept]
    (hold,) = evaluate_intents(
        [t for t, _ in tr], [lab for _, lab in tr], [t for t, _ in te], [lab for _, lab in te],
        model="tfidf", oos_holdout=5, config=IntentConfig(),
    )  # fmt: skip
    held = set(hold["held_out_intents"])
    train = write_csv(tmp_path / "train.csv", [(t, "oos" if lab in held else lab) for t, lab in tr])
    test = write_csv(tmp_path / "test.csv", [(t, "oos" if lab in held else lab) for t, lab in te])
    out = tmp_path / "b77.json"
    r = invoke(["--train", str(train), "--test", str(test), "--model", "tfidf", "--oos-label", "oos",
                "--json", str(out)])  # fmt: skip
    assert r.exit_code == 0, (r.output, r.exception)
    (row,) = json.loads(out.read_text())["rows"]
    assert row["metrics"] == hold["metrics"]
    assert row["n_oos_test"] == hold["n_oos_test"] == 200  # 5 intents × 40 test utterances
