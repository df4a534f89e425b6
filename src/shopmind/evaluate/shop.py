"""Offline evaluation of the *serving* models on the shop's own data (``POST /admin/evaluate``).

**Recommendations** — one global time cut of the store's events (the ``temporal`` protocol,
:func:`shopmind.recommend.holdout.temporal_protocol`, sampled by :func:`shopmind.recommend.tuning.holdout`
with ``how="global"``): events at or after the ``(1 − test_fraction)`` time quantile form the test
period; a customer known before the cut is *held out* when they interacted in the test period with an
item they had not touched before it, and those items are relevant. At most ``max_users`` held-out
customers are scored (a seeded sample). The serving recommender's configuration — its algorithm and
hyper-parameters and, for the hybrid, every component's configuration and the blend weights, as
loaded from the serving run — is **fitted again on the events before the cut only** (after the same
fake-account screen as training), ranks a top-``k`` per customer with the serving
:func:`~shopmind.recommend.base.top_k` (items seen before the cut excluded) and is measured by
:func:`~shopmind.recommend.holdout.measure`: nDCG@k (binary gain), precision@k, recall@k, hit rate@k,
MAP, MRR@k and catalogue coverage. The baseline is popularity (distinct customers per item before
the cut), fitted and scored on the same split; a hybrid's components are scored from the same fit.
The served configuration was itself chosen at training time on all events
(:mod:`shopmind.recommend.tuning`), so its hyper-parameters have seen the test period; the fitted
parameters have not.

**Search** — judged queries from the shop (:func:`shop_judged`):

* ``search_log`` — when the store's search log (ingested ``search`` events with a session, and the
  API's own search and click logs) yields at least :data:`MIN_LOG_QUERIES` searches followed by a
  click, cart, wishlist or purchase in the same session:
  :func:`~shopmind.evaluate.search.judged_from_events` grades the items (click 1, cart/wishlist 2,
  purchase 3), the ``max_queries`` most frequent queries kept. These implicit judgements carry the
  position bias of the ranking that was live (Joachims et al., SIGIR 2005);
* ``catalogue`` — otherwise, queries derived from the catalogue (:func:`catalogue_judged`): a leaf
  category name (every item of that category grade 2) and a brand with a leaf category (items of
  both grade 3, other brands of the category grade 1); every item is judged by rule.

The serving index ranks each query in the serving mode (``hybrid``; it falls back to BM25 where the
run has no encoder) and the baseline is plain BM25 over titles (bm25s defaults,
:func:`~shopmind.evaluate.search.baseline_runs`) over the store's catalogue; both are scored by
:func:`~shopmind.evaluate.search.score_runs` (nDCG@10 with gain 2^g − 1, P@10 and MRR with grade ≥ 2
relevant, zero-result rate; depth 100).

:class:`shopmind.api.evaluation_job.EvaluationJob` runs one evaluation at a time per process in a
background thread and writes each run as two reports (``shop-evaluation/<id>/recommend.json`` and ``search.json`` under
``settings.reports_dir``, listed by ``GET /admin/reports``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shopmind.errors import ConfigError, DataError

if TYPE_CHECKING:
    from shopmind.config import Settings
    from shopmind.data.dataset import Dataset
    from shopmind.evaluate.search import JudgedSet
    from shopmind.recommend.base import Recommender
    from shopmind.recommend.holdout import EvalSplit
    from shopmind.search.engine import ProductSearch
    from shopmind.store.base import Store

log = logging.getLogger(__name__)

REPORTS_SUBDIR = "shop-evaluation"
"""Folder under ``settings.reports_dir`` holding one sub-folder per evaluation run."""
MIN_LOG_QUERIES = 20
"""Judged queries the search log must yield to be used; fewer and the catalogue's queries are used
(a mean over a handful of queries says little)."""
SEARCH_DEPTH = 100
"""Ranking depth per query (as ``shopmind evaluate search``)."""
SERVING_SEARCH_MODE = "hybrid"
"""The mode the search service answers in when a request names none (``SearchService.search``)."""
LOG_EVENT_TYPES = ("search", "click", "cart", "wishlist", "purchase")
RECOMMEND_METRICS = ("ndcg@{k}", "precision@{k}", "recall@{k}", "hr@{k}", "map", "mrr@{k}", "coverage")
SEARCH_METRICS = ("ndcg@10", "p@10", "mrr", "zero_result_rate")

Progress = Callable[[str, float, Mapping[str, Any]], None]
"""``progress(step, fraction_done, params)``: a step code (translated by the dashboard) and its facts."""


@dataclass(frozen=True)
class ShopEvalLimits:
    """Bounds of one evaluation (``[evaluation]`` settings)."""

    max_users: int = 1000
    max_queries: int = 100
    test_fraction: float = 0.2
    k: int = 10
    search_log_days: int | None = 365
    seed: int = 42
    threads: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> ShopEvalLimits:
        ev = settings.evaluation
        return cls(
            max_users=ev.max_users,
            max_queries=ev.max_queries,
            test_fraction=ev.test_fraction,
            k=ev.k,
            search_log_days=ev.search_log_days,
            seed=settings.training.seed,
            threads=settings.training.threads,
        )


class EvaluationInProgress(ConfigError):
    """An evaluation was requested while another one is running in this process."""


class EvaluationSkipped(DataError):
    """One part of the evaluation cannot run on this shop; ``code`` names why (translated by the UI)."""

    def __init__(self, code: str, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.code = code


def json_safe(value: Any) -> Any:
    """JSON-safe numbers: NaN/inf (a metric over no users) become ``None``."""
    if isinstance(value, float | np.floating):
        v = float(value)
        return round(v, 6) if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(float(ts), tz=UTC).isoformat(timespec="seconds")


def _no_progress(step: str, fraction: float, params: Mapping[str, Any]) -> None:
    return None


# ====================================================================== recommendations
def refit_config(model: Recommender) -> tuple[str, dict[str, Any]]:
    """The algorithm name and JSON configuration a loaded model was trained with (what is refitted)."""
    return model.name, model.config.model_dump(mode="json")


def _score(name: str, role: str, model: Recommender, split: EvalSplit, fit_s: float) -> dict[str, Any]:
    from shopmind.recommend.holdout import measure, rank

    started = time.perf_counter()
    recs, _ = rank(model, split)
    rec_s = time.perf_counter() - started
    summary, _per_user, kept = measure(split, recs)
    keys = [m.format(k=split.k) for m in RECOMMEND_METRICS]
    return {
        "name": name,
        "role": role,
        "metrics": json_safe({k: summary[k] for k in keys if k in summary}),
        "users": int(kept.sum()),
        "fit_s": round(fit_s, 3),
        "recommend_s": round(rec_s, 3),
    }


def evaluate_recommendations(
    dataset: Dataset,
    serving: Recommender,
    limits: ShopEvalLimits,
    *,
    poisoning: Any = None,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """The serving recommender refitted before the time cut vs popularity (module docstring).

    ``serving`` is the loaded serving model (only its algorithm and configuration are used);
    ``poisoning`` the ``training.poisoning`` settings applied to the training part as at training.
    Returns the report: ``{"dataset", "protocol", "rows", "split", "serving", ...}``.
    """
    from shopmind.recommend.base import Runtime
    from shopmind.recommend.ensemble import Ensemble
    from shopmind.recommend.registry import get_algorithm, make_algorithm
    from shopmind.recommend.service import screen_training_data
    from shopmind.recommend.tuning import holdout

    progress("rec_split", 0.08, {"events": dataset.n_events})
    try:
        split = holdout(dataset, limits.test_fraction, limits.max_users, limits.seed, how="global")
    except DataError as exc:
        raise EvaluationSkipped("no_holdout", f"recommendations: {exc.message}", value=exc.value) from exc
    held_out = int(str(split.info.get("users_held_out", len(split.users))))
    cut = float(str(split.info["cut_timestamp"]))
    n_test = int((dataset.timestamp >= cut).sum())
    if poisoning is not None:
        train, screen = screen_training_data(split.train, poisoning)  # vocabularies kept
        split = replace(split, train=train)
        flagged = len(screen.flagged_ids) if screen.excluded else 0
    else:
        flagged = 0
    # the guarantee this report rests on: nothing at or after the cut is fitted on
    if split.train.n_events and int(split.train.timestamp.max()) >= cut:
        raise DataError("training part reaches past the time cut", value=int(split.train.timestamp.max()))
    name, config = refit_config(serving)
    runtime = Runtime(seed=limits.seed, threads=limits.threads)
    progress("rec_fit", 0.12, {"model": name, "events": split.train.n_events})
    started = time.perf_counter()
    model = get_algorithm(name)(config, runtime).fit(split.train)
    fit_s = time.perf_counter() - started
    progress("rec_score", 0.45, {"model": name, "users": len(split.users)})
    rows = [_score(name, "serving", model, split, fit_s)]
    if isinstance(model, Ensemble):
        for part, component in model.models.items():
            if part != "popularity":  # the baseline row below
                rows.append(_score(part, "component", component, split, 0.0))
    progress("rec_baseline", 0.52, {"model": "popularity"})
    started = time.perf_counter()
    popularity = make_algorithm("popularity", None, runtime).fit(split.train)
    rows.append(_score("popularity", "baseline", popularity, split, time.perf_counter() - started))
    k = split.k
    serving_row, base_row = rows[0], rows[-1]
    lift = None
    if serving_row["metrics"].get(f"ndcg@{k}") is not None and base_row["metrics"].get(f"ndcg@{k}"):
        lift = round(serving_row["metrics"][f"ndcg@{k}"] / base_row["metrics"][f"ndcg@{k}"], 4)
    return {
        "dataset": "shop",
        "protocol": f"temporal hold-out (last {limits.test_fraction:.0%} of events by time), top-{k}",
        "task": "recommend",
        "k": k,
        "rows": rows,
        "serving": {"algorithm": name, "config": json_safe(config)},
        "ndcg_vs_baseline": lift,
        "split": {
            "test_fraction": limits.test_fraction,
            "cut": _iso(cut),
            "train_events": int(split.train.n_events),
            "test_events": n_test,
            "train_users": int(split.train.n_users),
            "train_items": int(split.train.n_items),
            "users_held_out": held_out,
            "users_scored": len(split.users),
            "max_users": limits.max_users,
            "flagged_accounts_excluded": flagged,
            "seed": limits.seed,
        },
        "notes": [
            "fitted on the events before the cut only; scored on the later interactions of customers "
            "known before it, with items they had not touched before it",
            "the served configuration (algorithm, hyper-parameters, blend weights) was chosen at training "
            "time on all events",
        ],
    }


# ====================================================================== search
def shop_search_events(store: Store, since: datetime | None = None) -> pd.DataFrame:
    """The shop's search log as events ``type, item_id, query, session_id, timestamp``.

    Ingested events of :data:`LOG_EVENT_TYPES` (a session groups a search with what followed), plus
    the API's search log, each search its own session with the clicks logged on it.
    """
    cols = ["type", "item_id", "query", "session_id", "timestamp"]
    ev = store.events_frame(types=list(LOG_EVENT_TYPES), since=since)
    parts = [ev[cols].assign(timestamp=pd.to_datetime(ev["timestamp"], utc=True))] if len(ev) else []
    searches = store.search_log_frame()
    if len(searches):
        at = pd.to_datetime(searches["at"], utc=True)
        if since is not None:
            searches, at = searches[at >= since], at[at >= since]
        parts.append(
            pd.DataFrame(
                {
                    "type": "search",
                    "item_id": None,
                    "query": searches["query"].to_numpy(),
                    "session_id": ("api:" + searches["search_id"].astype(str)).to_numpy(),
                    "timestamp": at.to_numpy(),
                }
            )
        )
        clicks = store.click_log_frame()
        clicks = clicks[clicks["search_id"].isin(set(searches["search_id"]))]
        if len(clicks):
            parts.append(
                pd.DataFrame(
                    {
                        "type": "click",
                        "item_id": clicks["item_id"].astype(str).to_numpy(),
                        "query": None,
                        "session_id": ("api:" + clicks["search_id"].astype(str)).to_numpy(),
                        "timestamp": pd.to_datetime(clicks["at"], utc=True).to_numpy(),
                    }
                )
            )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    return pd.concat(parts, ignore_index=True)


def _leaf(category: Any) -> str | None:
    if isinstance(category, list | tuple | np.ndarray) and len(category):
        leaf = str(category[-1]).strip()
    elif isinstance(category, str) and category.strip():
        leaf = category.split(">")[-1].strip()
    else:
        return None
    return leaf or None


def catalogue_judged(products: pd.DataFrame, max_queries: int, seed: int = 42) -> JudgedSet:
    """Judged queries derived from the catalogue (the store's items frame: ``id``, ``category`` as a
    path list, ``brand``), every item judged by rule (module docstring).

    Queries are the case-folded leaf category names (items in that category: grade 2) and
    ``"<brand> <leaf>"`` for every brand carried by a category (items of that brand in it: grade 3,
    the category's other items: grade 1). Up to half of ``max_queries`` are category queries, the rest
    brand queries, each a seeded uniform sample; query ids ``c0001…`` in that order.
    """
    from shopmind.evaluate.search import JudgedSet

    if max_queries < 2:
        raise ConfigError("max_queries must be >= 2", value=max_queries)
    frame = pd.DataFrame(
        {
            "id": products["id"].astype(str),
            "leaf": [_leaf(c) for c in products["category"]],
            "brand": products["brand"],
        }
    )
    frame = frame[frame["leaf"].notna()]
    if not len(frame):
        raise EvaluationSkipped(
            "no_queries",
            "search: no search log with clicks and no item with a category to derive queries from",
            value=len(products),
        )
    frame = frame.assign(
        leaf_key=frame["leaf"].str.casefold(),
        brand_key=frame["brand"].fillna("").astype(str).str.strip(),
    )
    rng = np.random.default_rng(seed)
    by_leaf = frame.groupby("leaf_key", sort=True)["id"].agg(list)
    leaf_keys = list(by_leaf.index)
    n_leaf = min(len(leaf_keys), max(1, max_queries // 2))
    chosen_leaves = sorted(rng.choice(len(leaf_keys), n_leaf, replace=False).tolist())
    branded = frame[frame["brand_key"] != ""]
    pairs = branded.groupby(["leaf_key", "brand_key"], sort=True)["id"].agg(list)
    n_pairs = min(len(pairs), max_queries - n_leaf)
    chosen_pairs = sorted(rng.choice(len(pairs), n_pairs, replace=False).tolist()) if n_pairs else []
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for i in chosen_leaves:
        qid = f"c{len(queries) + 1:04d}"
        queries[qid] = leaf_keys[i]
        qrels[qid] = dict.fromkeys(by_leaf.iloc[i], 2)
    for i in chosen_pairs:
        (leaf_key, brand), ids = pairs.index[i], pairs.iloc[i]
        qid = f"c{len(queries) + 1:04d}"
        queries[qid] = f"{brand.casefold()} {leaf_key}"
        grades = dict.fromkeys(by_leaf[leaf_key], 1)
        grades.update(dict.fromkeys(ids, 3))
        qrels[qid] = grades
    return JudgedSet("catalogue", products, queries, qrels)


def shop_judged(
    store: Store, products: pd.DataFrame, limits: ShopEvalLimits, newest: datetime | None = None
) -> tuple[JudgedSet, dict[str, Any]]:
    """The judged queries of this shop: its search log when it yields enough, else the catalogue's.

    The log read is the ``search_log_days`` before ``newest`` (the newest stored event; default now).
    Returns the set and a description of the source (``source``, counts, why the log was not used).
    """
    from shopmind.evaluate.search import judged_from_events

    since = None
    if limits.search_log_days is not None:
        since = (newest or datetime.now(UTC)) - timedelta(days=limits.search_log_days)
    events = shop_search_events(store, since)
    n_searches = int((events["type"] == "search").sum()) if len(events) else 0
    info: dict[str, Any] = {"log_searches": n_searches, "log_days": limits.search_log_days}
    if n_searches:
        try:
            judged = judged_from_events(products, events, max_queries=limits.max_queries, name="search-log")
        except DataError as exc:
            info.update(log_unused=exc.message, log_unused_code="no_followups", log_judged_queries=0)
        else:
            need = min(MIN_LOG_QUERIES, limits.max_queries)  # a cap below the minimum still uses the log
            if len(judged.qrels) >= need:
                return judged, {**info, "source": "search_log", "n_queries": len(judged.qrels)}
            info.update(
                log_unused=f"only {len(judged.qrels)} judged queries in the search log (at least {need} needed)",
                log_unused_code="too_few",
                log_judged_queries=len(judged.qrels),
                log_min_queries=need,
            )
    judged = catalogue_judged(products, limits.max_queries, limits.seed)
    return judged, {**info, "source": "catalogue", "n_queries": len(judged.qrels)}


def evaluate_search(
    engine: ProductSearch,
    judged: JudgedSet,
    source: Mapping[str, Any],
    *,
    mode: str = SERVING_SEARCH_MODE,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """The serving index in its serving mode vs plain BM25 over titles on ``judged`` (module docstring)."""
    from shopmind.evaluate.search import BASELINE, baseline_runs, engine_runs, score_runs

    queries = {q: t for q, t in judged.queries.items() if q in judged.qrels}
    progress("search_baseline", 0.62, {"queries": len(queries), "products": len(judged.products)})
    started = time.perf_counter()
    base = score_runs(baseline_runs(judged.products, queries, SEARCH_DEPTH), judged.qrels)
    base_s = time.perf_counter() - started
    effective = mode if engine.semantic is not None else "bm25"
    progress("search_serving", 0.75, {"mode": effective, "queries": len(queries)})
    started = time.perf_counter()
    served = score_runs(engine_runs(engine, queries, mode, SEARCH_DEPTH), judged.qrels)
    served_s = time.perf_counter() - started
    lift = round(served["ndcg@10"] / base["ndcg@10"], 4) if base["ndcg@10"] else None
    source_name = str(source.get("source"))
    return {
        "dataset": f"shop: {'search log' if source_name == 'search_log' else 'catalogue queries'}",
        "protocol": "judged search: nDCG@10 (gain 2^g-1), P@10 and MRR (grade >= 2 relevant), depth 100",
        "task": "search",
        "source": json_safe(dict(source)),
        "rows": [
            {
                "name": effective,
                "role": "serving",
                "metrics": json_safe(served),
                "seconds": round(served_s, 3),
                "queries": len(judged.qrels),
            },
            {
                "name": BASELINE,
                "role": "baseline",
                "metrics": json_safe(base),
                "seconds": round(base_s, 3),
                "queries": len(judged.qrels),
            },
        ],
        "serving": {"mode": mode, "effective_mode": effective},
        "ndcg_vs_baseline": lift,
        "n_queries": len(judged.qrels),
        "n_products": len(judged.products),
        "examples": [
            {"query": judged.queries[q], "relevant": sum(1 for g in judged.qrels[q].values() if g >= 2)}
            for q in list(queries)[:10]
        ],
        "notes": [
            "implicit judgements from what searching sessions did next (click 1, cart/wishlist 2, "
            "purchase 3); they carry the position bias of the ranking that was live"
            if source_name == "search_log"
            else "queries derived from the catalogue: a category (its items grade 2) or a brand and a "
            "category (both 3, the category's other brands 1); every item judged by rule",
        ],
    }


# ====================================================================== the whole run
def evaluate_shop(
    store: Store,
    services: Mapping[str, Any],
    settings: Settings,
    limits: ShopEvalLimits,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """Both parts on the serving ``services``; a part that cannot run is ``{"skipped": code, "error"}``."""
    from shopmind.data.dataset import EventWeights

    out: dict[str, Any] = {}
    rec = services.get("recommend")
    progress("load", 0.02, {})
    t = settings.training
    dataset = store.load_dataset(EventWeights(weights=t.event_weights, half_life_days=t.half_life_days))
    newest = datetime.fromtimestamp(dataset.last_timestamp, tz=UTC) if dataset.n_events else None
    if rec is None:
        out["recommend"] = {"skipped": "no_model", "error": "no recommendation model is serving"}
    else:
        try:
            out["recommend"] = evaluate_recommendations(
                dataset, rec.models[rec.default], limits, poisoning=t.poisoning, progress=progress
            )
        except EvaluationSkipped as exc:
            out["recommend"] = {"skipped": exc.code, "error": str(exc)}
    search = services.get("search")
    progress("search_queries", 0.58, {})
    if search is None:
        out["search"] = {"skipped": "no_model", "error": "no search model is serving"}
    else:
        products = store.items_frame()
        try:
            judged, source = shop_judged(store, products, limits, newest)
            out["search"] = evaluate_search(search.engine, judged, source, progress=progress)
        except EvaluationSkipped as exc:
            out["search"] = {"skipped": exc.code, "error": str(exc)}
    return out


def write_reports(result: Mapping[str, Any], reports_dir: Path, run_id: str, keep: int) -> list[str]:
    """Each evaluated part as ``shop-evaluation/<run_id>/<part>.json``; older runs beyond ``keep`` removed.

    Returns the report names (relative to ``reports_dir``, as ``GET /admin/reports`` lists them).
    """
    root = Path(reports_dir) / REPORTS_SUBDIR
    folder = root / run_id
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for part in ("recommend", "search"):
        report = result.get(part)
        if not isinstance(report, Mapping) or "rows" not in report:
            continue
        doc = {**report, "run_id": run_id, "serving_run": result.get("serving_run")}
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{part}-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, ensure_ascii=False)
        os.chmod(tmp, 0o644)  # readable like the other reports (mkstemp makes it private)
        os.replace(tmp, folder / f"{part}.json")
        names.append(f"{REPORTS_SUBDIR}/{run_id}/{part}.json")
    runs = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name)
    for old in runs[: max(0, len(runs) - keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return names


def latest_result(reports_dir: Path) -> dict[str, Any] | None:
    """The newest evaluation run on disk (after a restart), in the shape :class:`EvaluationJob` returns."""
    root = Path(reports_dir) / REPORTS_SUBDIR
    if not root.is_dir():
        return None
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True):
        out: dict[str, Any] = {"id": folder.name, "reports": []}
        for part in ("recommend", "search"):
            path = folder / f"{part}.json"
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict):
                out[part] = doc
                out["reports"].append(f"{REPORTS_SUBDIR}/{folder.name}/{part}.json")
                out.setdefault("serving_run", doc.get("serving_run"))
        if out["reports"]:
            return out
    return None
