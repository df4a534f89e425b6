"""Per-series model choice by rolling-origin cross-validation, with calibrated intervals.

Pipeline (:class:`AutoForecaster`):

1. **Classify** every series by the Syntetos–Boylan–Croston scheme (Syntetos, Boylan & Croston 2005,
   "On the categorization of demand patterns", JORS 56): ``ADI`` = periods / non-zero periods,
   ``CV²`` = (sd / mean)² of the non-zero demand sizes. Smooth: ADI < 1.32 and CV² < 0.49; erratic:
   ADI < 1.32, CV² ≥ 0.49; intermittent: ADI ≥ 1.32, CV² < 0.49; lumpy: both above. A series with no
   demand at all is ``zero`` (forecast 0, no model is fitted). An intermittent or lumpy series with
   strong seasonality — seasonal strength F_S = max(0, 1 − Var(R)/Var(S + R)) of a classical
   decomposition above 0.64 (Wang, Smith & Hyndman 2006; the threshold of feasts'
   ``unitroot_nsdiffs``) over at least two seasons — is ``seasonal``: its zeros are an off-season,
   which Croston-type models (constant demand rate) cannot forecast.
2. **Candidates** per class: smooth and seasonal → Naive, SeasonalNaive, AutoETS, AutoTheta, AutoCES
   (complex exponential smoothing, Svetunkov & Kourentzes; AutoARIMA on request) plus ``Combo``
   (equal-weight mean of AutoETS, AutoTheta and AutoCES, the M4 lesson that simple combinations are
   robust); intermittent / lumpy → SeasonalNaive, CrostonOptimized, TSB, ADIDA, IMAPA; erratic → both
   sets.
3. **Rolling-origin cross-validation** (statsforecast ``cross_validation``, refit at every origin)
   over ``n_windows`` windows of ``horizon`` periods, ``step_size`` apart. Each candidate's score is
   its mean scaled error over the windows: MASE = mean|e| / s₁ or RMSSE = sqrt(mean e² / s₂) where
   s₁ = mean|y_t − y_{t−m}| and s₂ = mean (y_t − y_{t−m})² over the data *before* that window
   (m = season length; Hyndman & Koehler 2006). Defaults: RMSSE, 3 windows, and each series'
   score shrunk half-way to the model's median score over the series of its group
   (``pooling=0.5``; a per-series choice from three windows is noisy). The lowest score wins;
   ties go to the simpler model (candidate order). With ``benchmark_fallback`` a series on which no
   candidate beats SeasonalNaive (the benchmark) on its own mean score over the windows gets
   SeasonalNaive; it is off by default, because three windows are too few to trust one series'
   own evidence over the pooled choice (docs/benchmarks.md, forecast).
4. **Intervals**: split-conformal on the same cross-validation errors (Vovk et al. 2005; Stankeviciute
   et al. 2021 for multi-step): for each class group, model and horizon step k the signed scaled
   errors ε = (y − ŷ)/s₁ are pooled across series and windows, and the interval at level 1 − α is
   ``ŷ + s₁·[q_{α/2}(ε), q_{1−α/2}(ε)]`` with the finite-sample rank ⌈(n+1)·p⌉. With fewer than
   ``min_calibration`` errors per step, steps are pooled after dividing by √k (random-walk growth)
   and widths are multiplied back by √k. ``interval_method="model"`` uses statsforecast's model
   intervals instead, where the model has them (Croston family does not: conformal there).
   Non-negative series (demand) get their lower bound clipped at 0.
5. **Refit** the chosen model of every series on its full history and forecast ``horizon`` ahead.

Rolling-origin choice never sees data after the origin it forecasts from; ``backtest`` relies on
that to choose models for each test window from earlier windows only.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shopmind.errors import ConfigError, DataError, Location

log = logging.getLogger(__name__)

SMOOTH_MODELS: tuple[str, ...] = ("Naive", "SeasonalNaive", "AutoETS", "AutoTheta", "AutoCES", "Combo")
INTERMITTENT_MODELS: tuple[str, ...] = ("SeasonalNaive", "CrostonOptimized", "TSB", "ADIDA", "IMAPA")
ALL_MODELS: tuple[str, ...] = (
    "Naive",
    "SeasonalNaive",
    "HistoricAverage",
    "AutoETS",
    "AutoTheta",
    "Theta",
    "AutoARIMA",
    "AutoCES",
    "CrostonOptimized",
    "CrostonSBA",
    "TSB",
    "ADIDA",
    "IMAPA",
    "Combo",
)
COMBO_PARTS: tuple[str, ...] = ("AutoETS", "AutoTheta", "AutoCES")
"""Default members of ``Combo`` (equal-weight mean; ``ForecastConfig.combo_models``)."""
MODEL_INTERVALS = frozenset(
    {"Naive", "SeasonalNaive", "HistoricAverage", "AutoETS", "AutoTheta", "Theta", "AutoARIMA", "AutoCES"}
)
"""Models for which statsforecast computes intervals from the model itself."""

DemandClass = Literal["smooth", "erratic", "intermittent", "lumpy", "seasonal", "zero"]
ADI_CUT = 1.32
CV2_CUT = 0.49
SEASONAL_STRENGTH_CUT = 0.64
BENCHMARK = "SeasonalNaive"


class ForecastConfig(BaseModel):
    """Hyper-parameters of :class:`AutoForecaster` (runtime: ``n_jobs``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    freq: str = Field(default="D", description="pandas frequency of the series: D, W-SUN, MS, ...")
    season_length: int = Field(default=7, ge=1)
    horizon: int = Field(default=28, ge=1)
    n_windows: int = Field(default=3, ge=1, description="rolling-origin windows used to choose models")
    calibration_windows: int | None = Field(
        default=None,
        ge=1,
        description="windows whose errors calibrate the conformal intervals (None = n_windows); more "
        "than n_windows adds earlier origins to the CV run, the choice still uses the last n_windows",
    )
    step_size: int | None = Field(default=None, ge=1, description="periods between origins (default horizon)")
    input_size: int | None = Field(
        default=None, ge=2, description="fit on at most this many latest periods (speed; None = all)"
    )
    levels: tuple[int, ...] = (80, 95)
    smooth_models: tuple[str, ...] = SMOOTH_MODELS
    intermittent_models: tuple[str, ...] = INTERMITTENT_MODELS
    combo_models: tuple[str, ...] = Field(
        default=COMBO_PARTS, min_length=2, description="models averaged (equal weights) into Combo"
    )
    selection_metric: Literal["mase", "rmsse"] = "rmsse"
    intermittent_metric: Literal["mase", "rmsse"] = Field(
        default="rmsse",
        description="intermittent/lumpy series: absolute error favours an all-zero forecast, squared error the mean rate",
    )
    pooling: float = Field(
        default=0.5, ge=0.0, le=1.0, description="shrink per-series CV scores towards the group median"
    )
    benchmark_fallback: bool = Field(
        default=False,
        description="SeasonalNaive for a series on which no candidate beats it in its own CV windows "
        "(measured in docs/benchmarks.md, Generalisation)",
    )
    interval_method: Literal["conformal", "model"] = "conformal"
    min_calibration: int = Field(default=50, ge=5)
    min_history: int = Field(default=3, ge=1, description="fewer observations: see on_short")
    on_short: Literal["error", "fallback"] = "error"
    tsb_alpha: tuple[float, float] = (0.1, 0.1)
    nonnegative: bool | None = Field(default=None, description="clip at 0; None = when all y >= 0")

    @model_validator(mode="after")
    def _check(self) -> ForecastConfig:
        for name in (*self.smooth_models, *self.intermittent_models, *self.combo_models):
            if name not in ALL_MODELS or (name == "Combo" and name in self.combo_models):
                raise ConfigError("unknown forecasting model", value=name, expected=f"one of {ALL_MODELS}")
        for lv in self.levels:
            if not 0 < lv < 100:
                raise ConfigError("interval level out of range", value=lv, expected="0 < level < 100")
        return self

    @property
    def step(self) -> int:
        return self.step_size or self.horizon

    @property
    def cv_windows(self) -> int:
        """Rolling-origin windows of the CV run: enough for both the choice and the calibration."""
        return max(self.n_windows, self.calibration_windows or self.n_windows)

    def with_enough_calibration(self, n_series: int) -> ForecastConfig:
        """Fill an unset ``calibration_windows`` so the widest interval is attainable.

        The finite-sample conformal bound of a two-sided level 1 − α is the ⌈(n + 1)(1 − α/2)⌉-th
        smallest of n errors, which exists only when n ≥ 2/α − 1 (39 errors for 95 %). With few
        series (one monthly series, h = 12: 36 errors from 3 windows) earlier windows are added for
        calibration only; the model choice still uses the last ``n_windows``.
        """
        if self.calibration_windows is not None or not self.levels:
            return self
        alpha = 1 - max(self.levels) / 100
        needed = math.ceil(2 / alpha - 1)
        windows = max(self.n_windows, math.ceil(needed / (max(1, n_series) * self.horizon)))
        return self if windows == self.n_windows else self.model_copy(update={"calibration_windows": windows})

    def candidates(self, demand_class: str) -> tuple[str, ...]:
        """Models cross-validated for a demand class (``seasonal`` gets the smooth set)."""
        if demand_class in ("intermittent", "lumpy"):
            return self.intermittent_models
        if demand_class == "erratic":
            return tuple(dict.fromkeys((*self.smooth_models, *self.intermittent_models)))
        return self.smooth_models


def make_model(name: str, season_length: int, tsb_alpha: tuple[float, float] = (0.1, 0.1)) -> Any:
    """The statsforecast model called ``name`` (the alias is the name, so output columns match)."""
    from statsforecast import models as sfm

    m = max(int(season_length), 1)
    # alias = our name: output columns must match (AutoCES would otherwise be called "CES")
    factories: dict[str, Any] = {
        "Naive": lambda: sfm.Naive(alias="Naive"),
        "SeasonalNaive": lambda: sfm.SeasonalNaive(season_length=m, alias="SeasonalNaive"),
        "HistoricAverage": lambda: sfm.HistoricAverage(alias="HistoricAverage"),
        "AutoETS": lambda: sfm.AutoETS(season_length=m, alias="AutoETS"),
        "AutoTheta": lambda: sfm.AutoTheta(season_length=m, alias="AutoTheta"),
        # the standard Theta method only (Assimakopoulos & Nikolopoulos 2000): ≈ 6× cheaper than
        # AutoTheta, which fits four Theta variants
        "Theta": lambda: sfm.Theta(season_length=m, alias="Theta"),
        "AutoARIMA": lambda: sfm.AutoARIMA(season_length=m, alias="AutoARIMA"),
        "AutoCES": lambda: sfm.AutoCES(season_length=m, alias="AutoCES"),
        "CrostonOptimized": lambda: sfm.CrostonOptimized(alias="CrostonOptimized"),
        "CrostonSBA": lambda: sfm.CrostonSBA(alias="CrostonSBA"),
        "TSB": lambda: sfm.TSB(alpha_d=tsb_alpha[0], alpha_p=tsb_alpha[1], alias="TSB"),
        "ADIDA": lambda: sfm.ADIDA(alias="ADIDA"),
        "IMAPA": lambda: sfm.IMAPA(alias="IMAPA"),
    }
    if name not in factories:
        raise ConfigError(
            "no statsforecast model of that name", value=name, expected=f"one of {sorted(factories)}"
        )
    return factories[name]()


def _fit_names(names: Iterable[str], combo_parts: Sequence[str] = COMBO_PARTS) -> list[str]:
    """Models statsforecast must fit for ``names`` (``Combo`` needs its parts)."""
    out: list[str] = []
    for n in names:
        for part in combo_parts if n == "Combo" else (n,):
            if part not in out:
                out.append(part)
    return out


# --- input checks and classification ---------------------------------------------------------------


def validate_long(df: pd.DataFrame) -> pd.DataFrame:
    """Check a long ``unique_id, ds, y`` frame; returns it sorted with ``ds`` as datetime."""
    missing = {"unique_id", "ds", "y"} - set(df.columns)
    if missing:
        raise DataError("series frame lacks columns", value=sorted(missing), expected="unique_id, ds, y")
    out = df[["unique_id", "ds", "y"]].copy()
    out["unique_id"] = out["unique_id"].astype(str)
    out["ds"] = pd.to_datetime(out["ds"])
    out["y"] = pd.to_numeric(out["y"], errors="coerce").astype(float)
    bad = ~np.isfinite(out["y"].to_numpy())
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"series {out['unique_id'].iloc[i]!r} at {out['ds'].iloc[i]}: missing or non-numeric value",
            value=df["y"].iloc[i],
            expected="a finite number (fill gaps first; a day without sales is 0)",
            location=Location(field="y", line=i + 1),
        )
    dup = out.duplicated(["unique_id", "ds"], keep=False).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataError(
            f"series {out['unique_id'].iloc[i]!r} has duplicate dates",
            value=str(out["ds"].iloc[i]),
            expected="one value per (unique_id, ds)",
            location=Location(field="ds", line=i + 1),
        )
    return out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)


def seasonal_strength(y: np.ndarray, season_length: int) -> float:
    """F_S = max(0, 1 − Var(R) / Var(S + R)) of a classical additive decomposition (Wang, Smith &
    Hyndman 2006; Hyndman & Athanasopoulos, FPP3 §4.3); 0 with fewer than two full seasons.

    Trend T: the centred moving average of length m (2×m for even m); S: the mean of y − T per
    position in the season, centred; R = y − T − S over the periods where T is defined. Classical
    rather than STL decomposition: a vectorised numpy pass per series, no per-series model fit.
    """
    m = int(season_length)
    n = len(y)
    if m < 2 or n < 2 * m:
        return 0.0
    y = np.asarray(y, dtype=float)
    if m % 2:
        kernel = np.full(m, 1.0 / m)
    else:
        kernel = np.r_[0.5, np.ones(m - 1), 0.5] / m
    trend = np.convolve(y, kernel, mode="valid")
    lo = (len(kernel) - 1) // 2
    detr = y[lo : lo + len(trend)] - trend
    phase = (np.arange(len(detr)) + lo) % m
    means = np.bincount(phase, weights=detr, minlength=m) / np.maximum(np.bincount(phase, minlength=m), 1)
    seasonal = (means - means.mean())[phase]
    remainder = detr - seasonal
    total = np.var(seasonal + remainder)
    if total <= 0:
        return 0.0
    return float(max(0.0, 1.0 - np.var(remainder) / total))


def classify_demand(df: pd.DataFrame, season_length: int = 1) -> pd.DataFrame:
    """ADI, CV² and the Syntetos–Boylan class per series; index ``unique_id``.

    Columns: ``n`` (periods), ``nonzero``, ``adi`` = n / nonzero, ``cv2`` = (sd/mean)² of non-zero
    sizes (population sd), ``mean`` (all periods), ``seasonal_strength`` (:func:`seasonal_strength`,
    computed for the intermittent and lumpy series only, else 0) and ``demand_class`` (an
    intermittent or lumpy series above :data:`SEASONAL_STRENGTH_CUT` is ``seasonal``).
    """
    y = df["y"].to_numpy(dtype=float)
    nz = y != 0
    g = pd.DataFrame(
        {"unique_id": df["unique_id"].to_numpy(), "y": y, "nz": nz, "ynz": np.where(nz, y, np.nan)}
    )
    agg = g.groupby("unique_id", sort=False).agg(
        n=("y", "size"), nonzero=("nz", "sum"), mean=("y", "mean"), mnz=("ynz", "mean"), snz=("ynz", "std")
    )
    # population sd of non-zero sizes: pandas' std is the sample sd (ddof=1)
    k = agg["nonzero"].to_numpy(dtype=float)
    sd = agg["snz"].fillna(0.0).to_numpy() * np.sqrt(np.where(k > 1, (k - 1) / np.maximum(k, 1), 0.0))
    mnz = agg["mnz"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        adi = np.where(k > 0, agg["n"].to_numpy() / np.maximum(k, 1), np.inf)
        cv2 = np.where((k > 0) & (mnz != 0), (sd / np.abs(mnz)) ** 2, 0.0)
    cls = np.where(
        k == 0,
        "zero",
        np.where(
            adi < ADI_CUT,
            np.where(cv2 < CV2_CUT, "smooth", "erratic"),
            np.where(cv2 < CV2_CUT, "intermittent", "lumpy"),
        ),
    )
    strength = np.zeros(len(agg))
    sparse = np.isin(cls, ("intermittent", "lumpy"))
    if season_length >= 2 and sparse.any():
        values = dict(tuple(g.groupby("unique_id", sort=False)["y"]))
        ids = agg.index.to_numpy()
        for i in np.flatnonzero(sparse):
            strength[i] = seasonal_strength(values[ids[i]].to_numpy(), season_length)
        cls = np.where(sparse & (strength > SEASONAL_STRENGTH_CUT), "seasonal", cls)
    return pd.DataFrame(
        {
            "n": agg["n"],
            "nonzero": k.astype(int),
            "adi": adi,
            "cv2": cv2,
            "mean": agg["mean"],
            "seasonal_strength": strength,
            "demand_class": cls,
        },
        index=agg.index,
    )


def class_group(demand_class: str) -> str:
    """Calibration pool of a class: ``smooth`` (smooth, erratic, seasonal) or ``intermittent`` (the rest)."""
    return "smooth" if demand_class in ("smooth", "erratic", "seasonal") else "intermittent"


# --- scales --------------------------------------------------------------------------------------------


def scales_at(df: pd.DataFrame, cutoffs: pd.DataFrame, season_length: int) -> pd.DataFrame:
    """MASE / RMSSE denominators of each series using only data up to each cutoff (inclusive).

    ``cutoffs`` has ``unique_id, cutoff``; returns it with ``scale_mae`` = mean|y_t − y_{t−m}| and
    ``scale_mse`` = mean (y_t − y_{t−m})² over t ≤ cutoff. When the seasonal difference is all zero
    (a constant or too-short series) the lag-1 difference is used, then mean|y|, then 1, so a
    scale is never 0.
    """
    d = df[["unique_id", "ds", "y"]]
    uid = d["unique_id"]
    out = cutoffs[["unique_id", "cutoff"]].drop_duplicates().copy()
    cols = {}
    for lag, tag in ((season_length, "s"), (1, "1")):
        diff = (d["y"] - d.groupby(uid, sort=False)["y"].shift(lag)).to_numpy()
        ok = np.isfinite(diff)
        a = np.where(ok, np.abs(diff), 0.0)
        cols[f"a{tag}"] = pd.Series(a).groupby(uid.to_numpy(), sort=False).cumsum().to_numpy()
        cols[f"q{tag}"] = pd.Series(a * a).groupby(uid.to_numpy(), sort=False).cumsum().to_numpy()
        cols[f"n{tag}"] = pd.Series(ok.astype(float)).groupby(uid.to_numpy(), sort=False).cumsum().to_numpy()
    absy = np.abs(d["y"].to_numpy())
    cols["ay"] = pd.Series(absy).groupby(uid.to_numpy(), sort=False).cumsum().to_numpy()
    cols["ny"] = d.groupby(uid, sort=False).cumcount().to_numpy() + 1.0
    cum = pd.DataFrame({"unique_id": uid.to_numpy(), "cutoff": d["ds"].to_numpy(), **cols})
    m = out.merge(cum, on=["unique_id", "cutoff"], how="left")
    with np.errstate(divide="ignore", invalid="ignore"):
        mae_s, mse_s = m["as"] / m["ns"], m["qs"] / m["ns"]
        mae_1, mse_1 = m["a1"] / m["n1"], m["q1"] / m["n1"]
        mean_abs = m["ay"] / m["ny"]
    mae = mae_s.where(mae_s > 0, mae_1).where(lambda v: v > 0, mean_abs).where(lambda v: v > 0, 1.0)
    mse = mse_s.where(mse_s > 0, mse_1).where(lambda v: v > 0, mean_abs**2).where(lambda v: v > 0, 1.0)
    m["scale_mae"] = mae.fillna(1.0).to_numpy()
    m["scale_mse"] = mse.fillna(1.0).to_numpy()
    return m[["unique_id", "cutoff", "scale_mae", "scale_mse"]]


# --- statsforecast runs ------------------------------------------------------------------------------


def _statsforecast(names: Sequence[str], cfg: ForecastConfig, n_jobs: int) -> Any:
    from statsforecast import StatsForecast

    models = [make_model(n, cfg.season_length, cfg.tsb_alpha) for n in _fit_names(names, cfg.combo_models)]
    # Naive keeps a series that breaks an optimiser (e.g. a constant series in ETS) forecastable;
    # statsforecast logs when it falls back.
    return StatsForecast(models=models, freq=cfg.freq, n_jobs=n_jobs, fallback_model=make_model("Naive", 1))


def _add_combo(
    frame: pd.DataFrame, names: Sequence[str], levels: Sequence[int], parts: Sequence[str] = COMBO_PARTS
) -> pd.DataFrame:
    if "Combo" in names and all(p in frame.columns for p in parts):
        frame["Combo"] = frame[list(parts)].mean(axis=1)
        for lv in levels:
            for side in ("lo", "hi"):
                cols = [f"{p}-{side}-{lv}" for p in parts]
                if all(c in frame.columns for c in cols):
                    frame[f"Combo-{side}-{lv}"] = frame[cols].mean(axis=1)
    return frame


def cross_validate(
    df: pd.DataFrame,
    classes: pd.DataFrame,
    cfg: ForecastConfig,
    *,
    n_windows: int,
    n_jobs: int = 1,
    model_intervals: bool | None = None,
) -> pd.DataFrame:
    """Rolling-origin forecasts of every candidate of each series' class (long over models).

    Returns ``unique_id, ds, cutoff, step, y, model, yhat[, lo-L, hi-L]``; model intervals are
    asked for when ``model_intervals`` (default: ``interval_method == "model"``) and the model has
    them. Series too short for ``n_windows`` windows are left out (their models are then chosen by
    default, see :meth:`AutoForecaster.fit`).
    """
    if model_intervals is None:
        model_intervals = cfg.interval_method == "model"
    need = cv_min_length(cfg, n_windows)
    # lengths of the frame being cross-validated (``classes`` may come from a truncated history)
    long_enough = df.groupby("unique_id", sort=False).size().reindex(classes.index).fillna(0) >= need
    frames = []
    for cls_name in ("smooth", "erratic", "seasonal", "intermittent", "lumpy"):
        ids = classes.index[(classes["demand_class"] == cls_name) & long_enough]
        if len(ids) == 0:
            continue
        names = cfg.candidates(cls_name)
        sub = df[df["unique_id"].isin(set(ids))]
        started = time.perf_counter()
        fit = _fit_names(names, cfg.combo_models)
        # statsforecast refuses `level` for models without their own intervals: two runs.
        with_pi = [n for n in fit if n in MODEL_INTERVALS] if model_intervals else []
        without = [n for n in fit if n not in with_pi]
        wide: pd.DataFrame | None = None
        for run_names, level in ((with_pi, list(cfg.levels)), (without, None)):
            if not run_names:
                continue
            cv = _statsforecast(run_names, cfg, n_jobs).cross_validation(
                h=cfg.horizon,
                df=sub,
                n_windows=n_windows,
                step_size=cfg.step,
                input_size=cfg.input_size,
                level=level,
            )
            cv = cv.reset_index() if "unique_id" not in cv.columns else cv
            wide = cv if wide is None else wide.merge(cv.drop(columns="y"), on=["unique_id", "ds", "cutoff"])
        assert wide is not None
        wide = _add_combo(wide, names, cfg.levels, cfg.combo_models)
        log.info(
            "cross-validated %d %s series × %d windows × %s in %.1fs",
            len(ids),
            cls_name,
            n_windows,
            list(names),
            time.perf_counter() - started,
        )
        frames.append(_melt_models(wide, names, cfg.levels))
    if not frames:
        return pd.DataFrame(columns=["unique_id", "ds", "cutoff", "step", "y", "model", "yhat"])
    out = pd.concat(frames, ignore_index=True)
    out["step"] = out.groupby(["unique_id", "cutoff", "model"], sort=False).cumcount() + 1
    return out


def cv_min_length(cfg: ForecastConfig, n_windows: int) -> int:
    """Shortest series that gets ``n_windows`` origins with a minimal training history each."""
    return (n_windows - 1) * cfg.step + cfg.horizon + _min_train(cfg)


def _melt_models(wide: pd.DataFrame, names: Sequence[str], levels: Sequence[int]) -> pd.DataFrame:
    wide = wide.reset_index() if "unique_id" not in wide.columns else wide
    base = [c for c in ("unique_id", "ds", "cutoff", "y") if c in wide.columns]
    parts = []
    for name in names:
        if name not in wide.columns:
            continue
        part = wide[base].copy()
        part["model"] = name
        part["yhat"] = wide[name].to_numpy(dtype=float)
        for lv in levels:
            for side in ("lo", "hi"):
                col = f"{name}-{side}-{lv}"
                part[f"{side}-{lv}"] = wide[col].to_numpy(dtype=float) if col in wide.columns else np.nan
        parts.append(part)
    if not parts:
        raise ConfigError(
            "statsforecast returned none of the requested model columns",
            value=sorted(map(str, wide.columns)),
            expected=f"columns named {list(names)}",
        )
    return pd.concat(parts, ignore_index=True)


def _min_train(cfg: ForecastConfig) -> int:
    """Shortest training history for a CV origin: one season plus one period.

    That is what SeasonalNaive needs; ETS/Theta decide themselves whether a seasonal component can
    be estimated (they drop it on short histories), and a model that fails falls back to Naive.
    """
    return max(cfg.season_length + 1, cfg.min_history, 4)


# --- selection and calibration ---------------------------------------------------------------------


def score_windows(cv: pd.DataFrame, scales: pd.DataFrame) -> pd.DataFrame:
    """Per (series, model, cutoff) scaled errors: ``mase``, ``rmsse``, ``smape``, ``bias``.

    ``bias`` is the scaled mean error (ŷ − y)/s₁: positive means over-forecasting.
    """
    c = cv.drop(columns=[x for x in ("scale_mae", "scale_mse") if x in cv.columns])
    c = c.merge(scales, on=["unique_id", "cutoff"], how="left")
    e = c["yhat"].to_numpy() - c["y"].to_numpy()
    denom = np.abs(c["y"].to_numpy()) + np.abs(c["yhat"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        smape = np.where(denom > 0, 200.0 * np.abs(e) / denom, 0.0)
    c = c.assign(ae=np.abs(e), se=e * e, e=e, smape=smape)
    g = c.groupby(["unique_id", "model", "cutoff"], sort=False).agg(
        mae=("ae", "mean"),
        mse=("se", "mean"),
        me=("e", "mean"),
        smape=("smape", "mean"),
        scale_mae=("scale_mae", "first"),
        scale_mse=("scale_mse", "first"),
    )
    g["mase"] = g["mae"] / g["scale_mae"]
    g["rmsse"] = np.sqrt(g["mse"] / g["scale_mse"])
    g["bias"] = g["me"] / g["scale_mae"]
    return g.reset_index()[["unique_id", "model", "cutoff", "mase", "rmsse", "smape", "bias"]]


def choose_models(
    window_scores: pd.DataFrame,
    order: Sequence[str],
    metric: str = "mase",
    pooling: float = 0.0,
    benchmark: str | None = None,
) -> pd.DataFrame:
    """Lowest mean ``metric`` over windows per series; ties go to the earlier model in ``order``.

    ``pooling`` w ∈ [0, 1] shrinks each series' score towards the model's median score over all
    series passed in: score = (1 − w)·own + w·median. With few CV windows a per-series choice is
    noisy; w = 1 picks one model for the whole group. A series on which no candidate beats
    ``benchmark`` on its own (unpooled) mean gets the benchmark. Returns
    ``unique_id, model, cv_mase, cv_rmsse, n_windows``.
    """
    if window_scores.empty:
        return pd.DataFrame(columns=["unique_id", "model", "cv_mase", "cv_rmsse", "n_windows"])
    mean = window_scores.groupby(["unique_id", "model"], sort=False).agg(
        cv_mase=("mase", "mean"), cv_rmsse=("rmsse", "mean"), n_windows=("cutoff", "nunique")
    )
    mean = mean.reset_index()
    rank = {name: i for i, name in enumerate(order)}
    mean["_rank"] = mean["model"].map(rank).fillna(len(rank))
    score = mean[f"cv_{metric}"]
    if pooling > 0:
        median = score.groupby(mean["model"]).transform("median")
        score = (1 - pooling) * score + pooling * median
    # NaN scores (a model that failed) sort last
    mean["_key"] = score.fillna(np.inf).round(12)
    best = mean.sort_values(["unique_id", "_key", "_rank"], kind="stable").drop_duplicates("unique_id")
    if benchmark is not None:
        # the candidate with the best own (unpooled) score per series, ties to the simpler model
        mean["_own"] = mean[f"cv_{metric}"].fillna(np.inf).round(12)
        own_best = mean.sort_values(["unique_id", "_own", "_rank"], kind="stable")
        own_best = own_best.drop_duplicates("unique_id").set_index("unique_id")["model"]
        bench = mean[mean["model"] == benchmark].set_index("unique_id")
        worse = (best["unique_id"].map(own_best) == benchmark).to_numpy() & (
            best["model"] != benchmark
        ).to_numpy()
        if worse.any():
            swap = bench.loc[best.loc[worse, "unique_id"]].reset_index()
            best = pd.concat([best[~worse], swap], ignore_index=True).sort_values("unique_id", kind="stable")
    return best[["unique_id", "model", "cv_mase", "cv_rmsse", "n_windows"]].reset_index(drop=True)


@dataclass
class Calibration:
    """Conformal quantiles of signed scaled errors, per (group, model, level, side) and step.

    ``table[(group, model)][level] = (lo_q[step], hi_q[step])`` with arrays of length ``horizon``.
    """

    horizon: int
    levels: tuple[int, ...]
    table: dict[tuple[str, str], dict[int, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def get(self, group: str, model: str) -> dict[int, tuple[np.ndarray, np.ndarray]] | None:
        hit = self.table.get((group, model))
        if hit is None:
            hit = self.table.get(("*", model))
        return hit

    def to_json(self) -> dict[str, Any]:
        return {
            "horizon": self.horizon,
            "levels": list(self.levels),
            "table": [
                {
                    "group": g,
                    "model": m,
                    "n": self.counts.get((g, m), 0),
                    "q": {str(lv): [lo.tolist(), hi.tolist()] for lv, (lo, hi) in qs.items()},
                }
                for (g, m), qs in self.table.items()
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        cal = cls(horizon=int(data["horizon"]), levels=tuple(int(x) for x in data["levels"]))
        for row in data["table"]:
            key = (row["group"], row["model"])
            cal.table[key] = {
                int(lv): (np.asarray(v[0], dtype=float), np.asarray(v[1], dtype=float))
                for lv, v in row["q"].items()
            }
            cal.counts[key] = int(row["n"])
        return cal


def _conformal_quantile(z: np.ndarray, p: float) -> float:
    """Finite-sample conformal quantile of scores ``z`` at probability ``p``.

    Upper tail: the ⌈(n+1)p⌉-th smallest score; lower tail: the ⌊(n+1)p⌋-th smallest. When n is
    too small for that rank the extreme score is used (the interval is then not guaranteed; the
    calibration table records n so a user can see it).
    """
    n = z.size
    if n == 0:
        return math.nan
    zs = np.sort(z)
    if p < 0.5:
        k = math.floor((n + 1) * p)
        return float(zs[max(k, 1) - 1])
    k = math.ceil((n + 1) * p)
    return float(zs[min(k, n) - 1])


def calibrate(
    cv: pd.DataFrame,
    scales: pd.DataFrame,
    groups: pd.Series,
    cfg: ForecastConfig,
) -> Calibration:
    """Conformal error quantiles per (class group, model) from cross-validation forecasts.

    ``groups`` maps unique_id → calibration group. Also adds a ``("*", model)`` pool over all groups.
    """
    cal = Calibration(horizon=cfg.horizon, levels=tuple(cfg.levels))
    if cv.empty:
        return cal
    c = cv.merge(scales, on=["unique_id", "cutoff"], how="left")
    c["group"] = c["unique_id"].map(groups).fillna("smooth")
    c["z"] = (c["y"] - c["yhat"]) / c["scale_mae"]
    c = c[np.isfinite(c["z"].to_numpy())]
    pools = [c, c.assign(group="*")]
    for frame in pools:
        for (grp, model), part in frame.groupby(["group", "model"], sort=False):
            z = part["z"].to_numpy()
            steps = part["step"].to_numpy()
            per_step_n = np.bincount(steps, minlength=cfg.horizon + 1)[1 : cfg.horizon + 1]
            qs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            for lv in cfg.levels:
                alpha = 1 - lv / 100
                lo = np.empty(cfg.horizon)
                hi = np.empty(cfg.horizon)
                if per_step_n.min(initial=0) >= cfg.min_calibration:
                    for k in range(1, cfg.horizon + 1):
                        zk = z[steps == k]
                        lo[k - 1] = _conformal_quantile(zk, alpha / 2)
                        hi[k - 1] = _conformal_quantile(zk, 1 - alpha / 2)
                else:
                    # Too few errors per step: pool steps on the √k-normalised scale.
                    zn = z / np.sqrt(steps)
                    root = np.sqrt(np.arange(1, cfg.horizon + 1))
                    lo[:] = _conformal_quantile(zn, alpha / 2) * root
                    hi[:] = _conformal_quantile(zn, 1 - alpha / 2) * root
                qs[int(lv)] = (lo, hi)
            cal.table[(str(grp), str(model))] = qs
            cal.counts[(str(grp), str(model))] = int(z.size)
    return cal


# --- the forecaster -----------------------------------------------------------------------------------


@dataclass
class ForecastResult:
    """What :meth:`AutoForecaster.fit` produced.

    * ``forecasts``: ``unique_id, ds, step, model, mean, lo-80, hi-80, lo-95, hi-95`` (levels as configured);
    * ``choice``: one row per series: ``demand_class, adi, cv2, n, model, selection`` (``cv``,
      ``default``, ``zero`` or ``short``), ``cv_mase, cv_rmsse, scale_mae`` and ``error_sd``
      (root mean square of the chosen model's CV errors over all windows and steps, used by
      inventory advice; NaN when the series was not cross-validated);
    * ``cv``: the cross-validation forecasts (long over models); ``calibration``: conformal quantiles.
    """

    forecasts: pd.DataFrame
    choice: pd.DataFrame
    cv: pd.DataFrame
    calibration: Calibration
    config: ForecastConfig
    seconds: float = 0.0


class AutoForecaster:
    """Classify, cross-validate, choose a model per series, calibrate intervals, refit, forecast."""

    def __init__(self, config: ForecastConfig | None = None, *, n_jobs: int = 1) -> None:
        self.config = config or ForecastConfig()
        if n_jobs < 1:
            raise ConfigError("n_jobs must be >= 1", value=n_jobs, expected="an explicit positive count")
        self.n_jobs = n_jobs

    # The selection step on its own, reused by the backtest with CV rows before each origin.
    def select(
        self, df: pd.DataFrame, classes: pd.DataFrame, cv: pd.DataFrame
    ) -> tuple[pd.DataFrame, Calibration, pd.DataFrame]:
        cfg = self.config
        if cv.empty:
            scales = pd.DataFrame(columns=["unique_id", "cutoff", "scale_mae", "scale_mse"])
            chosen = choose_models(pd.DataFrame(), [])
        else:
            scales = scales_at(df, cv[["unique_id", "cutoff"]], cfg.season_length)
            ws = score_windows(cv, scales)
            # the choice uses the last n_windows only; earlier ones (calibration_windows) calibrate
            last_rank = ws.groupby("unique_id")["cutoff"].rank(method="dense", ascending=False)
            ws = ws[last_rank.to_numpy() <= cfg.n_windows]
            order = list(dict.fromkeys((*cfg.smooth_models, *cfg.intermittent_models)))
            fallback = BENCHMARK if cfg.benchmark_fallback else None
            interm = set(classes.index[classes["demand_class"].isin(["intermittent", "lumpy"])])
            is_int = ws["unique_id"].isin(interm)
            parts = [
                choose_models(ws[~is_int], order, cfg.selection_metric, cfg.pooling, fallback),
                choose_models(ws[is_int], order, cfg.intermittent_metric, cfg.pooling, fallback),
            ]
            chosen = pd.concat([p for p in parts if len(p)], ignore_index=True)
        groups = classes["demand_class"].map(class_group)
        cal = calibrate(cv, scales, groups, cfg)
        return chosen, cal, scales

    def fit(self, df: pd.DataFrame) -> ForecastResult:
        """Choose and fit a model per series of the long frame ``unique_id, ds, y``; forecast ahead."""
        cfg = self.config
        started = time.perf_counter()
        df = validate_long(df)
        if df.empty:
            raise DataError("no series to forecast", value=0, expected="at least one series with history")
        classes = classify_demand(df, cfg.season_length)
        short = classes.index[classes["n"] < cfg.min_history]
        if len(short) and cfg.on_short == "error":
            sid = short[0]
            raise DataError(
                f"series {sid!r} is too short to forecast",
                value=int(classes.loc[sid, "n"]),
                expected=f">= {cfg.min_history} periods of history (on_short='fallback' forecasts the mean)",
            )
        n_windows = cfg.with_enough_calibration(len(classes)).cv_windows
        cv = cross_validate(df, classes, cfg, n_windows=n_windows, n_jobs=self.n_jobs)
        chosen, cal, _ = self.select(df, classes, cv)
        choice = self._choice_table(df, classes, chosen, cv)
        fc = self._final_forecasts(df, choice, cal)
        log.info(
            "forecast %d series (%s) in %.1fs",
            len(choice),
            choice["model"].value_counts().to_dict(),
            time.perf_counter() - started,
        )
        return ForecastResult(fc, choice, cv, cal, cfg, time.perf_counter() - started)

    def _choice_table(
        self, df: pd.DataFrame, classes: pd.DataFrame, chosen: pd.DataFrame, cv: pd.DataFrame
    ) -> pd.DataFrame:
        cfg = self.config
        ch = classes.reset_index().merge(chosen, on="unique_id", how="left")
        default = ch["demand_class"].map(
            lambda c: (
                "SeasonalNaive"
                if c in ("smooth", "erratic", "seasonal") and "SeasonalNaive" in cfg.smooth_models
                else cfg.candidates(c)[0]
                if c != "zero"
                else "Zero"
            )
        )
        ch["selection"] = np.where(ch["model"].isna(), "default", "cv")
        ch["model"] = ch["model"].fillna(default)
        zero = ch["demand_class"] == "zero"
        ch.loc[zero, ["model", "selection"]] = ["Zero", "zero"]
        short = ch["n"] < cfg.min_history
        ch.loc[short, ["model", "selection"]] = ["HistoricAverage", "short"]
        last = df.groupby("unique_id", sort=False)["ds"].max().rename("cutoff")
        sc = scales_at(df, last.reset_index(), cfg.season_length)
        ch = ch.merge(sc[["unique_id", "scale_mae", "scale_mse"]], on="unique_id", how="left")
        # RMS of the chosen model's CV errors over all windows and steps: the per-period σ_e of
        # the safety-stock formula (one-step errors alone would be n_windows samples).
        if not cv.empty:
            own = cv.merge(ch[["unique_id", "model"]], on=["unique_id", "model"])
            e2 = (own["y"] - own["yhat"]) ** 2
            sd = np.sqrt(e2.groupby(own["unique_id"]).mean())
            ch["error_sd"] = ch["unique_id"].map(sd)
        else:
            ch["error_sd"] = np.nan
        return ch

    def _final_forecasts(self, df: pd.DataFrame, choice: pd.DataFrame, cal: Calibration) -> pd.DataFrame:
        cfg = self.config
        frames = []
        if cfg.input_size is not None:
            # refit on the same latest input_size periods the CV fitted on (consistency and speed)
            df = df.groupby("unique_id", sort=False).tail(cfg.input_size)
        for model, part in choice.groupby("model", sort=False):
            ids = set(part["unique_id"])
            sub = df[df["unique_id"].isin(ids)]
            if model == "Zero":
                fc = _constant_forecast(sub, cfg, 0.0)
            else:
                sf = _statsforecast([str(model)], cfg, self.n_jobs)
                use_model_pi = cfg.interval_method == "model" and model in MODEL_INTERVALS
                fc = sf.forecast(
                    h=cfg.horizon,
                    df=sub,
                    level=list(cfg.levels) if use_model_pi else None,
                )
                fc = fc.reset_index() if "unique_id" not in fc.columns else fc
                fc = _add_combo(fc, [str(model)], cfg.levels, cfg.combo_models)
            long = _melt_models(fc, [str(model)], cfg.levels if cfg.interval_method == "model" else ())
            frames.append(long)
        out = pd.concat(frames, ignore_index=True).rename(columns={"yhat": "mean"})
        out["step"] = out.groupby("unique_id", sort=False).cumcount() + 1
        out = out.merge(choice[["unique_id", "demand_class", "scale_mae"]], on="unique_id", how="left")
        nonneg = cfg.nonnegative if cfg.nonnegative is not None else bool((df["y"] >= 0).all())
        out = apply_intervals(out, cal, cfg, nonnegative=nonneg)
        keep = ["unique_id", "ds", "step", "model", "mean"] + [
            f"{s}-{lv}" for lv in cfg.levels for s in ("lo", "hi")
        ]
        return out[keep].sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)


def apply_intervals(
    fc: pd.DataFrame, cal: Calibration, cfg: ForecastConfig, *, nonnegative: bool
) -> pd.DataFrame:
    """Fill ``lo-L``/``hi-L`` columns from conformal quantiles where a model interval is missing.

    ``fc`` needs ``unique_id, step, model, mean, scale_mae`` and ``group`` or ``demand_class``.
    """
    fc = fc.copy()
    steps = fc["step"].to_numpy(dtype=int)
    means = fc["mean"].to_numpy(dtype=float)
    if nonnegative:
        means = np.maximum(means, 0.0)
        fc["mean"] = means
    scale = fc["scale_mae"].to_numpy(dtype=float)
    # an explicit calibration group (e.g. "category" for bottom-up sums) wins over the demand class
    groups = (fc["group"] if "group" in fc.columns else fc["demand_class"].map(class_group)).to_numpy()
    models = fc["model"].to_numpy()
    for lv in cfg.levels:
        lo_col, hi_col = f"lo-{lv}", f"hi-{lv}"
        if lo_col not in fc.columns:
            fc[lo_col] = np.nan
            fc[hi_col] = np.nan
        lo = fc[lo_col].to_numpy(dtype=float).copy()
        hi = fc[hi_col].to_numpy(dtype=float).copy()
        need = ~np.isfinite(lo) | ~np.isfinite(hi)
        if need.any():
            keys = pd.Series(list(zip(groups, models, strict=True)))
            for key in keys[need].unique():
                rows = need & (keys == key).to_numpy()
                qs = cal.get(key[0], key[1])
                if qs is None and key[1] == "Zero":
                    lo[rows] = 0.0
                    hi[rows] = 0.0
                    continue
                if qs is None:
                    qs = cal.get(key[0], "SeasonalNaive") or cal.get("*", "SeasonalNaive")
                if qs is None:
                    continue
                qlo, qhi = qs[int(lv)]
                k = np.clip(steps[rows], 1, len(qlo)) - 1
                lo[rows] = means[rows] + qlo[k] * scale[rows]
                hi[rows] = means[rows] + qhi[k] * scale[rows]
        if nonnegative:
            lo = np.maximum(lo, 0.0)
            hi = np.maximum(hi, 0.0)
        fc[lo_col] = np.minimum(lo, means)
        fc[hi_col] = np.maximum(hi, means)
    return fc


def _constant_forecast(sub: pd.DataFrame, cfg: ForecastConfig, value: float) -> pd.DataFrame:
    """``horizon`` future dates per series with a constant forecast in column ``"Zero"``."""
    last = sub.groupby("unique_id", sort=False)["ds"].max()
    offset = pd.tseries.frequencies.to_offset(cfg.freq)
    rows = [
        pd.DataFrame({"unique_id": uid, "ds": pd.date_range(t + offset, periods=cfg.horizon, freq=cfg.freq)})
        for uid, t in last.items()
    ]
    return pd.concat(rows, ignore_index=True).assign(Zero=float(value))
