"""Customer-service text: BANKING77 intents, Bitext e-commerce support, ECD Taobao dialogues.

* BANKING77 (Casanueva et al., *Efficient Intent Detection with Dual Sentence Encoders*, 2020):
  ``train.csv``/``test.csv`` with ``text, category`` and ``categories.json`` (the 77 intent names).
* Bitext customer-support sample: CSV with ``instruction, intent, category, response, …``; fields may
  contain quoted newlines.
* E-commerce Dialogue Corpus (Zhang et al., COLING 2018): tab-separated
  ``label \t utt_1 … utt_k \t response``, Chinese, already word-segmented.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from shopmind.datasets._io import bad_line, read_table, require_columns, resolve
from shopmind.errors import DataError, Location


def _read_intent_csv(file: Path, text_col: str, label_col: str) -> pd.DataFrame:
    frame = read_table(file, sep=",", header=0, quoting=csv.QUOTE_MINIMAL)
    require_columns(frame, (text_col, label_col), file)
    return frame


@dataclass(frozen=True)
class IntentData:
    """``train``/``test`` frames with ``text, intent`` and the label set (file order)."""

    train: pd.DataFrame
    test: pd.DataFrame
    labels: list[str]


def load_banking77_split(path: str | Path, labels: list[str] | None = None) -> pd.DataFrame:
    """One BANKING77 CSV as ``text, intent``; with ``labels``, an unknown intent raises naming its line."""
    file = resolve(path, (), "BANKING77 CSV")
    frame = _read_intent_csv(file, "text", "category")
    out = pd.DataFrame({"text": frame["text"], "intent": frame["category"].str.strip()})
    empty = out["text"].str.strip() == ""
    if empty.any():
        pos = int(empty.to_numpy().nonzero()[0][0])
        raise bad_line(file, pos + 2, "empty utterance", "", "text", "text")
    if labels is not None:
        bad = ~out["intent"].isin(labels)
        if bad.any():
            pos = int(bad.to_numpy().nonzero()[0][0])
            raise bad_line(
                file, pos + 2, "unknown intent", out["intent"].iloc[pos], "one of categories.json", "category"
            )
    return out


def load_banking77(path: str | Path) -> IntentData:
    """The BANKING77 folder (``train.csv``, ``test.csv``, optional ``categories.json``)."""
    folder = Path(path)
    labels: list[str] | None = None
    cats = folder / "categories.json"
    if cats.is_file():
        try:
            labels = json.loads(cats.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(
                "invalid JSON",
                value=exc.msg,
                expected="a list of intent names",
                location=Location(str(cats), exc.lineno),
            ) from exc
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise DataError("categories.json must be a list of strings", location=Location(str(cats)))
    train = load_banking77_split(folder / "train.csv", labels)
    test = load_banking77_split(folder / "test.csv", labels)
    if labels is None:
        labels = list(pd.unique(pd.concat([train["intent"], test["intent"]])))
    return IntentData(train=train, test=test, labels=list(labels))


BITEXT_COLUMNS = ("instruction", "intent", "category", "response")


def load_bitext(path: str | Path) -> pd.DataFrame:
    """The Bitext support CSV as ``text, intent, category, response, entity_type, entity_value, tags``."""
    file = resolve(path, ("Bitext_Sample_Customer_Support_Training_Dataset.csv",), "Bitext CSV")
    frame = read_table(file, sep=",", header=0, quoting=csv.QUOTE_MINIMAL)
    require_columns(frame, BITEXT_COLUMNS, file)
    out = pd.DataFrame(
        {
            "text": frame["instruction"],
            "intent": frame["intent"].str.strip(),
            "category": frame["category"].str.strip(),
            "response": frame["response"],
        }
    )
    for col in ("entity_type", "entity_value", "tags"):
        out[col] = frame[col].replace("", None) if col in frame else None
    empty = (out["text"].str.strip() == "") | (out["intent"] == "")
    if empty.any():
        pos = int(empty.to_numpy().nonzero()[0][0])
        # Records may span lines (quoted newlines): report the record number, not the physical line.
        raise DataError(
            "empty instruction or intent",
            value=out.iloc[pos][["text", "intent"]].tolist(),
            expected="non-empty",
            location=Location(str(file), None, f"record {pos + 1}"),
        )
    return out


def load_ecd(path: str | Path) -> pd.DataFrame:
    """One ECD response-selection file as ``label`` (0/1), ``context`` (list of turns), ``response``."""
    file = resolve(path, (), "ECD file")
    labels, contexts, responses = [], [], []
    with file.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) < 3:
                raise bad_line(
                    file,
                    lineno,
                    "too few tab-separated fields",
                    len(parts),
                    "label, at least one context turn, response",
                )
            if parts[0] not in {"0", "1"}:
                raise bad_line(file, lineno, "bad label", parts[0], "0 or 1", "label")
            labels.append(int(parts[0]))
            contexts.append(parts[1:-1])
            responses.append(parts[-1])
    return pd.DataFrame({"label": labels, "context": contexts, "response": responses})


def load_ecd_taobao(path: str | Path) -> dict[str, pd.DataFrame]:
    """``{"train", "valid", "test"}`` frames from the ECD folder (files ``train.txt`` … or ``train``)."""
    folder = Path(path)
    out = {}
    for split in ("train", "valid", "test"):
        out[split] = load_ecd(resolve(folder, (f"{split}.txt", split), f"ECD {split}"))
    return out


def ecd_groups(frame: pd.DataFrame) -> list[tuple[list[str], list[str], int]]:
    """Response-selection groups: consecutive rows with the same context become
    ``(context, candidates, index of the true response)`` (test.txt: 100 groups × 10 candidates)."""
    groups: list[tuple[list[str], list[str], int]] = []
    for label, ctx, resp in frame[["label", "context", "response"]].itertuples(index=False, name=None):
        if groups and groups[-1][0] == ctx:
            groups[-1][1].append(resp)
            if label == 1:
                groups[-1] = (ctx, groups[-1][1], len(groups[-1][1]) - 1)
        else:
            groups.append((ctx, [resp], 0 if label == 1 else -1))
    return groups
