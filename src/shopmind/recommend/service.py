"""The recommendation service: ``train`` writes artifacts, :class:`RecommendService` serves them.

Training (``shopmind train``) fits a :class:`~shopmind.recommend.hybrid.Hybrid` over the configured
recommenders (``settings.training.recommenders``; each component also serves on its own through
``algorithm=``), a trending model (7-day half-life) and the bought-together lift table, and saves
them with the vocabularies, the interaction matrix, the catalogue facts and each known user's
precomputed top-``N`` of the served blend (:mod:`shopmind.recommend.pools`; no pickle).

Serving: ``recommend`` ranks for a user with filters, boosts and a reason per item; users with new
events (``observe``) or a session are folded in from their updated row without retraining; users
with no history at all get trending items (the cold-start path). A known user without new events
is answered from their pool when that gives exactly the full-scoring answer (no boosts, enough pool
items pass the filters), else by scoring the catalogue. ``similar_items``,
``bought_together``, ``trending`` and ``user_affinity`` complete the shop features.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopmind.capability import TrainContext, progress_of
from shopmind.catalog import Catalog, split_path
from shopmind.config import RecommendSettings
from shopmind.data import setaside
from shopmind.data.dataset import EVENT_CODE, EVENT_TYPES, Dataset, EventWeights
from shopmind.data.schema import Event
from shopmind.data.vocabulary import Vocabulary
from shopmind.errors import ArtifactError, ConfigError, DataError, UnknownIdError
from shopmind.ingest.poisoning import PoisoningConfig, PoisoningReport, detect_poisoning
from shopmind.presets import load_presets, recommend_config
from shopmind.recommend.base import Recommender, Runtime, dense_row, load_sparse, save_sparse, savez, top_k
from shopmind.recommend.cooccur import BoughtTogether
from shopmind.recommend.explain import POPULAR, STRENGTH, Explainer, History, dominant_component
from shopmind.recommend.filters import RecFilters, apply_boost, build_candidates
from shopmind.recommend.hybrid import Hybrid, Part
from shopmind.recommend.pools import Pools
from shopmind.recommend.popularity import Trending
from shopmind.recommend.registry import ALGORITHMS, check_config, check_presets, get_algorithm
from shopmind.recommend.tuning import FIT_LIBRARIES, remembered_tune
from shopmind.store.artifacts import ArtifactStore
from shopmind.store.base import Store
from shopmind.train_cache import ChoiceCache, Fingerprint, choice_folder, code_digest, library_versions
from shopmind.types import RankedList, Recommendation

log = logging.getLogger(__name__)

NAME = "recommend"
FORMAT = 1


# ====================================================================== training
def build_components(
    names: Sequence[str],
    dataset: Dataset,
    presets: Sequence[str] = (),
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Component configs for the hybrid; unknown names and ``hybrid`` itself are skipped (logged).

    Each config is, key by key, the class's shop settings (``Recommender.shop_config``: capacity limits),
    then ``presets`` (names or paths, :mod:`shopmind.presets`) in order, then ``params`` (the
    ``[recommend.params.<algorithm>]`` settings). ``params`` naming an unknown algorithm or an invalid
    value raises ``ConfigError`` before anything is fitted.
    """
    params = dict(params or {})
    for name, cfg in params.items():
        check_config(f"settings [recommend.params.{name}]", name, cfg)
    unused = sorted(set(params) - set(names) - {Hybrid.name})
    if unused:
        log.warning("recommend.params: %s not in training.recommenders (not trained)", ", ".join(unused))
    loaded = load_presets(presets)
    check_presets(loaded)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        if name == "hybrid":
            continue
        if name not in ALGORITHMS:
            log.warning(
                "recommenders: skipping unknown algorithm %r (known: %s)", name, ", ".join(ALGORITHMS)
            )
            continue
        cfg = get_algorithm(name).shop_config(dataset)
        tuned = recommend_config(loaded, name, params.get(name))
        if tuned is not None:
            log.info(
                "recommenders: %s configured by %s",
                name,
                ", ".join([*map(str, presets), *(["[recommend.params]"] if name in params else [])]),
            )
            cfg.update(tuned)
        out[name] = cfg
    if not out:
        out = {"popularity": {}}
    return out


def hybrid_config(params: Mapping[str, Any]) -> dict[str, Any]:
    """The served hybrid's ``[recommend.params.hybrid]`` settings (normalisation, validation split, grid);
    its components and weights come from ``training.recommenders`` and the tuning, so setting them there
    is a ``ConfigError``."""
    fixed = sorted({"components", "weights"} & set(params))
    if fixed:
        raise ConfigError(
            "settings [recommend.params.hybrid]: set by training.recommenders and the tuning",
            value=fixed,
            expected="normalization, validation, validation_fraction, min_user_events, grid, max_tune_users",
        )
    return dict(params)


def strongest_events(dataset: Dataset) -> sp.csr_matrix:
    """Per (user, item) the strongest event kind (``explain.STRENGTH``) as int8 CSR."""
    table = np.array([STRENGTH.get(t, 0) for t in EVENT_TYPES], dtype=np.int8)
    s = table[dataset.event_type]
    ok = s > 0
    frame = pd.DataFrame({"u": dataset.user_idx[ok], "i": dataset.item_idx[ok], "s": s[ok]})
    agg = frame.groupby(["u", "i"], sort=True)["s"].max()
    u = agg.index.get_level_values(0).to_numpy()
    i = agg.index.get_level_values(1).to_numpy()
    return sp.csr_matrix((agg.to_numpy(np.int8), (u, i)), shape=(dataset.n_users, dataset.n_items))


def baskets(
    store: Any,
    dataset: Dataset,
    exclude_users: Sequence[str] = (),
    set_aside: setaside.SetAside | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(basket code, item index) pairs: orders, cart/purchase sessions, else purchases per user-day.

    Orders and events of ``exclude_users`` (accounts flagged by the poisoning screen) are left out.
    Stored orders and events the store could not read are counted in ``set_aside``.
    """
    keys: list[np.ndarray] = []
    items: list[np.ndarray] = []
    index = dataset.items

    def add(prefix: str, basket: pd.Series, item: pd.Series) -> None:
        pos = index.index(item.astype(str).to_numpy(), on_unknown="missing")
        ok = (pos >= 0) & basket.notna().to_numpy()
        keys.append((prefix + basket.astype(str)).to_numpy()[ok])
        items.append(pos[ok])

    excluded = set(exclude_users)
    orders = store.orders_frame()
    if set_aside is not None:
        set_aside.gather(orders)
    if len(orders) and excluded:
        orders = orders[~orders["user_id"].isin(excluded)]
    if len(orders):
        add("o:", orders["order_id"], orders["item_id"])
    events = store.events_frame(types=["cart", "purchase"])
    if set_aside is not None:
        set_aside.gather(events)
    if len(events) and excluded:
        events = events[~events["user_id"].isin(excluded)]
    if len(events) and "session_id" in events:
        ev = events[events["session_id"].notna()]
        if len(ev):
            add("s:", ev["session_id"], ev["item_id"])
    if not keys or not sum(len(k) for k in keys):
        buy = dataset.event_type == EVENT_CODE["purchase"]
        day = dataset.timestamp[buy] // 86_400
        code = dataset.user_idx[buy].astype(np.int64) * 1_000_000 + day
        log.info("bought-together: no orders or sessions; using purchases per user and day")
        return code.astype(str), dataset.item_idx[buy]
    return np.concatenate(keys), np.concatenate(items)


class Screen:
    """The poisoning screen's outcome for one training: the report and whether flags were acted on."""

    def __init__(self, report: PoisoningReport, excluded: bool, enabled: bool) -> None:
        self.report, self.excluded, self.enabled = report, excluded, enabled

    @property
    def flagged_ids(self) -> list[str]:
        return self.report.flagged_ids

    def manifest(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "action": "exclude" if self.excluded else "report",
            **self.report.summary(),
        }


def screen_training_data(dataset: Dataset, settings: Any) -> tuple[Dataset, Screen]:
    """Run the coordinated fake-account detector (:mod:`shopmind.ingest.poisoning`) on ``dataset``.

    With ``settings.action == "exclude"`` the flagged accounts' events leave the training data of every
    recommender, the tuning hold-out, trending and (through :func:`baskets`) bought-together;
    ``settings.trusted_users`` are never flagged. Returns the data to train on and the screen (for the
    manifest and ``poisoning.json``).
    """
    if not settings.enabled:
        empty = PoisoningReport(np.empty(0, dtype=np.int64), [], [], [], [], dataset.n_users)
        return dataset, Screen(empty, excluded=False, enabled=False)
    config = PoisoningConfig(
        window_hours=settings.window_hours,
        min_group=settings.min_group,
        min_lift=settings.min_lift,
        alpha=settings.alpha,
    )
    report = detect_poisoning(dataset, config, trusted=settings.trusted_users)
    exclude = settings.action == "exclude" and report.n_flagged > 0
    if exclude:
        log.warning(
            "recommend: %d accounts in %d coordinated groups excluded from training (targets: %s)",
            report.n_flagged,
            len(report.groups),
            ", ".join(report.summary()["target_items"][:10]),
        )
        dataset = dataset.subset(report.keep_mask(dataset))
    return dataset, Screen(report, excluded=exclude, enabled=True)


MANIFEST_KEYS = ("default", "algorithms", "hybrid_weights", "n_users", "n_items", "poisoning", "set_aside")
"""What :func:`train` returns for the run's manifest."""


def fit_key(
    ctx: TrainContext,
    components: Mapping[str, Mapping[str, Any]],
    weights: Mapping[str, float] | None,
    default: str,
    served: Mapping[str, Any],
    basket: np.ndarray,
    item: np.ndarray,
    set_aside: Mapping[str, Any],
) -> str:
    """SHA-256 of every input of the fitted files: the events and tables read (before the poisoning
    screen), the baskets, the records set aside, the ``[training]`` and ``[recommend]`` settings, the
    chosen components and weights, the fitting libraries' versions and the code that fits and writes."""
    fp = Fingerprint("recommend-fit")
    fp.add_json(
        {
            "format": FORMAT,
            "training": ctx.settings.training.model_dump(mode="json"),
            "recommend": ctx.settings.recommend.model_dump(mode="json"),
            "components": components,
            "weights": weights,
            "default": default,
            "served": served,
            "set_aside": set_aside,
            "libraries": library_versions(FIT_LIBRARIES),
            "code": code_digest("recommend", "catalog", "ingest"),
        }
    )
    fp.add_array(np.asarray(basket, dtype=str)).add_array(np.asarray(item))
    return fp.add_dataset(ctx.dataset).hexdigest()


def _fitted_before(artifacts_dir: Path, key: str) -> Path | None:
    """The served run's recommend folder when its manifest has ``fit_key == key`` and its files pass
    the run's checksums (a damaged file is refitted, never copied), else None."""
    try:
        artifacts = ArtifactStore(artifacts_dir)
        current = artifacts.current()
        if current is None:
            return None
        folder = current.path / NAME
        if json.loads((folder / "manifest.json").read_text()).get("fit_key") != key:
            return None
        report = artifacts.verify(current).restricted_to([NAME])
    except (ArtifactError, OSError, ValueError, AttributeError) as exc:
        log.info("recommend: no earlier fit to reuse (%s)", exc)
        return None
    if not report.ok:
        log.warning("recommend: the served run's files do not verify (%s); refitting", report.summary())
        return None
    return folder


def _reuse(
    previous: Path, out_dir: Path, key: str, tuning: dict[str, Any] | None, started: float
) -> dict[str, Any]:
    """Link ``previous``'s files into ``out_dir`` (copies where links are impossible; artifacts are never
    modified in place) and write its manifest with this training's time and tuning record."""
    import os
    import shutil

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(previous, out_dir, copy_function=link, ignore=shutil.ignore_patterns("manifest.json"))
    manifest = json.loads((previous / "manifest.json").read_text())
    manifest.update(
        seconds=round(time.perf_counter() - started, 3),
        tuning=tuning if tuning is not None else manifest.get("tuning"),
        reused_from=previous.parent.name,
        fit_key=key,
    )
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    log.info("recommend: reused the models of run %s (same inputs)", previous.parent.name)
    return {k: manifest[k] for k in MANIFEST_KEYS}


def train(ctx: TrainContext, out_dir: Path) -> dict[str, Any]:
    """Fit the configured recommenders + trending + bought-together and write them to ``out_dir``.

    When the served run was fitted on the same inputs (:func:`fit_key`: data, settings, choice, library
    versions and code), its files are linked instead: the fits are deterministic, so refitting would
    write the same bytes."""
    started = time.perf_counter()
    t = ctx.settings.training
    aside = setaside.SetAside("recommend").gather(ctx.dataset)  # unreadable stored records left out
    dataset, screen = screen_training_data(ctx.dataset, t.poisoning)
    runtime = Runtime(seed=t.seed, threads=t.threads)
    components = build_components(
        t.recommenders, dataset, t.recommender_presets, ctx.settings.recommend.params
    )
    served = hybrid_config(ctx.settings.recommend.params.get(Hybrid.name, {}))
    default = t.default_recommender if t.default_recommender in components else "hybrid"
    weights: dict[str, float] | None = None  # None: the hybrid learns its weights while fitting
    tuning: dict[str, Any] | None = None
    if t.tune_budget_s > 0:  # choose the served model and its settings on the shop's own hold-out
        try:
            choice = remembered_tune(  # unchanged data and settings: the choice made last time
                ChoiceCache(choice_folder(ctx.settings.artifacts_dir), "recommend-tuning"),
                dataset,
                components,
                budget_s=t.tune_budget_s,
                default=default,
                runtime=runtime,
                progress=ctx.progress,
            )
            components, weights, default = choice.components, choice.weights, choice.chosen
            tuning = choice.record
        except DataError as exc:  # too little history for a hold-out: train as configured
            log.warning("recommend: no automatic choice (%s)", exc)
    steps = progress_of(ctx)  # the served models: hybrid, trending, bought-together, then the files
    basket, item = baskets(ctx.store, dataset, screen.flagged_ids if screen.excluded else (), aside)
    set_aside = aside.summary()
    key = fit_key(ctx, components, weights, default, served, basket, item, set_aside)
    previous = _fitted_before(ctx.settings.artifacts_dir, key)
    if previous is not None:  # the same inputs: the same files (the fits are deterministic)
        ctx.progress(f"recommend: same inputs as run {previous.parent.name}: its fitted models reused")
        steps.count(4, 4, "models")  # all four served models are ready (reused)
        return _reuse(previous, out_dir, key, tuning, started)
    ctx.progress(f"recommend: fitting {', '.join(components)} on {dataset}")
    steps.count(0, 4, "models")
    hybrid = Hybrid({**served, "components": components, "weights": weights}, runtime).fit(dataset)
    steps.count(1, 4, "models")
    trending = Trending(runtime=runtime).fit(dataset)
    steps.count(2, 4, "models")
    together = BoughtTogether().fit(basket, item, dataset.n_items)
    steps.count(3, 4, "models")
    out_dir.mkdir(parents=True, exist_ok=True)
    hybrid.save(out_dir / "models" / "hybrid")
    Pools.build(hybrid, dataset.matrix()).save(out_dir / "pools.npz")
    trending.save(out_dir / "models" / "trending")
    together.save(out_dir)
    Catalog.from_table(dataset.item_table).save(out_dir)
    savez(
        out_dir / "interactions.npz",
        {**save_sparse("x", dataset.matrix()), **save_sparse("strongest", strongest_events(dataset))},
    )
    (out_dir / "users.json").write_text(json.dumps(dataset.users.to_list(), ensure_ascii=False))
    (out_dir / "items.json").write_text(json.dumps(dataset.items.to_list(), ensure_ascii=False))
    manifest = {
        "format": FORMAT,
        "default": default,
        "algorithms": ["hybrid", *components, "trending"],
        "hybrid_weights": hybrid.weights,
        "presets": list(t.recommender_presets),
        "event_weights": ctx.weights.to_dict() if hasattr(ctx, "weights") else dataset.weights.to_dict(),
        "n_users": dataset.n_users,
        "n_items": dataset.n_items,
        "n_events": dataset.n_events,
        "last_timestamp": dataset.last_timestamp,
        "seconds": round(time.perf_counter() - started, 3),
        "tuning": tuning,
        "poisoning": screen.manifest(),
        "set_aside": set_aside,
        "fit_key": key,
    }
    setaside.write_summary(out_dir, set_aside)
    (out_dir / "poisoning.json").write_text(json.dumps(screen.report.to_dict(), indent=2, ensure_ascii=False))
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    steps.count(4, 4, "models")
    log.info("recommend: trained %s in %.1fs", manifest["algorithms"], manifest["seconds"])
    return {k: manifest[k] for k in MANIFEST_KEYS}


# ====================================================================== serving
class RecommendService:
    """Serves trained recommendation artifacts (see module docstring). Thread-safe."""

    def __init__(
        self,
        users: Vocabulary,
        items: Vocabulary,
        interactions: sp.csr_matrix,
        strongest: sp.csr_matrix,
        catalog: Catalog,
        models: dict[str, Recommender],
        default: str,
        together: BoughtTogether,
        weights: EventWeights,
        store: Any = None,
        pools: Pools | None = None,
    ) -> None:
        self.users, self.items = users, items
        self.x = sp.csr_matrix(interactions, dtype=np.float32)
        self.strongest = sp.csr_matrix(strongest)
        self.catalog = catalog
        self.models = models
        self.default = default
        self.together = together
        self.weights = weights
        self.store = store
        self.pools = pools
        self.explainer = Explainer(catalog)
        self.explainer.refresh()  # per-item reason facts now, not in the first request
        self._item_pos = {item_id: i for i, item_id in enumerate(items.ids)}
        # a dict lookup per request instead of a pandas Index round trip (~0.1 ms per call)
        self._user_pos = {str(user_id): u for u, user_id in enumerate(users.ids)}
        self._pending: dict[str, dict[int, float]] = {}
        self._pending_strength: dict[str, dict[int, int]] = {}
        self._lock = threading.RLock()
        self._set_aside: dict[str, Any] = {"count": 0, "by_kind": {}, "items": []}
        self.similar_settings = RecommendSettings()  # category depth and price band of similar items

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: Path, store: Store | None = None, **deps: Any) -> RecommendService:
        path = Path(path)
        manifest_path = path / "manifest.json"
        if not manifest_path.exists():
            raise ArtifactError(
                "recommend artifacts missing", value=str(manifest_path), expected="shopmind train first"
            )
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != FORMAT:
            raise ArtifactError(
                "incompatible recommend artifact format", value=manifest.get("format"), expected=str(FORMAT)
            )
        runtime = Runtime(threads=int(deps.get("threads", 1)))
        hybrid = Hybrid.load(path / "models" / "hybrid", runtime)
        models: dict[str, Recommender] = {"hybrid": hybrid, **hybrid.models}
        models["trending"] = Trending.load(path / "models" / "trending", runtime)
        with np.load(path / "interactions.npz", allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        users = Vocabulary(json.loads((path / "users.json").read_text()), name="user")
        items = Vocabulary(json.loads((path / "items.json").read_text()), name="item")
        catalog = Catalog.load(path)
        service = cls(
            users,
            items,
            load_sparse("x", arrays),
            load_sparse("strongest", arrays),
            catalog,
            models,
            manifest["default"],
            BoughtTogether.load(path),
            EventWeights.from_dict(manifest["event_weights"]),
            store,
            Pools.load(path / "pools.npz"),
        )
        service._set_aside = setaside.read_summary(path)
        settings = deps.get("settings")
        if settings is not None:
            service.similar_settings = settings.recommend
        if store is not None:
            service.refresh_catalog()
        return service

    def set_aside_summary(self) -> dict[str, Any]:
        """Stored records the training of these artifacts left out (:mod:`shopmind.data.setaside`)."""
        return self._set_aside

    def refresh_catalog(self) -> int:
        """Re-read prices, stock and titles from the store (stock changes between trainings)."""
        if self.store is None:
            return 0
        updated = self.catalog.update(self.store.items_frame(), self._item_pos)
        self.explainer.refresh()
        return updated

    @property
    def algorithms(self) -> list[str]:
        return sorted(self.models)

    # ---------------------------------------------------------------- helpers
    def _model(self, name: str | None) -> Recommender:
        name = name or self.default
        if name not in self.models:
            raise ConfigError("algorithm not trained", value=name, expected=", ".join(self.algorithms))
        return self.models[name]

    def _item(self, item_id: str) -> int:
        i = self._item_pos.get(str(item_id))
        if i is None:
            raise UnknownIdError("unknown item", value=item_id, expected="an item of the trained catalogue")
        return i

    def _history(
        self, user_id: str, session_items: Sequence[str] | None
    ) -> tuple[int, History, dict[int, int], set[int], bool]:
        """(user index or -1, history row = train + pending + session, strengths, session items, changed)."""
        u = self._user_pos.get(str(user_id), -1)
        strength: dict[int, int] = {}
        if u >= 0:
            lo, hi = self.x.indptr[u], self.x.indptr[u + 1]
            cols, vals = self.x.indices[lo:hi], self.x.data[lo:hi]
            s = self.strongest
            lo, hi = s.indptr[u], s.indptr[u + 1]
            strength = dict(zip(s.indices[lo:hi].tolist(), s.data[lo:hi].tolist(), strict=True))
        else:
            cols, vals = np.empty(0, dtype=self.x.indices.dtype), np.empty(0, dtype=np.float32)
        add: dict[int, float] = {}
        with self._lock:
            pending = dict(self._pending.get(str(user_id), {}))
            for j, st in self._pending_strength.get(str(user_id), {}).items():
                strength[j] = max(strength.get(j, 0), st)
        add.update(pending)
        session: set[int] = set()
        view_w = float(self.weights.weights.get("view", 1.0)) or 1.0
        for item_id in session_items or ():
            pos = self._item_pos.get(str(item_id))
            if pos is None:
                continue
            session.add(pos)
            add[pos] = add.get(pos, 0.0) + view_w
            strength.setdefault(pos, STRENGTH["view"])
        if add:
            cols, vals = _merge_entries(
                cols,
                vals,
                np.fromiter(add.keys(), dtype=np.int64, count=len(add)),
                np.fromiter(add.values(), dtype=np.float32, count=len(add)),
            )
        row = History(np.asarray(cols, dtype=np.int32), np.asarray(vals, dtype=np.float32))
        return int(u), row, strength, session, bool(add)

    def _fill(
        self, idx: list[int], scores: list[float], k: int, allowed: np.ndarray, excluded: np.ndarray
    ) -> list[int]:
        """Top up a short list (strict filters, partial models) with trending items; returns added."""
        if len(idx) >= k or "trending" not in self.models:
            return []
        mask = allowed.copy()
        mask[excluded] = False
        mask[np.asarray(idx, dtype=np.int64)] = False
        more, _ = self.models["trending"].top(k - len(idx), mask)  # type: ignore[attr-defined]
        return [int(i) for i in more]

    # ---------------------------------------------------------------- recommend
    def recommend(
        self,
        user_id: str,
        k: int = 10,
        filters: RecFilters | None = None,
        session_items: Sequence[str] | None = None,
        algorithm: str | None = None,
    ) -> RankedList:
        """Top-``k`` items for ``user_id`` with a reason each (module docstring for the paths)."""
        if k < 1:
            raise ConfigError("k must be >= 1", value=k)
        filters = filters or RecFilters()
        model = self._model(algorithm)
        u, row, strength, session, changed = self._history(user_id, session_items)
        has_history = row.nnz > 0
        if not has_history:
            path = "cold_start"
        elif u >= 0 and not changed:
            path = "personal"
        elif model.supports_fold_in:
            path = "session" if session and u < 0 and not self._pending.get(str(user_id)) else "fold_in"
        elif u >= 0:
            path = "personal"  # this model cannot fold in: the trained row is used
        else:
            path = "fold_in"
            default = self.models[self.default]
            model = default if default.supports_fold_in else self.models["hybrid"]
        allowed, boost = build_candidates(filters, self.catalog, self._item_pos)
        boosted = bool(filters.boosts or filters.brand_boosts or filters.category_boosts)
        excluded = row.indices.astype(np.int64) if filters.exclude_seen else np.empty(0, dtype=np.int64)
        if filters.exclude_purchased:
            bought = [j for j, s in strength.items() if s >= STRENGTH["purchase"]]
            excluded = np.union1d(excluded, np.asarray(bought, dtype=np.int64))
        # seen/purchased items leave the candidate mask (same result as top_k's ``exclude`` rows,
        # without building a sparse matrix per request); ``_fill`` gets the unreduced mask
        candidates = allowed
        if len(excluded):
            candidates = allowed.copy()
            candidates[excluded] = False
        pooled = None
        if (
            path == "personal"
            and self.pools is not None
            and model is self.models.get("hybrid")
            and filters.exclude_seen
            and not boosted
        ):
            pooled = self.pools.lookup(u, k, candidates)  # exact when not None (pools module)
        kinds: list[str] | None = None
        parts: dict[str, Part] = {}
        if pooled is not None:
            idx_arr, sc_arr, kinds = pooled
            idx, sc = idx_arr.tolist(), sc_arr.tolist()
        else:
            if path == "cold_start":
                model = self.models.get("trending", model)
                scores = (
                    model.score_history(row.csr(len(self.items)))
                    if model.supports_fold_in
                    else model.score_users(np.array([0]))
                )
            elif isinstance(model, Hybrid):
                scores, parts = (
                    model.score_parts(user_idx=np.array([u]))
                    if path == "personal"
                    else model.score_row_parts(row.indices, row.data)
                )
            elif path == "personal":
                scores = model.score_users(np.array([u]))
            else:
                scores = dense_row(*model.score_row(row.indices, row.data), len(self.items))
            scores = np.asarray(scores, dtype=np.float64)
            if boosted:
                scores = apply_boost(scores, boost)
            top_idx, top_sc = top_k(scores, k, None, candidates)
            keep = top_idx[0] >= 0
            idx, sc = top_idx[0][keep].tolist(), top_sc[0][keep].tolist()
        filled = self._fill(idx, sc, k, allowed, excluded)
        recs = self._reasons(
            model, path, row, strength, session, np.asarray(idx, dtype=np.int64), parts, filters, kinds
        )
        out = [
            Recommendation(self.items.id(i), float(s), text, {**info, "path": path, "algorithm": model.name})
            for i, s, (text, info) in zip(idx, sc, recs, strict=True)
        ]
        for i in filled:
            text, info = self.explainer.popular(i, _leaf(filters.category))
            out.append(
                Recommendation(self.items.id(i), 0.0, text, {**info, "path": "fill", "algorithm": "trending"})
            )
        return RankedList(query=str(user_id), items=out)

    def _reasons(
        self,
        model: Recommender,
        path: str,
        row: History,
        strength: dict[int, int],
        session: set[int],
        targets: np.ndarray,
        parts: dict[str, Part],
        filters: RecFilters,
        kinds: list[str] | None = None,
    ) -> list[tuple[str, dict[str, Any]]]:
        """A reason per target; ``kinds`` (each target's dominant hybrid component) when already known."""
        cat = _leaf(filters.category)
        if path == "cold_start" or model.name in POPULAR:
            return [self.explainer.popular(int(i), cat, trending=model.name != "popularity") for i in targets]
        if kinds is None:
            kinds = (
                dominant_component(parts, model.weights, targets)
                if isinstance(model, Hybrid)
                else [model.name] * len(targets)
            )
        out: list[tuple[str, dict[str, Any]] | None] = [None] * len(targets)
        # one similarity pass per component that explains by "because you … X"
        for comp in sorted(set(kinds)):
            sel = np.flatnonzero(np.asarray(kinds) == comp)
            sub = model.models[comp] if isinstance(model, Hybrid) else model
            if comp in POPULAR:
                for s in sel:
                    out[s] = self.explainer.popular(int(targets[s]), cat, trending=comp != "popularity")
            elif comp == "content":
                facts = self.explainer.history_facts(row.indices)
                for s in sel:
                    out[s] = self.explainer.content(row.indices, int(targets[s]), facts)
            elif comp == "user_knn":
                for s in sel:
                    out[s] = ("customers with similar taste liked it", {"kind": "neighbours", "model": comp})
            else:
                because = self.explainer.because(sub, row, targets[sel], strength, session)
                if all(b is None for b in because) and isinstance(model, Hybrid):
                    because = self.explainer.because(model, row, targets[sel], strength, session)
                for pos, b in zip(sel.tolist(), because, strict=True):
                    out[pos] = b
        for pos, r in enumerate(out):
            if r is None and model.supports_similar:
                out[pos] = self.explainer.because(model, row, targets[pos : pos + 1], strength, session)[0]
            if out[pos] is None:
                out[pos] = self.explainer.popular(int(targets[pos]), cat)
        return [r for r in out if r is not None]

    # ---------------------------------------------------------------- item pages
    def similar_items(
        self, item_id: str, k: int = 10, filters: RecFilters | None = None, algorithm: str | None = None
    ) -> RankedList:
        """Items similar to ``item_id`` (CF neighbours blended with content; content alone for new items)."""
        i = self._item(item_id)
        filters = filters or RecFilters(exclude_seen=False)
        model = self._model(algorithm)
        if not model.supports_similar:
            model = self.models["hybrid"]
        sims = model.similar_scores(np.array([i]))[0]
        allowed, boost = build_candidates(filters, self.catalog, self._item_pos)
        allowed[i] = False
        scores = apply_boost(sims, boost)
        scores = np.where(scores > 0, scores, -np.inf)
        picked: list[int] = []
        picked_scores: list[float] = []
        bands: list[str] = []
        for band, mask in self._similar_tiers(i):
            # constrained tiers first; a wider one only fills what a narrower one could not
            idx_arr, sc_arr = top_k(scores, k - len(picked), None, allowed & mask)
            keep = idx_arr[0] >= 0
            picked += idx_arr[0][keep].tolist()
            picked_scores += sc_arr[0][keep].tolist()
            bands += [band] * int(keep.sum())
            allowed[idx_arr[0][keep]] = False
            if len(picked) >= k:
                break
        title = self.catalog.title[i]
        out = []
        for j, s, band in zip(picked, picked_scores, bands, strict=True):
            _text, info = self.explainer.content(np.array([i]), j)
            shared = info.get("matching", [])
            reason = f"similar to {title}" + (f": same {' and '.join(shared)}" if shared else "")
            facts: dict[str, Any] = {k: info[k] for k in ("brand", "category") if k in info}
            out.append(
                Recommendation(
                    self.items.id(j),
                    float(s),
                    reason,
                    {
                        "kind": "similar",
                        "similar_to": self.items.id(i),
                        "title": title,
                        "matching": shared,
                        **facts,
                        "algorithm": model.name,
                        "band": band,
                    },
                )
            )
        return RankedList(query=str(item_id), items=out)

    def _similar_tiers(self, i: int) -> list[tuple[str, np.ndarray]]:
        """Candidate masks for the items similar to row ``i``, narrowest first: same category branch
        and price band (``[recommend] similar_category_depth``, ``similar_price_ratio``), then the
        category branch alone, then every item (the fallback when too few remain)."""
        cfg, c = self.similar_settings, self.catalog
        n = len(c)
        path = c.category[i]
        depth = min(cfg.similar_category_depth, len(path))
        same_branch = c.category_mask(tuple(path[:depth])) if depth > 0 else None
        price = float(c.price[i])
        in_band = None
        if cfg.similar_price_ratio > 0 and np.isfinite(price) and price > 0:
            r = cfg.similar_price_ratio
            with np.errstate(invalid="ignore"):  # unknown prices (NaN) are outside the band
                in_band = (c.price >= price / r) & (c.price <= price * r)
        tiers: list[tuple[str, np.ndarray]] = []
        if same_branch is not None and in_band is not None:
            tiers.append(("category+price", same_branch & in_band))
        if same_branch is not None:
            tiers.append(("category", same_branch))
        elif in_band is not None:
            tiers.append(("price", in_band))
        tiers.append(("any", np.ones(n, dtype=bool)))
        return tiers

    def bought_together(self, item_id: str, k: int = 10, filters: RecFilters | None = None) -> RankedList:
        """Co-purchased items ranked by lift (min support applies); [] when nothing was co-bought."""
        i = self._item(item_id)
        filters = filters or RecFilters(exclude_seen=False)
        allowed, _ = build_candidates(filters, self.catalog, self._item_pos)
        idx, lift, sup = self.together.top(i, k, allowed)
        title = self.catalog.title[i]
        return RankedList(
            query=str(item_id),
            items=[
                Recommendation(
                    self.items.id(int(j)),
                    float(lv),
                    f"customers who bought {title} also bought this",
                    {
                        "kind": "bought_together",
                        "item": self.items.id(i),
                        "title": title,
                        "lift": float(lv),
                        "baskets": int(n),
                    },
                )
                for j, lv, n in zip(idx, lift, sup, strict=True)
            ],
        )

    def trending(
        self, k: int = 10, category: str | None = None, filters: RecFilters | None = None
    ) -> RankedList:
        """Most popular items of the last days (7-day half-life), optionally within a category prefix."""
        base = filters or RecFilters(exclude_seen=False)
        if category:
            base = base.model_copy(update={"category": category})
        allowed, _ = build_candidates(base, self.catalog, self._item_pos)
        model = self.models["trending"]
        idx, sc = model.top(k, allowed)  # type: ignore[attr-defined]
        cat = _leaf(category)
        out = []
        for i, s in zip(idx.tolist(), sc.tolist(), strict=True):
            if s <= 0:
                continue
            text, info = self.explainer.popular(i, cat)
            out.append(Recommendation(self.items.id(i), float(s), text, info))
        return RankedList(query=f"trending:{category or ''}", items=out)

    # ---------------------------------------------------------------- real time
    def observe(self, events: Iterable[Event | Mapping[str, Any]]) -> int:
        """Fold new events into their users' pending rows; returns how many were applied.

        The next ``recommend`` for such a user re-scores from the updated row (ALS user re-solve,
        EASE/item-kNN/content products) without retraining. Events on unknown items are ignored.
        """
        applied = 0
        table = self.weights.weights
        with self._lock:
            for ev in events:
                e = ev if isinstance(ev, Event) else Event.model_validate(dict(ev))
                if not e.item_id:
                    continue
                j = self._item_pos.get(e.item_id)
                if j is None:
                    continue
                kind = e.type.value
                w = float(table.get(kind, 0.0))
                if kind == "rating" and self.weights.rating_as_value and e.value is not None:
                    w *= float(e.value)
                if w <= 0:
                    continue
                row = self._pending.setdefault(e.user_id, {})
                row[j] = row.get(j, 0.0) + w
                st = self._pending_strength.setdefault(e.user_id, {})
                st[j] = max(st.get(j, 0), STRENGTH.get(kind, 1))
                applied += 1
        return applied

    def pending_users(self) -> int:
        with self._lock:
            return len(self._pending)

    def user_affinity(self, user_id: str) -> dict[str, float]:
        """Share of the user's interaction weight per ``category:<path prefix>`` and ``brand:<name>``.

        Each category level counts (``category:Electronics`` and ``category:Electronics > Audio``);
        values are in [0, 1]. Unknown users without events get ``{}``.
        """
        _, row, _, _, _ = self._history(user_id, None)
        total = float(row.data.sum())
        if total <= 0:
            return {}
        out: dict[str, float] = {}
        for j, w in zip(row.indices.tolist(), row.data.tolist(), strict=True):
            path = self.catalog.category[j]
            for depth in range(1, len(path) + 1):
                key = "category:" + " > ".join(path[:depth])
                out[key] = out.get(key, 0.0) + w
            brand = self.catalog.brand[j]
            if brand:
                out["brand:" + brand] = out.get("brand:" + brand, 0.0) + w
        return {k: round(v / total, 6) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}


def _merge_entries(
    cols: np.ndarray, vals: np.ndarray, add_cols: np.ndarray, add_vals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``(columns, values)`` of a sparse row plus new entries; a column in both gets the float32
    sum ``val + add`` (what adding the two 1×n CSR rows gives, without scipy's per-call overhead)."""
    idx = np.concatenate([np.asarray(cols, dtype=np.int64), add_cols])
    val = np.concatenate([np.asarray(vals, dtype=np.float32), add_vals])
    order = np.argsort(idx, kind="stable")
    idx, val = idx[order], val[order]
    first = np.ones(len(idx), dtype=bool)
    first[1:] = idx[1:] != idx[:-1]
    starts = np.flatnonzero(first)
    return idx[starts], np.add.reduceat(val, starts) if len(val) else val


def _leaf(category: str | None) -> str | None:
    """The last component of a category path filter ("Home > Kitchen" → "Kitchen")."""
    path = split_path(category) if category else ()
    return path[-1] if path else None


def get_model_class(name: str) -> type[Recommender]:
    """Shortcut used by the CLI (re-exported for convenience)."""
    return get_algorithm(name)
