"""Forecast training component and serving service.

``train(ctx, out_dir)`` builds daily demand series from the store (:mod:`shopmind.forecast.series`),
chooses a model per item by rolling-origin CV (:class:`~shopmind.forecast.models.AutoForecaster`),
reconciles bottom-up to categories and the total, and writes (no pickle)::

    out_dir/forecasts.parquet   unique_id, level (item|category|total), ds, step, model, mean, lo-80, hi-80, lo-95, hi-95
    out_dir/history.parquet     the last ``history_days`` of every series (unique_id, level, ds, y)
    out_dir/choice.parquet      per item: demand class, ADI, CV², chosen model, CV MASE/RMSSE, σ_e, scale
    out_dir/calibration.json    conformal error quantiles per tier (``top``, ``tail``) of the item forecasts
    out_dir/categories.json     item id → category key
    out_dir/manifest.json       config, counts, timings, model counts

Speed on a large catalogue: the ``top_n`` best sellers (units over the last 90 days) get the full
candidate set (Naive, SeasonalNaive, AutoETS, AutoTheta, Combo; Croston family for intermittent
items); the tail is still chosen per item by CV, over one window (``tail_windows``), among cheap
candidates (SeasonalNaive and the plain Theta method for smooth items, CrostonSBA/ADIDA/IMAPA/TSB
for intermittent ones). CV and refit use the last ``input_size`` days.
On unchanged series and settings the previous result is reused (:func:`remembered_fit_store`).
``ForecastService.load(path, store)`` serves the artifacts; stock and price for inventory advice
are read from the store at call time, so advice follows stock changes without retraining.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopmind.capability import TrainContext, progress_of
from shopmind.config import ForecastTrainConfig
from shopmind.data import setaside
from shopmind.errors import ArtifactError, ConfigError, DataError, UnknownIdError
from shopmind.forecast.inventory import InventoryPolicy, advise_item, pack_size_of
from shopmind.forecast.models import AutoForecaster, Calibration, ForecastConfig, ForecastResult
from shopmind.forecast.reconcile import bottom_up
from shopmind.forecast.series import CATEGORY_PREFIX, TOTAL_ID, DemandSeries, category_key, series_from_store
from shopmind.store.base import Store
from shopmind.train_cache import ChoiceCache, Fingerprint, choice_folder, code_digest, library_versions

log = logging.getLogger(__name__)

NAME = "forecast"
FORMAT_VERSION = 1


def full_config(cfg: ForecastTrainConfig) -> ForecastConfig:
    """The top sellers' model choice: Naive, SeasonalNaive, AutoETS, AutoTheta and their Combo."""
    season = 7 if cfg.freq == "D" else 52
    return ForecastConfig(
        freq="D" if cfg.freq == "D" else "W-SUN",
        season_length=season,
        horizon=cfg.horizon,
        n_windows=cfg.n_windows,
        input_size=cfg.input_size,
        on_short="fallback",
        benchmark_fallback=cfg.benchmark_fallback,
        # The shop tier keeps the ETS + Theta set that was timed on daily data (AutoCES, in the
        # library default for the monthly benchmarks, has not been timed on 1,000 daily series).
        smooth_models=("Naive", "SeasonalNaive", "AutoETS", "AutoTheta", "Combo"),
        combo_models=("AutoETS", "AutoTheta"),
    )


def tail_config(cfg: ForecastTrainConfig) -> ForecastConfig:
    """The other items' choice: cheap candidates over ``tail_windows`` windows."""
    # Speed: one CV window (the choice is pooled half-way to the tier's median anyway) and the
    # plain Theta method instead of AutoTheta.
    return full_config(cfg).model_copy(
        update={
            "n_windows": cfg.tail_windows,
            "smooth_models": ("SeasonalNaive", "Theta"),
            "intermittent_models": ("SeasonalNaive", "CrostonSBA", "ADIDA", "IMAPA", "TSB"),
        }
    )


def _threads(ctx: Any) -> int:
    n = int(getattr(getattr(ctx.settings, "training", None), "threads", 0) or 0)
    return n if n > 0 else max(1, os.cpu_count() or 1)


@dataclass
class StoreForecast:
    """In-memory result of :func:`fit_store` (what ``train`` writes and ``load`` reads)."""

    forecasts: pd.DataFrame
    history: pd.DataFrame
    choice: pd.DataFrame
    calibration: dict[str, Calibration]
    category_of: dict[str, str]
    info: dict[str, Any]


def fit_store(
    series: DemandSeries,
    config: ForecastTrainConfig | None = None,
    *,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> StoreForecast:
    """Choose, fit and forecast every item of ``series``; reconcile bottom-up; no file I/O.

    ``progress(done, total)``: item series fitted so far, after each tier (best sellers, the rest).
    """
    cfg = config or ForecastTrainConfig()
    started = time.perf_counter()
    items = series.items[["unique_id", "ds", "y"]]
    if items.empty:
        raise DataError(
            "no sales history in the store to forecast from",
            value=0,
            expected="sales rows (shopmind ingest sales FILE) or orders",
        )
    end = items["ds"].max()
    recent = items[items["ds"] > end - pd.Timedelta(days=90)].groupby("unique_id")["y"].sum()
    ranked = recent.sort_values(ascending=False, kind="stable")
    head_ids = set(ranked.index[: cfg.top_n])
    tail_ids = set(items["unique_id"].unique()) - head_ids
    results: list[ForecastResult] = []
    calibrations: dict[str, Calibration] = {}
    n_series, fitted = len(head_ids) + len(tail_ids), 0
    if progress is not None:
        progress(0, n_series)
    for ids, fcfg, tag in ((head_ids, full_config(cfg), "top"), (tail_ids, tail_config(cfg), "tail")):
        if not ids:
            continue
        r = AutoForecaster(fcfg, n_jobs=n_jobs).fit(items[items["unique_id"].isin(ids)])
        r.choice["tier"] = tag
        results.append(r)
        calibrations[tag] = r.calibration
        log.info("forecast tier %s: %d items in %.1fs", tag, len(ids), r.seconds)
        fitted += len(ids)
        if progress is not None:
            progress(fitted, n_series)
    merged = ForecastResult(
        forecasts=pd.concat([r.forecasts for r in results], ignore_index=True),
        choice=pd.concat([r.choice for r in results], ignore_index=True),
        cv=pd.concat([r.cv for r in results if not r.cv.empty], ignore_index=True)
        if any(not r.cv.empty for r in results)
        else results[0].cv,
        calibration=results[0].calibration,
        config=full_config(cfg),
    )
    agg = bottom_up(merged, items, series.category_of)
    fc = pd.concat([merged.forecasts.assign(level="item"), agg], ignore_index=True)
    hist_start = end - pd.Timedelta(days=cfg.history_days)
    agg_hist = series.hierarchy()
    agg_hist = agg_hist[agg_hist["ds"] > hist_start].copy()
    agg_hist["level"] = np.where(
        agg_hist["unique_id"] == TOTAL_ID,
        "total",
        np.where(agg_hist["unique_id"].str.startswith(CATEGORY_PREFIX), "category", "item"),
    )
    info = {
        "config": cfg.model_dump(),
        "n_items": len(merged.choice),
        "n_top": len(head_ids),
        "n_tail": len(tail_ids),
        "n_categories": int((agg["level"] == "category").sum() // max(cfg.horizon, 1)),
        "history_end": str(end.date()),
        "demand_source": series.source,
        "models": {str(k): int(v) for k, v in merged.choice["model"].value_counts().items()},
        "demand_classes": {str(k): int(v) for k, v in merged.choice["demand_class"].value_counts().items()},
        "seconds": round(time.perf_counter() - started, 3),
    }
    return StoreForecast(fc, agg_hist, merged.choice, calibrations, series.category_of, info)


def train(ctx: TrainContext, out_dir: Path, config: ForecastTrainConfig | None = None) -> dict[str, Any]:
    """Training component (see the module docstring): store → artifacts under ``out_dir``.

    ``config``: what to fit; None = the ``[forecast]`` section of the settings.
    """
    from shopmind.store.artifacts import save_json

    cfg = config or ctx.settings.forecast
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx.progress("forecast: building demand series")
    aside = setaside.SetAside("forecast")  # unreadable stored sales, orders and items are left out
    series = series_from_store(
        ctx.store, freq="D" if cfg.freq == "D" else "W", category_level=cfg.category_level, set_aside=aside
    )
    summary = aside.summary()
    setaside.write_summary(out_dir, summary)
    if series.items.empty:
        log.warning("forecast: the store has no sales, orders or purchase events; no forecasts trained")
        info = {"n_items": 0, "note": "no sales history", "format_version": FORMAT_VERSION}
        save_json(out_dir / "manifest.json", info)
        return info | {"set_aside": summary}
    ctx.progress(f"forecast: choosing models for {series.items['unique_id'].nunique()} items")
    steps = progress_of(ctx)
    artifacts_dir = getattr(ctx.settings, "artifacts_dir", None)  # None: a bare context, no cache
    sf = remembered_fit_store(
        None if artifacts_dir is None else ChoiceCache(choice_folder(artifacts_dir), "forecast"),
        series,
        cfg,
        n_jobs=_threads(ctx),
        progress=lambda done, total: steps.count(done, total, "series"),
        message=ctx.progress,
    )
    _write(sf, out_dir)
    keys = ("n_items", "n_top", "n_tail", "models", "history_end", "demand_source")
    return {k: v for k, v in sf.info.items() if k in keys} | {"set_aside": summary}


FIT_LIBRARIES = ("statsforecast", "numpy", "pandas", "scipy", "numba")
"""Libraries whose version can change a forecast (part of :func:`forecast_key`)."""


def forecast_key(series: DemandSeries, cfg: ForecastTrainConfig) -> str:
    """SHA-256 of everything :func:`fit_store` reads: the item series (``unique_id, ds, y``), the
    category map, the demand source, the settings, the fitting libraries' versions and the code of
    ``shopmind.forecast``."""
    fp = Fingerprint("forecast")
    fp.add_json(
        {
            "format": FORMAT_VERSION,
            "config": cfg.model_dump(mode="json"),
            "freq": series.freq,
            "source": series.source,
            "category_of": series.category_of,
            "libraries": library_versions(FIT_LIBRARIES),
            "code": code_digest("forecast"),
        }
    )
    return fp.add_frame(series.items[["unique_id", "ds", "y"]].reset_index(drop=True)).hexdigest()


def remembered_fit_store(
    cache: ChoiceCache | None,
    series: DemandSeries,
    cfg: ForecastTrainConfig,
    *,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    message: Callable[[str], None] | None = None,
) -> StoreForecast:
    """:func:`fit_store`, or its result on the same inputs (``cache``'s entry under :func:`forecast_key`).

    The model choice, the fits and the forecasts are a deterministic function of those inputs (the
    same series and settings give identical files), so an unchanged shop reuses them instead of
    cross-validating and refitting every series again; any new sale, item, category or setting is a
    new key. ``info["reused"]`` says which happened.
    """
    started = time.perf_counter()
    key = forecast_key(series, cfg)
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        doc, tables = hit
        try:
            sf = StoreForecast(
                forecasts=tables["forecasts"],
                history=tables["history"],
                choice=tables["choice"],
                calibration={t: Calibration.from_json(c) for t, c in doc["calibration"].items()},
                category_of=dict(doc["category_of"]),
                info={
                    **doc["info"],
                    "seconds": round(time.perf_counter() - started, 3),
                    "reused": True,
                    "key": key[:16],
                },
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("forecast: remembered result %s unusable (%s); fitting again", key[:16], exc)
        else:
            n = len(sf.choice)
            if progress is not None:
                progress(n, n)
            if message is not None:
                message(
                    f"forecast: same series and settings as a previous training: its {n} forecasts reused"
                )
            log.info("forecast: reused the result for the same series and settings (key %s)", key[:16])
            return sf
    sf = fit_store(series, cfg, n_jobs=n_jobs, progress=progress)
    if cache is not None:
        try:
            cache.put(
                key,
                {
                    "calibration": {t: c.to_json() for t, c in sf.calibration.items()},
                    "category_of": sf.category_of,
                    "info": sf.info,
                },
                {"forecasts": sf.forecasts, "history": sf.history, "choice": sf.choice},
            )
        except OSError as exc:  # a read-only or full disk costs the next training time, nothing else
            log.warning("forecast: could not remember the result (%s)", exc)
    sf.info = {**sf.info, "reused": False}
    return sf


def _write(sf: StoreForecast, out_dir: Path) -> None:
    from shopmind.store.artifacts import save_json

    sf.forecasts.to_parquet(out_dir / "forecasts.parquet", index=False)
    sf.history.to_parquet(out_dir / "history.parquet", index=False)
    sf.choice.to_parquet(out_dir / "choice.parquet", index=False)
    save_json(out_dir / "calibration.json", {tier: cal.to_json() for tier, cal in sf.calibration.items()})
    save_json(out_dir / "categories.json", sf.category_of)
    save_json(out_dir / "manifest.json", {**sf.info, "format_version": FORMAT_VERSION})


class ForecastService:
    """Serve forecasts and inventory advice from trained artifacts (or a live :class:`StoreForecast`)."""

    def __init__(self, data: StoreForecast, store: Any | None = None) -> None:
        self.data = data
        self.store = store
        self._set_aside: dict[str, Any] = {"count": 0, "by_kind": {}, "items": []}
        self.horizon = int(data.info.get("config", {}).get("horizon", 0)) or int(data.forecasts["step"].max())
        freq = data.info.get("config", {}).get("freq", "D")
        self.period_days = 1.0 if freq == "D" else 7.0
        self._choice = data.choice.set_index("unique_id", drop=False)
        self._fc = {k: g for k, g in data.forecasts.groupby("unique_id", sort=False)}
        self._hist = {k: g for k, g in data.history.groupby("unique_id", sort=False)}

    @classmethod
    def load(cls, path: Path, store: Store | None = None, **_: Any) -> ForecastService:
        from shopmind.store.artifacts import load_json

        path = Path(path)
        info = load_json(path / "manifest.json")
        if int(info.get("format_version", 0)) != FORMAT_VERSION:
            raise ArtifactError(
                "forecast artifacts of another format",
                value=info.get("format_version"),
                expected=str(FORMAT_VERSION),
            )
        if info.get("n_items", 0) == 0:
            raise ArtifactError(
                "forecast artifacts hold no series (the store had no sales when trained)",
                value=str(path),
                expected="a training run on a store with sales",
            )
        data = StoreForecast(
            forecasts=pd.read_parquet(path / "forecasts.parquet"),
            history=pd.read_parquet(path / "history.parquet"),
            choice=pd.read_parquet(path / "choice.parquet"),
            calibration={
                tier: Calibration.from_json(c) for tier, c in load_json(path / "calibration.json").items()
            },
            category_of=load_json(path / "categories.json"),
            info=info,
        )
        service = cls(data, store)
        service._set_aside = setaside.read_summary(path)
        return service

    def set_aside_summary(self) -> dict[str, Any]:
        """Stored records the training of these forecasts left out (:mod:`shopmind.data.setaside`)."""
        return self._set_aside

    @classmethod
    def live(
        cls, store: Any, config: ForecastTrainConfig | None = None, *, n_jobs: int = 1
    ) -> ForecastService:
        """Fit from the store now (no artifacts): for notebooks and ``shopmind forecast --live``."""
        cfg = config or ForecastTrainConfig()
        series = series_from_store(
            store, freq="D" if cfg.freq == "D" else "W", category_level=cfg.category_level
        )
        return cls(fit_store(series, cfg, n_jobs=n_jobs), store)

    # --- queries ------------------------------------------------------------------------------------

    def _series_id(self, item_id: str | None, category: str | None) -> str:
        if item_id is not None and category is not None:
            raise ConfigError("give an item or a category, not both", value=(item_id, category))
        if item_id is not None:
            if item_id not in self._fc:
                known = self.store is not None and self.store.get_item(item_id) is not None
                raise UnknownIdError(
                    f"no forecast for item {item_id!r}"
                    + (" (it has no sales history yet)" if known else " (unknown item)"),
                    value=item_id,
                    expected="an item with sales history at the last training",
                )
            return item_id
        if category is not None:
            key = (
                category if category.startswith(CATEGORY_PREFIX) else CATEGORY_PREFIX + category_key(category)
            )
            if key not in self._fc:
                cats = sorted(
                    k.removeprefix(CATEGORY_PREFIX) for k in self._fc if k.startswith(CATEGORY_PREFIX)
                )
                raise UnknownIdError(
                    f"no forecast for category {category!r}", value=category, expected=f"one of {cats[:20]}"
                )
            return key
        return TOTAL_ID

    def forecast(
        self,
        item_id: str | None = None,
        category: str | None = None,
        horizon: int | None = None,
        *,
        service_level: float = 0.95,
        lead_time_days: float = 7.0,
    ) -> dict[str, Any]:
        """History, forecast mean, 80/95 % intervals, model and (items) the reorder point.

        With neither ``item_id`` nor ``category`` the shop total is returned.
        """
        sid = self._series_id(item_id, category)
        h = self.horizon if horizon is None else int(horizon)
        if not 1 <= h <= self.horizon:
            raise ConfigError(
                "forecast horizon beyond the trained horizon",
                value=h,
                expected=f"1..{self.horizon} (retrain for more)",
            )
        fc = self._fc[sid].sort_values("step").head(h)
        hist = self._hist.get(sid, pd.DataFrame(columns=["ds", "y"]))
        level = str(fc["level"].iloc[0])
        out: dict[str, Any] = {
            "id": item_id or (category if category is not None else "total"),
            "level": level,
            "model": str(fc["model"].iloc[0]),
            "horizon": h,
            "history": [
                {"ds": str(pd.Timestamp(d).date()), "y": float(y)}
                for d, y in zip(hist["ds"], hist["y"], strict=True)
            ],
            "forecast": [
                {
                    "ds": str(pd.Timestamp(r["ds"]).date()),
                    "mean": float(r["mean"]),
                    **{
                        # None where no interval could be calibrated (e.g. no series long enough for CV)
                        f"{s}_{lv}": None if pd.isna(r[f"{s}-{lv}"]) else float(r[f"{s}-{lv}"])
                        for lv in (80, 95)
                        if f"lo-{lv}" in fc.columns
                        for s in ("lo", "hi")
                    },
                }
                for _, r in fc.iterrows()
            ],
        }
        if level == "item":
            ch = self._choice.loc[sid]
            out["demand_class"] = str(ch["demand_class"])
            out["selection"] = str(ch["selection"])
            out["cv_mase"] = None if pd.isna(ch["cv_mase"]) else float(ch["cv_mase"])
            advice = self._advise(
                sid,
                InventoryPolicy(service_level=service_level, lead_time_days=lead_time_days),
                self._items(),
            )
            out["reorder_point"] = advice["reorder_point"]
            out["inventory"] = advice
        return out

    def _items(self) -> pd.DataFrame:
        if self.store is None:
            return pd.DataFrame(columns=["stock", "price", "pack_size"])
        items = self.store.items_frame()
        attrs = items["attributes"] if "attributes" in items.columns else pd.Series([None] * len(items))
        packs = np.fromiter((pack_size_of(a) for a in attrs), dtype=np.int64, count=len(items))
        return items.assign(id=items["id"].astype(str), pack_size=packs).set_index("id")[
            ["stock", "price", "pack_size"]
        ]

    def _sigma(self, sid: str) -> tuple[float, str]:
        ch = self._choice.loc[sid]
        sd = ch.get("error_sd", np.nan)
        if pd.notna(sd):
            return float(sd), "rolling-origin CV errors of the chosen model (RMS)"
        # not cross-validated (short history): σ ≈ 1.25 · MAE for normal errors, MAE ≈ seasonal-naive MAE
        return 1.25 * float(ch["scale_mae"]), "1.25 × seasonal-naive MAE (too short for CV)"

    def _advise(self, sid: str, policy: InventoryPolicy, items: pd.DataFrame) -> dict[str, Any]:
        path = self._fc[sid].sort_values("step")["mean"].to_numpy()
        stock = price = None
        pack = 1
        if sid in items.index:
            s, p = items.at[sid, "stock"], items.at[sid, "price"]
            stock = None if pd.isna(s) else float(s)
            price = None if pd.isna(p) else float(p)
            if "pack_size" in items.columns:
                pack = int(items.at[sid, "pack_size"])
        sigma, source = self._sigma(sid)
        return advise_item(
            item_id=sid,
            forecast_path=path,
            sigma=sigma,
            stock=stock,
            price=price,
            policy=policy,
            period_days=self.period_days,
            sigma_source=source,
            pack_size=pack,
        )

    def inventory(
        self,
        service_level: float = 0.95,
        lead_time_days: float = 7.0,
        *,
        review_period_days: float = 0.0,
        ordering_cost: float = 50.0,
        holding_rate: float = 0.25,
        overstock_days: float = 90.0,
        status: str | None = None,
        item_ids: list[str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Advice per forecast item, riskiest first (stock-out risk by days of cover, then overstock)."""
        policy = InventoryPolicy(
            service_level=service_level,
            lead_time_days=lead_time_days,
            review_period_days=review_period_days,
            ordering_cost=ordering_cost,
            holding_rate=holding_rate,
            overstock_days=overstock_days,
        )
        items = self._items()
        ids = item_ids if item_ids is not None else list(self._choice.index)
        for i in ids:
            if i not in self._choice.index:
                raise UnknownIdError(
                    f"no forecast for item {i!r}", value=i, expected="an item with sales history"
                )
        rows = [self._advise(i, policy, items) for i in ids]
        if status is not None:
            rows = [r for r in rows if r["status"] == status]
        order = {"stockout_risk": 0, "overstock": 1, "ok": 2, "unknown_stock": 3}

        def key(r: dict[str, Any]) -> tuple[int, float]:
            cover = r["days_of_cover"] if r["days_of_cover"] is not None else np.inf
            return (order[r["status"]], cover if r["status"] != "overstock" else -cover)

        rows.sort(key=key)
        return rows[:limit] if limit else rows
