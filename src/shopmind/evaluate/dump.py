"""Write the exact top-k lists an evaluation scored, so anyone can recompute the numbers.

Format (TSV, UTF-8, one header line ``user	item	rank	score``): one row per recommended item with the
ORIGINAL user and item ids, rank 1..k best first, and the model's score (``repr``-exact float). Users
whose list is empty are absent — exactly the users the metrics were not averaged over.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shopmind.recommend.holdout import EvalSplit

HEADER = ("user", "item", "rank", "score")


def dump_path(base: Path, name: str, seed: int | None, many_names: bool, many_seeds: bool) -> Path:
    """``base`` itself for one algorithm and one seed; otherwise ``<stem>.<name>[.s<seed>]<suffix>``."""
    base = Path(base)
    if not many_names and not many_seeds:
        return base
    stem = (
        base.stem
        + (f".{name}" if many_names else "")
        + (f".s{seed}" if many_seeds and seed is not None else "")
    )
    return base.with_name(stem + (base.suffix or ".tsv"))


def write_dump(path: Path, split: EvalSplit, recs: np.ndarray, scores: np.ndarray) -> int:
    """Write ``recs``/``scores`` (rows aligned with ``split.users``); returns the number of rows written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    user_ids = split.train.users.ids[split.users]
    item_ids = split.train.items.ids
    rows = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("\t".join(HEADER) + "\n")
        for u, items, sc in zip(user_ids, recs, scores, strict=True):
            for r, (i, s) in enumerate(zip(items, sc, strict=True), start=1):
                if i < 0:
                    break
                fh.write(f"{u}\t{item_ids[i]}\t{r}\t{float(s)!r}\n")
                rows += 1
    return rows
