"""Result tables: our rows beside the published anchors, as rich tables and JSON payloads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Microsoft Recommenders README "Algorithm comparison", MovieLens-100k, their stratified 75/25 split
# (DESIGN.md §4). Figures are copied, not measured here.
PUBLISHED_MSR: dict[str, dict[str, float]] = {
    "BiVAE": {"map": 0.146126, "ndcg@10": 0.475077, "precision@10": 0.411771, "recall@10": 0.219145},
    "BPR": {"map": 0.132478, "ndcg@10": 0.441997, "precision@10": 0.388229, "recall@10": 0.212522},
    "LightGCN": {"map": 0.088526, "ndcg@10": 0.419846, "precision@10": 0.379626, "recall@10": 0.144336},
    "NCF": {"map": 0.107720, "ndcg@10": 0.396118, "precision@10": 0.347296, "recall@10": 0.180775},
    "SAR": {"map": 0.110591, "ndcg@10": 0.382461, "precision@10": 0.330753, "recall@10": 0.176385},
    "SAR (latest notebook run)": {
        "map": 0.114038,
        "ndcg@10": 0.393819,
        "precision@10": 0.340615,
        "recall@10": 0.185377,
    },
    "SVD": {"ndcg@10": 0.095930},
    "ALS": {"ndcg@10": 0.044239},
}

# Leave-last-out full ranking on Amazon Beauty (S3Rec data), DESIGN.md §4.
PUBLISHED_LOO: dict[str, dict[str, float]] = {
    "SASRec": {"hr@10": 0.0848, "ndcg@10": 0.0432},
    "WEARec (2025)": {"hr@10": 0.1016, "ndcg@10": 0.0599},
}


def published_rows(protocol: str, dataset: str) -> dict[str, dict[str, float]]:
    """The published anchors comparable with a run: MS Recommenders' rows for ml-100k under ``msr``
    (not for a shop's own file split the same way), S3Rec's for Beauty under ``loo``."""
    if protocol == "msr" and "ml-100k" in dataset.lower():
        return PUBLISHED_MSR
    if protocol == "loo" and "beauty" in dataset.lower():
        return PUBLISHED_LOO
    return {}


def columns_for(protocol: str, k: int = 10) -> list[str]:
    if protocol == "msr":
        return [
            "map",
            f"ndcg@{k}",
            f"precision@{k}",
            f"recall@{k}",
            f"mrr@{k}",
            "coverage",
            "novelty",
            "gini",
        ]
    if protocol.startswith("loo"):
        return [f"hr@{k}", f"ndcg@{k}", f"mrr@{k}", "coverage", "novelty"]
    return [f"ndcg@{k}", "map", f"precision@{k}", f"recall@{k}", f"hr@{k}", "coverage", "novelty"]


def payload(dataset: str, protocol: str, rows: Sequence[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The ``--json`` document: ``{"dataset", "protocol", "rows": [...], "published": {...}}``."""
    return {
        "dataset": dataset,
        "protocol": protocol,
        "rows": list(rows),
        "published": published_rows(protocol, dataset),
        **extra,
    }


def table(dataset: str, protocol: str, rows: Sequence[dict[str, Any]], k: int = 10):
    """A rich ``Table``: our rows (mean ± sd when several seeds) then the published rows, labelled."""
    from rich.table import Table

    cols = columns_for(protocol, k)
    t = Table(title=f"{dataset} · protocol {protocol} · top-{k}")
    t.add_column("algorithm")
    t.add_column("source")
    for c in cols:
        t.add_column(c, justify="right")
    t.add_column("fit s", justify="right")
    t.add_column("rec s", justify="right")
    for row in rows:
        m, sd = row["metrics"], row.get("metrics_sd") or {}
        seeds = row.get("seeds") or []
        cells = []
        for c in cols:
            if c not in m:
                cells.append("")
            elif len(seeds) > 1:
                cells.append(f"{m[c]:.4f} ± {sd.get(c, 0.0):.4f}")
            else:
                cells.append(f"{m[c]:.6f}")
        src = f"ours, seeds {','.join(map(str, seeds))}" if len(seeds) > 1 else "ours"
        t.add_row(row["name"], src, *cells, f"{row.get('fit_s', 0):.2f}", f"{row.get('recommend_s', 0):.2f}")
    for name, m in published_rows(protocol, dataset).items():
        t.add_row(name, "[dim]published[/]", *[f"[dim]{m[c]:.6f}[/]" if c in m else "" for c in cols], "", "")
    return t
