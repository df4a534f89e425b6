"""Search as a trained, served component: ``train(ctx, out_dir)`` and :class:`SearchService`.

Training reads the catalogue from the store, popularity and ratings from the shared ``Dataset``,
click-through rates, mined queries and (when there are enough clicks) the learned ranker's training
data from the search and click logs, and writes :class:`~shopmind.search.engine.ProductSearch`'s
artifacts (npy/npz/JSON, bm25s score arrays, a usearch file, a LightGBM text model — no pickle).

Index and ranking settings (field boosts, encoder, fusion, …) are the ``[search]`` section of
``shopmind.toml`` (:class:`~shopmind.config.SearchConfig`, ``Settings.search``). The shop's own
search *data* lives next to the artifacts folder, in ``<artifacts_dir>/../search/``:

* ``synonyms.json`` — ``{"groups": [["tv", "television"]], "one_way": {"phone": ["smartphone"]}}``;
  ``PUT /admin/search/synonyms`` writes it and applies it to the serving index at once (synonyms are
  expanded at query time); other workers re-read it on their next sync, a newly loaded run at load;
* ``rules.json`` — merchandising rules per query (pin products at positions, hide, boost, bury);
  ``PUT /admin/search/rules`` writes it and applies it at once (rules act on the ranked list);
* ``fields.json`` — BM25 field weights edited through ``PUT /admin/search/fields``: they replace
  ``[search] fields`` of ``shopmind.toml`` for serving and for the next training (``DELETE`` goes back
  to the file's). Weights multiply per-field scores at query time, so a change is live at once; only a
  field the serving index was built without has to be indexed first, in a background thread
  (:meth:`SearchService.set_field_weights`, the status in :meth:`SearchService.field_settings`).

Synonyms and rules are vocabulary and merchandising the shop edits, possibly thousands of entries,
not settings of the engine; a ``config.json`` there (the former settings file) is refused with a
message naming the section to move it to, so no setting is silently dropped. Every worker notices a
changed file on its next sync (a ``stat`` per sync) and a newly loaded run reads all three at load.

Serving: :class:`SearchService` answers queries, logs each search and click to the store, and applies
catalogue updates at once (delta index + tombstones) — visible in this process immediately, in the
store for everyone, and folded into the main index by the next ``train``.

**Updates across workers.** Every server worker process holds its own index. The store keeps a
catalogue change log (``item_changes``: a sequence number per item written or deleted, in commit
order); ``train`` records the sequence number its snapshot was read at (``sync.json``), and before a
search (at most every ``sync_interval_s``) :meth:`SearchService.sync` asks the store for changes after
the last one applied — one indexed ``seq > ?`` lookup when nothing changed — and applies them to the
delta index (re-reading the changed items, so every worker converges to the store's state). Changes a
worker applied itself (``upsert_items``) are recognised by content and not applied twice. At most
``sync_batch`` changes are applied per search, so a bulk import spreads over the next searches instead
of stalling one (embedding a new title costs ~10 ms on one core: 100 per search ≈ 1 s at worst).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from pydantic import ValidationError

from shopmind.capability import TrainContext, progress_of
from shopmind.config import LEXICAL_FIELDS, SEARCH_K, SUGGEST_K
from shopmind.data import setaside
from shopmind.data.schema import Item, error_field
from shopmind.errors import ConfigError, DataError
from shopmind.search.analyzers import Synonyms
from shopmind.search.engine import ProductSearch, SearchResult
from shopmind.search.ltr import RankingData, Reranker, click_labels
from shopmind.search.rules import parse_rules
from shopmind.store.base import Store

log = logging.getLogger(__name__)

NAME = "search"
MIN_CLICK_SEARCHES = 50  # searches with clicks needed before a click-trained ranker is fitted
SYNC_FILE = "sync.json"  # the store's item change sequence number the artifacts were built at
MAX_SET_ASIDE_LISTED = 1000  # ids kept with their reason; the count goes on beyond
SYNC_INTERVAL_S = 0.05
"""Served workers poll the change log at most this often: other workers' edits show within 50 ms, and
a busy worker does not pay a store round trip (≈ 0.4–0.9 ms of CPU) on every search."""


def data_dir(settings: Any) -> Path:
    """The shop's search data folder (``synonyms.json``, ``rules.json``): ``<artifacts_dir>/../search``."""
    return Path(settings.artifacts_dir).parent / "search"


SYNONYMS_FILE = "synonyms.json"


def read_synonyms(settings: Any) -> Synonyms:
    """The shop's saved synonyms (``<data_dir>/synonyms.json``; empty when there is none)."""
    return Synonyms.from_dict(_read_json(data_dir(settings) / SYNONYMS_FILE, {}))


def write_synonyms(settings: Any, synonyms: Synonyms) -> Path:
    """Save ``synonyms`` (checked first: :meth:`Synonyms.mapping` raises on a bad group) atomically;
    returns the file. The next training and every server that loads or re-reads it use them."""
    synonyms.mapping()
    path = data_dir(settings) / SYNONYMS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(synonyms.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path


RULES_FILE = "rules.json"
FIELDS_FILE = "fields.json"
MAX_FIELD_WEIGHT = 10.0


def read_rules(settings: Any) -> list[dict[str, Any]]:
    """The shop's saved merchandising rules (``<data_dir>/rules.json``; none when there is no file)."""
    rules = _read_json(data_dir(settings) / RULES_FILE, [])
    return [asdict(r) for r in parse_rules(rules)]


def write_rules(settings: Any, rules: Iterable[Mapping[str, Any]]) -> Path:
    """Save merchandising ``rules`` (checked first by :func:`parse_rules`) atomically; returns the file."""
    checked = [asdict(r) for r in parse_rules(rules)]
    return _write_json(data_dir(settings) / RULES_FILE, checked)


def check_field_weights(weights: Mapping[str, Any], max_weight: float = MAX_FIELD_WEIGHT) -> dict[str, float]:
    """Field weights as ``{field: weight}`` for every field in :data:`LEXICAL_FIELDS` (a field left
    out gets 0: not searched). Raises :class:`ConfigError` for an unknown field, a weight outside
    ``[0, max_weight]`` or no field searched at all. Saved weights (the API) are capped at
    :data:`MAX_FIELD_WEIGHT`; ``shopmind.toml`` has no cap, so its weights are checked with ``inf``."""
    if not isinstance(weights, Mapping):
        raise ConfigError("field weights must be an object", value=weights, expected="{field: weight}")
    unknown = sorted(set(weights) - set(LEXICAL_FIELDS))
    if unknown:
        raise ConfigError("unknown search fields", value=unknown, expected=", ".join(LEXICAL_FIELDS))
    out: dict[str, float] = {}
    for name in LEXICAL_FIELDS:
        w = weights.get(name, 0.0)
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w <= max_weight:
            raise ConfigError(
                f"field weight of '{name}' out of range", value=w, expected=f"a number in 0..{max_weight:g}"
            )
        out[name] = float(w)
    if not any(out.values()):
        raise ConfigError("every field weight is 0", value=out, expected="at least one field above 0")
    return out


def read_field_weights(settings: Any) -> dict[str, float] | None:
    """The shop's saved field weights (``<data_dir>/fields.json``), or ``None`` when it uses the
    ``[search] fields`` of its configuration."""
    saved = _read_json(data_dir(settings) / FIELDS_FILE, None)
    return None if saved is None else check_field_weights(saved)


def write_field_weights(settings: Any, weights: Mapping[str, Any] | None) -> Path:
    """Save field ``weights`` (checked by :func:`check_field_weights`) atomically; ``None`` removes the
    file, so the configuration's weights apply again. Returns the file."""
    path = data_dir(settings) / FIELDS_FILE
    if weights is None:
        path.unlink(missing_ok=True)
        return path
    return _write_json(path, check_field_weights(weights))


def _write_json(path: Path, data: Any) -> Path:
    """Write ``data`` to ``path`` atomically (a new file replaces the old: readers see one or the other)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _file_stamp(path: Path | None) -> tuple[int, int, int] | None:
    """(inode, mtime, size) of ``path``, ``None`` when it is missing: each save is a new file
    (``os.replace``), so two saves within one tick of the file-time clock still differ."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass
class Reindex:
    """A background build of keyword-index fields the serving index lacks (see ``set_field_weights``)."""

    fields: list[str]
    rows_total: int
    rows_done: int = 0
    state: str = "running"  # running | done | failed
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        end = self.finished if self.finished is not None else time.monotonic()
        return {
            "fields": list(self.fields),
            "state": self.state,
            "rows_done": self.rows_done,
            "rows_total": self.rows_total,
            "elapsed_s": round(end - self.started, 3),
            "error": self.error,
        }


def _read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError("invalid JSON", value=str(path), expected=str(exc)) from exc


def log_statistics(store: Any) -> tuple[dict[str, float], Counter[str], pd.DataFrame, pd.DataFrame]:
    """``(ctr per item, query counts with results, search log, click log)`` from the store's logs.

    CTR per item = clicks / impressions, smoothed towards 0 with 10 pseudo-impressions so that one
    lucky click does not make an item look perfect.
    """
    searches = store.search_log_frame()
    clicks = store.click_log_frame()
    ctr: dict[str, float] = {}
    queries: Counter[str] = Counter()
    if len(searches):
        impressions = Counter(i for ids in searches["result_ids"] for i in (ids or []))
        nclicks = Counter(clicks["item_id"].astype(str)) if len(clicks) else Counter()
        ctr = {i: nclicks.get(i, 0) / (n + 10.0) for i, n in impressions.items()}
        ok = searches[searches["n_results"] > 0]
        queries = Counter(str(q).strip().lower() for q in ok["query"] if str(q).strip())
    return ctr, queries, searches, clicks


def _dataset_stats(ctx: Any) -> tuple[dict[str, float], dict[str, float]]:
    try:
        ds = ctx.dataset
    except Exception as exc:  # a store without events: search still trains
        log.warning("no dataset for popularity (%s)", exc)
        return {}, {}
    ids = [str(x) for x in ds.items.ids]
    counts = ds.item_counts()
    popularity = {i: float(c) for i, c in zip(ids, counts.tolist(), strict=True) if c > 0}
    rating: dict[str, float] = {}
    r = ds.ratings().tocsc()
    n = np.diff(r.indptr)
    sums = np.asarray(r.sum(axis=0)).ravel()
    for j in np.flatnonzero(n).tolist():
        rating[ids[j]] = float(sums[j] / n[j])
    return popularity, rating


def click_training_data(
    engine: ProductSearch, searches: pd.DataFrame, clicks: pd.DataFrame
) -> RankingData | None:
    """Skip-above labelled candidates of every logged search with clicks (see ``ltr``)."""
    if not len(clicks) or not len(searches):
        return None
    by_search = clicks.groupby("search_id")["position"].apply(list).to_dict()
    parts = []
    for row in searches.itertuples(index=False):
        pos = by_search.get(row.search_id)
        if not pos:
            continue
        labels = click_labels(list(row.result_ids or []), [int(p) for p in pos])
        rows = [engine.lexical.row_of[i] for i in labels if i in engine.lexical.row_of]
        if len(rows) < 2 or len({labels[engine.lexical.ids[r]] for r in rows}) < 2:
            continue
        q = engine._retrieve(str(row.query), "hybrid", None)
        X = engine.features(q, np.asarray(rows))
        y = np.asarray([labels[engine.lexical.ids[r]] for r in rows], np.float32)
        parts.append((str(row.search_id), X, y))
    if len(parts) < MIN_CLICK_SEARCHES:
        log.info("%d searches with informative clicks: not enough to train a ranker", len(parts))
        return None
    return RankingData.stack(parts)


def train(ctx: TrainContext, out_dir: Path) -> dict[str, Any]:
    """Build the search artifacts from the store (see the module docstring)."""
    sdir = data_dir(ctx.settings)
    legacy = sdir / "config.json"
    if legacy.exists():
        raise ConfigError(
            "search settings are no longer read from a config.json beside the artifacts",
            value=str(legacy),
            expected="its keys in the [search] section of shopmind.toml, and the file removed",
        )
    config = ctx.settings.search
    weights = read_field_weights(ctx.settings)  # edited through the API: they replace [search] fields
    if weights is not None:
        config = config.model_copy(update={"fields": weights})
    synonyms = Synonyms.from_dict(_read_json(sdir / SYNONYMS_FILE, {}))
    rules = _read_json(sdir / RULES_FILE, [])
    # read before the catalogue: a change committed in between is applied again later (idempotent)
    change_seq = ctx.store.item_change_seq() if hasattr(ctx.store, "item_change_seq") else None
    items = ctx.store.items_frame()  # items that do not read back are left out (attrs["set_aside"])
    aside = setaside.SetAside("search").gather(items).summary()
    if not len(items):
        raise DataError("the catalogue is empty", expected="items in the store (shopmind data load)")
    popularity, rating = _dataset_stats(ctx)
    ctr, queries, searches, clicks = log_statistics(ctx.store)
    ctx.progress(f"indexing {len(items)} products")
    steps = progress_of(ctx)
    engine = ProductSearch.build(
        items,
        config=config,
        popularity=popularity,
        rating=rating,
        ctr=ctr,
        queries=queries,
        synonyms=synonyms,
        rules=rules,
        cache_dir=Path(ctx.settings.artifacts_dir).parent / "cache" / "embeddings",
        progress=lambda done, total: steps.count(done, total, "products embedded"),
    )
    ranker = None
    data = click_training_data(engine, searches, clicks)
    if data is not None:
        engine.reranker = ranker = Reranker().fit(data)
    engine.save(Path(out_dir))
    setaside.write_summary(Path(out_dir), aside)
    if change_seq is not None:
        (Path(out_dir) / SYNC_FILE).write_text(json.dumps({"item_change_seq": change_seq}), encoding="utf-8")
    return {
        "items": len(items),
        "semantic": engine.semantic is not None,
        "reranker": "clicks" if ranker is not None else None,
        "queries_mined": len(queries),
        "set_aside": aside,
    }


class SearchService:
    """Serving facade: search, suggestions, click logging, live updates, analytics."""

    def __init__(
        self,
        engine: ProductSearch,
        store: Any,
        *,
        rules_path: Path | None = None,
        synonyms_path: Path | None = None,
        fields_path: Path | None = None,
        configured_fields: Mapping[str, float] | None = None,
        change_seq: int | None = None,
        sync_interval_s: float = 0.0,
        sync_batch: int = 100,
    ) -> None:
        """``change_seq``: the store's item change sequence number ``engine`` reflects (``None``: the
        current one, i.e. only later changes are applied). ``sync_interval_s``: poll the store's change
        log at most this often (0: before every search; one indexed lookup, see docs/bench/search.md).
        ``fields_path``: the saved field weights (``fields.json``); ``configured_fields``: the weights
        that apply when it is removed (``[search] fields``; default: those the index was built with).
        """
        self.engine = engine
        self.store = store
        self.rules_path = rules_path
        self.synonyms_path = synonyms_path
        self.fields_path = fields_path
        built = engine.lexical.fields
        self.configured_fields = check_field_weights(configured_fields or built, max_weight=math.inf)
        # (inode, mtime, size) of the synonyms, rules and fields files last applied (_file_stamp)
        self._synonyms_stamp: tuple[int, int, int] | None = None
        self._rules_stamp: tuple[int, int, int] | None = None
        self._fields_stamp: tuple[int, int, int] | None = None
        # field weights: the ones asked for, the background build of missing fields and its status
        self._wanted_fields = check_field_weights(built, max_weight=math.inf)
        self._fields_lock = threading.Lock()
        self._reindex: Reindex | None = None
        self._reindex_thread: threading.Thread | None = None
        # live index writes (upserts, deletes, attaching a rebuilt field) one at a time
        self._write_lock = threading.RLock()
        self.sync_interval_s = float(sync_interval_s)
        self.sync_batch = int(sync_batch)
        self._syncs = store is not None and hasattr(store, "item_changes")
        if self._syncs and change_seq is None:
            change_seq = int(store.item_change_seq())
        self.change_seq = int(change_seq or 0)
        self._polled_at = -math.inf
        self._sync_lock = threading.Lock()
        self._applied: dict[str, str] = {}  # id -> fingerprint of what upsert_items applied here
        self.set_aside: dict[str, str] = {}  # id -> why a stored item is not in the live index
        self.set_aside_total = 0

    @classmethod
    def load(
        cls,
        path: Path,
        store: Store,
        *,
        settings: Any = None,
        encoder: Any = None,
        sync_interval_s: float = SYNC_INTERVAL_S,
        **_: Any,
    ) -> SearchService:
        engine = ProductSearch.load(Path(path), encoder=encoder)
        sdir = data_dir(settings) if settings is not None else None
        sync = _read_json(Path(path) / SYNC_FILE, {})
        service = cls(
            engine,
            store,
            rules_path=sdir / RULES_FILE if sdir is not None else None,
            synonyms_path=sdir / SYNONYMS_FILE if sdir is not None else None,
            fields_path=sdir / FIELDS_FILE if sdir is not None else None,
            configured_fields=settings.search.fields if settings is not None else None,
            change_seq=sync.get("item_change_seq"),
            sync_interval_s=sync_interval_s,
        )
        trained = setaside.read_summary(Path(path))  # items left out when the index was built
        service.set_aside.update({r["id"]: r["reason"] for r in trained["items"] if r.get("kind") == "item"})
        service.set_aside_total = int(trained["count"])
        # saved after this run was trained (PUT /admin/search/synonyms, rules, fields)
        service.reload_synonyms()
        service.reload_rules()
        service.reload_fields()
        return service

    # ----------------------------------------------------------------- synonyms
    @property
    def synonyms(self) -> Synonyms:
        return self.engine.lexical.synonyms

    def set_synonyms(self, synonyms: Synonyms) -> None:
        """Use ``synonyms`` from the next query on: they are expanded at query time, no re-index."""
        synonyms.mapping()  # refuse a bad group before anything changes
        self.engine.set_synonyms(synonyms)

    def reload_synonyms(self) -> bool:
        """Apply the synonyms file when it changed since this service last read it (another worker
        saved it); ``True`` when applied. A missing or unreadable file keeps the synonyms in use."""
        if self.synonyms_path is None:
            return False
        stamp = _file_stamp(self.synonyms_path)
        if stamp is None or stamp == self._synonyms_stamp:
            return False
        self._synonyms_stamp = stamp
        try:
            self.set_synonyms(Synonyms.from_dict(_read_json(self.synonyms_path, {})))
        except (ConfigError, DataError) as exc:
            log.warning("search: synonyms file not applied (%s); the previous synonyms stay", exc)
            return False
        return True

    # ----------------------------------------------------------------- merchandising rules
    @property
    def rules(self) -> list[dict[str, Any]]:
        """The rules in use, as saved (``query``, ``match``, ``pin``, ``boost``, ``bury``, ``hide``)."""
        return [asdict(r) for r in self.engine.rules]

    def apply_rules(self, rules: Iterable[Mapping[str, Any]]) -> None:
        """Use ``rules`` from the next query on (validated first; nothing is saved)."""
        self.engine.set_rules([dict(r) for r in rules])

    def reload_rules(self) -> bool:
        """Apply the rules file when it changed since this service last read it (another worker saved
        it); ``True`` when applied. A missing or unreadable file keeps the rules in use."""
        stamp = _file_stamp(self.rules_path)
        if stamp is None or stamp == self._rules_stamp:
            return False
        self._rules_stamp = stamp
        try:
            self.apply_rules(_read_json(cast(Path, self.rules_path), []))
        except (ConfigError, DataError, TypeError) as exc:
            log.warning("search: rules file not applied (%s); the previous rules stay", exc)
            return False
        return True

    # ----------------------------------------------------------------- field weights
    def field_settings(self) -> dict[str, Any]:
        """``{"weights", "indexed", "reindex"}``: the weights asked for (in use once every field
        above 0 is indexed), the fields the serving index holds, the background build (or ``None``)."""
        with self._fields_lock:
            return {
                "weights": dict(self._wanted_fields),
                "indexed": self.engine.lexical.indexed_fields,
                "reindex": None if self._reindex is None else self._reindex.to_dict(),
            }

    def set_field_weights(self, weights: Mapping[str, float]) -> str:
        """Use these BM25 field weights (see :func:`check_field_weights`).

        Weights of indexed fields multiply scores at query time: ``"live"``, in use from the next
        query. A field above 0 that the index was built without is indexed first in a background
        thread (rows analysed are reported in :meth:`field_settings`); until it is attached the
        previous weights stay, then all the new ones apply together: ``"reindexing"``.
        """
        weights = check_field_weights(weights, max_weight=math.inf)  # the API caps what it saves
        with self._fields_lock:
            self._wanted_fields = weights
            missing = self._missing_fields(weights)
            if not missing:
                self.engine.set_field_weights(self._indexed_part(weights))
                return "live"
            if self._reindex_thread is None:
                self._reindex = Reindex(fields=missing, rows_total=self.engine.lexical.n_main * len(missing))
                self._reindex_thread = threading.Thread(
                    target=self._build_missing_fields, name="search-reindex", daemon=True
                )
                self._reindex_thread.start()
            return "reindexing"

    def wait_for_reindex(self, timeout: float | None = None) -> bool:
        """Wait for a background field build to end; ``True`` when none is running afterwards."""
        thread = self._reindex_thread
        if thread is not None:
            thread.join(timeout)
        return self._reindex_thread is None

    def reload_fields(self) -> bool:
        """Apply the field weights file when it changed (another worker saved it) or the configured
        weights when it was removed; ``True`` when applied. An unreadable file keeps the weights."""
        if self.fields_path is None:
            return False
        stamp = _file_stamp(self.fields_path)
        if stamp == self._fields_stamp:
            return False
        self._fields_stamp = stamp
        try:
            saved = _read_json(self.fields_path, None) if stamp is not None else None
            self.set_field_weights(self.configured_fields if saved is None else saved)
        except (ConfigError, DataError) as exc:
            log.warning("search: field weights file not applied (%s); the previous weights stay", exc)
            return False
        return True

    def _missing_fields(self, weights: Mapping[str, float]) -> list[str]:
        indexed = set(self.engine.lexical.indexed_fields)
        return [f for f, w in weights.items() if w > 0 and f not in indexed]

    def _indexed_part(self, weights: Mapping[str, float]) -> dict[str, float]:
        return {f: weights.get(f, 0.0) for f in self.engine.lexical.indexed_fields}

    def _build_missing_fields(self) -> None:
        """Background thread: index the fields the wanted weights need, then apply the weights
        (those asked for last: a change made meanwhile is not lost)."""
        lex = self.engine.lexical
        status = self._reindex
        try:
            while True:
                with self._fields_lock:
                    missing = self._missing_fields(self._wanted_fields)
                    if not missing:
                        self.engine.set_field_weights(self._indexed_part(self._wanted_fields))
                        if status is not None:
                            status.state, status.finished = "done", time.monotonic()
                        self._reindex_thread = None
                        return
                    if status is not None and set(missing) - set(status.fields):
                        status.fields = sorted(set(status.fields) | set(missing))
                        status.rows_total = lex.n_main * len(status.fields)
                started = time.monotonic()
                for name in missing:
                    base = status.rows_done if status is not None else 0

                    def progress(n: int, base: int = base) -> None:
                        if status is not None:
                            status.rows_done = base + n

                    fidx = lex.build_field(
                        name, self.engine.field_texts(name, range(lex.n_main)), progress=progress
                    )
                    with self._write_lock:  # no upsert between reading the delta rows and attaching
                        delta = [r for r in range(lex.n_main, lex.n_rows) if lex.alive[r]]
                        lex.attach_field(
                            fidx, dict(zip(delta, self.engine.field_texts(name, delta), strict=True)), 0.0
                        )
                log.info("search: indexed fields %s in %.1fs", missing, time.monotonic() - started)
        except Exception as exc:  # reported in field_settings; the weights in use stay
            log.exception("search: indexing fields failed; the previous field weights stay")
            with self._fields_lock:
                if status is not None:
                    status.state, status.finished = "failed", time.monotonic()
                    status.error = f"{type(exc).__name__}: {str(exc)[:300]}"
                self._reindex_thread = None

    # ----------------------------------------------------------------- other workers' updates
    def sync(self, *, force: bool = False) -> int:
        """Apply catalogue changes other processes made since the last sync; returns how many.

        Polls at most every ``sync_interval_s`` (unless ``force``) and applies at most ``sync_batch``
        changes (the rest on the next calls). A thread that finds another one syncing goes on.
        """
        if not self._syncs:
            return 0
        now = time.monotonic()
        if not force and now - self._polled_at < self.sync_interval_s:
            return 0
        if not self._sync_lock.acquire(blocking=False):
            return 0
        try:
            self._polled_at = now
            # another worker may have saved new ones (a stat each when unchanged)
            self.reload_synonyms()
            self.reload_rules()
            self.reload_fields()
            try:
                seq, changes = self.store.item_changes(self.change_seq, self.sync_batch)
                latest = dict(changes)  # item id -> deleted (the last change of an id wins)
                wanted = [i for i, d in latest.items() if not d]
                items = self._fetch(wanted)
            except Exception as exc:  # the store is down: search what we have, try again next time
                log.warning("search sync skipped: %s", exc)
                return 0
            if not changes:
                return 0
            upserts: list[Item] = []
            lex = self.engine.lexical
            gone = [i for i, d in latest.items() if d and i in lex.row_of and lex.alive[lex.row_of[i]]]
            for iid in (i for i, d in latest.items() if not d):
                item = items.get(iid)
                if item is None:  # deleted again after this change (a later change says so), or set aside
                    continue
                try:
                    mine = self._applied.pop(iid, None) == _fingerprint(item)
                except Exception as exc:  # unserialisable: never let one record stop the sync
                    self._set_aside(iid, exc)
                    continue
                if not mine:
                    upserts.append(item)
            for iid in (i for i, d in latest.items() if d):
                self._applied.pop(iid, None)
                self.set_aside.pop(iid, None)
            applied = self._apply(upserts)
            if gone:
                self.engine.delete(gone)
            self.change_seq = seq
            log.debug("search sync to change %d: %d upserts, %d deletes", seq, applied, len(gone))
            return applied + len(gone)
        finally:
            self._sync_lock.release()

    def _fetch(self, ids: list[str]) -> dict[str, Item]:
        """The stored items of ``ids``; a stored row that no longer validates is set aside, not fatal.

        Store errors propagate (the caller retries the whole sync later); a validation error of one
        row makes the batch read fall back to one read per id so only that row is left out.
        """
        if not ids:
            return {}
        try:
            return {it.id: it for it in self.store.get_items(ids)}
        except ValidationError:
            pass
        out: dict[str, Item] = {}
        for iid in ids:
            try:
                out.update((it.id, it) for it in self.store.get_items([iid]))
            except ValidationError as exc:
                self._set_aside(iid, exc)
        return out

    def _apply(self, items: list[Item]) -> int:
        """Index ``items`` live; when the batch fails, index one at a time and set aside the failures."""
        if not items:
            return 0
        with self._write_lock:
            return self._apply_locked(items)

    def _apply_locked(self, items: list[Item]) -> int:
        try:
            self.engine.upsert([it.model_dump() for it in items])
        except Exception as exc:
            log.warning("search: a batch of %d items failed (%s); indexing them one by one", len(items), exc)
            done = 0
            for it in items:
                try:
                    self.engine.upsert([it.model_dump()])
                except Exception as one:
                    self._set_aside(it.id, one)
                else:
                    self.set_aside.pop(it.id, None)
                    done += 1
            return done
        for it in items:
            self.set_aside.pop(it.id, None)
        return len(items)

    def _set_aside(self, item_id: str, exc: BaseException) -> None:
        """Leave one item out of the live index: logged, counted, listed by :meth:`set_aside_summary`."""
        if isinstance(exc, ValidationError) and exc.errors():
            err = exc.errors(include_input=False, include_url=False)[0]
            why = f"invalid {error_field(err) or 'item'}: {err.get('msg', '')}"[:300]
        else:
            why = f"{type(exc).__name__}: {str(exc)[:200]}"
        if item_id not in self.set_aside:
            log.warning("search: item %r set aside (not searchable until it is fixed): %s", item_id, why)
        self.set_aside_total += item_id not in self.set_aside
        if len(self.set_aside) < MAX_SET_ASIDE_LISTED or item_id in self.set_aside:
            self.set_aside[item_id] = why

    def set_aside_summary(self) -> dict[str, Any]:
        """``{"count", "items": [{"id", "reason"}]}``: records left out of the live index, for status pages."""
        return {
            "count": self.set_aside_total,
            "items": [{"id": i, "reason": r} for i, r in list(self.set_aside.items())[:20]],
        }

    # ----------------------------------------------------------------- queries
    def search(
        self,
        query: str,
        *,
        k: int = SEARCH_K,
        offset: int = 0,
        filters: Mapping[str, Any] | None = None,
        sort: str = "relevance",
        user_id: str | None = None,
        affinity: Mapping[str, float] | None = None,
        mode: str = "hybrid",
        log: bool = True,
    ) -> SearchResult:
        """One page of results; logged to the store (with the shown ids) unless ``log=False``."""
        self.sync()
        if affinity is None and user_id:
            affinity = self.user_affinity(user_id)
        result = self.engine.search(
            query, k=k, offset=offset, filters=filters, sort=sort, affinity=affinity, mode=mode
        )
        if log and self.store is not None:
            result.search_id = self.store.log_search(
                query=query, user_id=user_id, n_results=result.total, result_ids=result.ids
            )
        return result

    def suggest(self, prefix: str, k: int = SUGGEST_K) -> list[dict[str, object]]:
        self.sync()
        return self.engine.suggest(prefix, k)

    def user_affinity(self, user_id: str, *, limit: int = 500) -> dict[str, float]:
        """``{"brand:X": share, "category:Y": share}`` from the user's recent item events."""
        try:
            events = self.store.events_frame(user_id=user_id)
        except Exception as exc:  # affinity is a bonus: never fail a search for it
            log.warning("no events for affinity: %s", exc)
            return {}
        if events is None or not len(events) or "item_id" not in events:
            return {}
        ids = [str(i) for i in events["item_id"].dropna().tail(limit)]
        c = self.engine.catalog
        row_of = self.engine.lexical.row_of
        counts: Counter[str] = Counter()
        for i in ids:
            r = row_of.get(i)
            if r is None:
                continue
            if c.brand[r]:
                counts[f"brand:{c.brand[r]}"] += 1
            for part in c.category[r]:
                counts[f"category:{part}"] += 1
        if not counts:
            return {}
        top = max(counts.values())
        return {k: v / top for k, v in counts.items()}

    # ----------------------------------------------------------------- logging
    def log_click(self, search_id: str, item_id: str, position: int) -> None:
        if position < 1:
            raise DataError("click position is 1-based", value=position, expected=">= 1")
        self.store.log_click(search_id=search_id, item_id=item_id, position=position)

    def analytics(self, *, top: int = 20, max_position: int = 10) -> dict[str, Any]:
        """Top queries, zero-result queries, CTR by position, overall click rates."""
        return search_analytics(
            self.store.search_log_frame(), self.store.click_log_frame(), top=top, max_position=max_position
        )

    # ----------------------------------------------------------------- updates
    def upsert_items(self, items: Iterable[Item | Mapping[str, Any]]) -> int:
        """Make added/changed products searchable now (the caller stores them; see ``Engine``)."""
        models = []
        for it in items:
            model = it if isinstance(it, Item) else Item(**dict(it))
            if self._syncs:
                if len(self._applied) >= 100_000:  # changes never logged by the store: forget them
                    self._applied.clear()
                try:
                    self._applied[model.id] = _fingerprint(model)
                except Exception as exc:  # the caller has stored it: leave it out of the index, not fail
                    self._set_aside(model.id, exc)
                    continue
            models.append(model)
        return self._apply(models)

    def delete_items(self, ids: Sequence[str]) -> int:
        with self._write_lock:
            return self.engine.delete(ids)

    def set_rules(self, rules: Iterable[Mapping[str, Any]]) -> None:
        """Replace the merchandising rules (validated; saved to ``rules.json`` when configured)."""
        checked = [asdict(r) for r in parse_rules([dict(r) for r in rules])]  # before anything changes
        if self.rules_path is not None:
            _write_json(self.rules_path, checked)
            self._rules_stamp = _file_stamp(self.rules_path)  # applied here: not again on sync
        self.apply_rules(checked)


def _fingerprint(item: Item) -> str:
    """Content hash of an item (recognises an update this worker applied when the change log returns it)."""
    return hashlib.sha1(item.model_dump_json().encode("utf-8")).hexdigest()


def search_analytics(
    searches: pd.DataFrame, clicks: pd.DataFrame, *, top: int = 20, max_position: int = 10
) -> dict[str, Any]:
    """Search analytics from the two logs.

    CTR at position p = clicks at p / searches that showed at least p results.
    """
    out: dict[str, Any] = {"searches": len(searches), "clicks": len(clicks)}
    if not len(searches):
        out.update(
            top_queries=[], zero_result_queries=[], ctr_by_position={}, click_rate=0.0, zero_result_rate=0.0
        )
        return out
    q = searches["query"].astype(str).str.strip().str.lower()
    out["top_queries"] = [{"query": k, "count": int(v)} for k, v in q.value_counts().head(top).items()]
    zero = q[searches["n_results"] == 0]
    out["zero_result_queries"] = [
        {"query": k, "count": int(v)} for k, v in zero.value_counts().head(top).items()
    ]
    out["zero_result_rate"] = round(float((searches["n_results"] == 0).mean()), 6)
    shown = searches["result_ids"].map(lambda ids: len(ids or []))
    ctr: dict[int, float] = {}
    pos_counts = Counter(int(p) for p in clicks["position"]) if len(clicks) else Counter()
    for p in range(1, max_position + 1):
        n = int((shown >= p).sum())
        if n:
            ctr[p] = round(pos_counts.get(p, 0) / n, 6)
    out["ctr_by_position"] = ctr
    clicked = set(clicks["search_id"]) if len(clicks) else set()
    out["click_rate"] = round(len(clicked & set(searches["search_id"])) / len(searches), 6)
    if len(clicks):
        pos = clicks["position"].astype(float)
        out["mean_click_position"] = round(float(pos.mean()), 4) if not math.isnan(pos.mean()) else None
    return out
