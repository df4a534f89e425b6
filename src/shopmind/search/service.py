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
* ``rules.json`` — merchandising rules (``SearchService.set_rules`` writes it at run time).

Both are vocabulary and merchandising the shop edits (the rules through the API), possibly thousands
of entries, not settings of the engine; a ``config.json`` there (the former settings file) is refused
with a message naming the section to move it to, so no setting is silently dropped.

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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from shopmind.capability import TrainContext, progress_of
from shopmind.config import SEARCH_K, SUGGEST_K
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
    synonyms = Synonyms.from_dict(_read_json(sdir / SYNONYMS_FILE, {}))
    rules = _read_json(sdir / "rules.json", [])
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
        change_seq: int | None = None,
        sync_interval_s: float = 0.0,
        sync_batch: int = 100,
    ) -> None:
        """``change_seq``: the store's item change sequence number ``engine`` reflects (``None``: the
        current one, i.e. only later changes are applied). ``sync_interval_s``: poll the store's change
        log at most this often (0: before every search; one indexed lookup, see docs/bench/search.md).
        """
        self.engine = engine
        self.store = store
        self.rules_path = rules_path
        self.synonyms_path = synonyms_path
        # (inode, mtime, size) of the synonyms file last applied: each save is a new file (os.replace),
        # so two saves within one tick of the file-time clock still differ
        self._synonyms_stamp: tuple[int, int, int] | None = None
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
        rules_path = data_dir(settings) / "rules.json" if settings is not None else None
        synonyms_path = data_dir(settings) / SYNONYMS_FILE if settings is not None else None
        sync = _read_json(Path(path) / SYNC_FILE, {})
        service = cls(
            engine,
            store,
            rules_path=rules_path,
            synonyms_path=synonyms_path,
            change_seq=sync.get("item_change_seq"),
            sync_interval_s=sync_interval_s,
        )
        trained = setaside.read_summary(Path(path))  # items left out when the index was built
        service.set_aside.update({r["id"]: r["reason"] for r in trained["items"] if r.get("kind") == "item"})
        service.set_aside_total = int(trained["count"])
        service.reload_synonyms()  # saved after this run was trained (PUT /admin/search/synonyms)
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
        try:
            st = self.synonyms_path.stat()
        except OSError:
            return False
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp == self._synonyms_stamp:
            return False
        self._synonyms_stamp = stamp
        try:
            self.set_synonyms(Synonyms.from_dict(_read_json(self.synonyms_path, {})))
        except (ConfigError, DataError) as exc:
            log.warning("search: synonyms file not applied (%s); the previous synonyms stay", exc)
            return False
        return True

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
            self.reload_synonyms()  # another worker may have saved new ones (a stat when unchanged)
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
        return self.engine.delete(ids)

    def set_rules(self, rules: Iterable[Mapping[str, Any]]) -> None:
        """Replace the merchandising rules (validated; saved to ``rules.json`` when configured)."""
        rules = [dict(r) for r in rules]
        parse_rules(rules)  # validate before anything changes
        self.engine.set_rules(rules)
        if self.rules_path is not None:
            self.rules_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.rules_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(rules, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(tmp, self.rules_path)


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
