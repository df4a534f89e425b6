"""Forecast evaluation: rolling-origin backtest with nested model choice (no peeking at the test window).

The benchmarks (:data:`BENCHMARKS`) are read by :mod:`shopmind.datasets.sales`; a shop's own sales
file by :func:`load_sales_file`. The per-series model choice itself is
:class:`shopmind.forecast.models.AutoForecaster`, the same code that training uses.

Protocol (:func:`backtest`):

* one statsforecast ``cross_validation`` run over ``n_windows + n_test`` origins, ``step`` periods
  apart, refitting every candidate at every origin on the data up to that origin only;
* the last ``n_test`` origins are **test** origins. For a test origin T the per-series choice and
  the conformal calibration use only the ``n_windows`` most recent earlier windows whose whole
  target window ends at or before T (so the chosen model never saw data after T); the demand class
  is computed on data before the first test origin;
* metrics per series and test window: MASE and RMSSE scaled by the seasonal-naive in-sample error
  of the data up to that origin (Hyndman & Koehler 2006; M5's RMSSE), sMAPE (0–200), scaled bias
  mean(ŷ − y)/s₁, and the share of actuals inside the 80 % / 95 % intervals (conformal as in
  :mod:`shopmind.forecast.models`; ``model_coverage_*`` for statsforecast's own intervals where the
  model has them). Per series the windows are averaged, then series are averaged.

SeasonalNaive is always among the candidates, so its row comes from the same run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopmind.errors import DataError, Location
from shopmind.forecast.models import (
    AutoForecaster,
    ForecastConfig,
    apply_intervals,
    classify_demand,
    cross_validate,
    cv_min_length,
    scales_at,
    score_windows,
    validate_long,
)

log = logging.getLogger(__name__)

AUTO = "auto"


@dataclass
class BacktestResult:
    """Per-model summary rows, per-series test scores and the per-series choices per origin."""

    rows: list[dict[str, Any]]
    per_series: pd.DataFrame
    choices: pd.DataFrame
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)
    points: pd.DataFrame | None = None
    """Every scored test forecast: ``unique_id, cutoff, ds, step, model, y, mean, lo-L, hi-L`` (conformal)."""
    cv: pd.DataFrame | None = None
    """The cross-validation forecasts behind the scores (pass back as ``cv=`` to re-score cheaply)."""

    def row(self, name: str) -> dict[str, Any]:
        for r in self.rows:
            if r["name"] == name:
                return r
        raise KeyError(name)


def _coverage(frame: pd.DataFrame, lv: int) -> np.ndarray:
    lo, hi, y = frame[f"lo-{lv}"].to_numpy(), frame[f"hi-{lv}"].to_numpy(), frame["y"].to_numpy()
    ok = np.isfinite(lo) & np.isfinite(hi)
    return np.where(ok, ((y >= lo) & (y <= hi)).astype(float), np.nan)


def backtest(
    df: pd.DataFrame,
    config: ForecastConfig,
    *,
    n_test: int = 2,
    n_jobs: int = 1,
    cv: pd.DataFrame | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation of every candidate and of the per-series choice (``"auto"``).

    ``cv``: the cross-validation frame of an earlier run on the same data and windows (e.g. to
    compare selection settings without refitting every model).
    """
    started = time.perf_counter()
    cfg = config
    if "SeasonalNaive" not in cfg.smooth_models or "SeasonalNaive" not in cfg.intermittent_models:
        cfg = cfg.model_copy(
            update={
                "smooth_models": (*cfg.smooth_models, "SeasonalNaive")
                if "SeasonalNaive" not in cfg.smooth_models
                else cfg.smooth_models,
                "intermittent_models": (*cfg.intermittent_models, "SeasonalNaive")
                if "SeasonalNaive" not in cfg.intermittent_models
                else cfg.intermittent_models,
            }
        )
    df = validate_long(df)
    cfg = cfg.with_enough_calibration(df["unique_id"].nunique())
    total = cfg.cv_windows + n_test
    need = cv_min_length(cfg, total)
    lengths = df.groupby("unique_id").size()
    too_short = lengths[lengths < need]
    if len(too_short):
        log.warning(
            "%d series shorter than %d periods are left out of the backtest: %s",
            len(too_short),
            need,
            list(too_short.index[:5]),
        )
        df = df[~df["unique_id"].isin(set(too_short.index))]
    if df.empty:
        raise DataError(
            "no series long enough for the backtest",
            value=int(lengths.max()) if len(lengths) else 0,
            expected=f">= {need} periods ({total} windows of {cfg.horizon}, step {cfg.step})",
        )
    # Demand classes from the data before the first test origin only.
    last = df.groupby("unique_id")["ds"].transform("max")
    first_test_cut = last - pd.tseries.frequencies.to_offset(cfg.freq) * (
        cfg.horizon + (n_test - 1) * cfg.step
    )
    classes = classify_demand(df[df["ds"] <= first_test_cut], cfg.season_length)
    if cv is None:
        cv = cross_validate(df, classes, cfg, n_windows=total, n_jobs=n_jobs, model_intervals=True)
    forecaster = AutoForecaster(cfg, n_jobs=n_jobs)

    cut_rank = cv[["unique_id", "cutoff"]].drop_duplicates().sort_values(["unique_id", "cutoff"])
    cut_rank["rank"] = cut_rank.groupby("unique_id").cumcount()
    cut_rank["n"] = cut_rank.groupby("unique_id")["rank"].transform("max") + 1
    test_cuts = cut_rank[cut_rank["rank"] >= cut_rank["n"] - n_test]
    window_end = cv.groupby(["unique_id", "cutoff"])["ds"].max().rename("end").reset_index()

    scored: list[pd.DataFrame] = []
    points: list[pd.DataFrame] = []
    choices: list[pd.DataFrame] = []
    for j in range(n_test):
        # j-th test origin of every series (series share calendars in the benchmarks, but need not)
        tc = test_cuts[test_cuts["rank"] == test_cuts["n"] - n_test + j][["unique_id", "cutoff"]]
        tmap = tc.set_index("unique_id")["cutoff"]
        # earlier windows fully observed by the test origin
        we = window_end.assign(origin=window_end["unique_id"].map(tmap))
        sel_keys = we[we["end"] <= we["origin"]]
        sel_keys = sel_keys.sort_values(["unique_id", "cutoff"]).groupby("unique_id").tail(cfg.cv_windows)
        cv_sel = cv.merge(sel_keys[["unique_id", "cutoff"]], on=["unique_id", "cutoff"])
        chosen, cal, _ = forecaster.select(df, classes, cv_sel)
        chosen = chosen.assign(origin=chosen["unique_id"].map(tmap))
        choices.append(chosen)
        test = cv.merge(tc, on=["unique_id", "cutoff"])
        scales = scales_at(df, tc, cfg.season_length)
        test = test.merge(scales[["unique_id", "cutoff", "scale_mae"]], on=["unique_id", "cutoff"])
        test = test.assign(demand_class=test["unique_id"].map(classes["demand_class"]))
        auto = test.merge(chosen[["unique_id", "model"]], on=["unique_id", "model"]).assign(model=AUTO)
        both = pd.concat([test, auto], ignore_index=True)
        # model intervals kept aside; conformal intervals for every model incl. the chosen one
        model_pi = {lv: _coverage(both, lv) for lv in cfg.levels}
        conf = both.drop(columns=[c for c in both.columns if c.startswith(("lo-", "hi-"))])
        conf = conf.rename(columns={"yhat": "mean"})
        conf = conf.assign(model_for_cal=np.where(conf["model"] == AUTO, None, conf["model"]))
        if (conf["model"] == AUTO).any():
            conf.loc[conf["model"] == AUTO, "model_for_cal"] = conf.loc[
                conf["model"] == AUTO, "unique_id"
            ].map(chosen.set_index("unique_id")["model"])
        nonneg = cfg.nonnegative if cfg.nonnegative is not None else bool((df["y"] >= 0).all())
        conf_iv = apply_intervals(
            conf.assign(model=conf["model_for_cal"]), cal, cfg, nonnegative=False
        ).assign(model=conf["model"].to_numpy())
        if nonneg:
            for lv in cfg.levels:
                conf_iv[f"lo-{lv}"] = np.maximum(conf_iv[f"lo-{lv}"], 0.0)
        pts = conf_iv[["unique_id", "cutoff", "ds", "step", "model", "y", "mean"]].copy()
        for lv in cfg.levels:
            pts[f"lo-{lv}"] = conf_iv[f"lo-{lv}"].to_numpy()
            pts[f"hi-{lv}"] = conf_iv[f"hi-{lv}"].to_numpy()
            pts[f"cov-{lv}"] = _coverage(conf_iv, lv)
            pts[f"mcov-{lv}"] = model_pi[lv]
        points.append(pts)
        scored.append(score_windows(both, scales))
    per_window = pd.concat(scored, ignore_index=True)
    pts_all = pd.concat(points, ignore_index=True)
    per_series = per_window.groupby(["model", "unique_id"]).agg(
        mase=("mase", "mean"), rmsse=("rmsse", "mean"), smape=("smape", "mean"), bias=("bias", "mean")
    )
    rows = []
    snaive = per_series.loc["SeasonalNaive"]["mase"].mean() if "SeasonalNaive" in per_series.index else np.nan
    order = [AUTO, *dict.fromkeys((*cfg.smooth_models, *cfg.intermittent_models))]
    for name in order:
        if name not in per_series.index.get_level_values(0):
            continue
        ps = per_series.loc[name]
        p = pts_all[pts_all["model"] == name]
        metrics: dict[str, Any] = {
            "mase": float(ps["mase"].mean()),
            "rmsse": float(ps["rmsse"].mean()),
            "smape": float(ps["smape"].mean()),
            "bias": float(ps["bias"].mean()),
        }
        for lv in cfg.levels:
            metrics[f"coverage_{lv}"] = (
                float(np.nanmean(p[f"cov-{lv}"])) if p[f"cov-{lv}"].notna().any() else None
            )
            mc = p[f"mcov-{lv}"]
            metrics[f"model_coverage_{lv}"] = float(np.nanmean(mc)) if mc.notna().any() else None
        metrics["mase_vs_seasonal_naive"] = (
            float(metrics["mase"] / snaive) if snaive and np.isfinite(snaive) else None
        )
        metrics["n_series"] = len(ps)
        rows.append({"name": name, "metrics": metrics})
    ch = pd.concat(choices, ignore_index=True)
    info = {
        "n_series": int(df["unique_id"].nunique()),
        "horizon": cfg.horizon,
        "step": cfg.step,
        "selection_windows": cfg.n_windows,
        "calibration_windows": cfg.cv_windows,
        "test_windows": n_test,
        "season_length": cfg.season_length,
        "freq": cfg.freq,
        "chosen_models": {str(k): int(v) for k, v in ch["model"].value_counts().items()},
        "demand_classes": {str(k): int(v) for k, v in classes["demand_class"].value_counts().items()},
        "test_origins": sorted({str(pd.Timestamp(c).date()) for c in test_cuts["cutoff"]}),
    }
    seconds = time.perf_counter() - started
    log.info("backtest of %d series in %.1fs", info["n_series"], seconds)
    return BacktestResult(rows, per_series.reset_index(), ch, seconds, info, pts_all, cv)


# --- benchmark data ----------------------------------------------------------------------------------

BENCHMARKS: dict[str, dict[str, Any]] = {
    "walmart": {"freq": "W-FRI", "season_length": 52, "horizon": 13, "folder": "walmart-sales-weekly"},
    "aus-retail": {"freq": "MS", "season_length": 12, "horizon": 12, "folder": "aus-retail-turnover"},
    "us-retail": {"freq": "MS", "season_length": 12, "horizon": 12, "folder": "us-retail-sales-monthly"},
    "synthetic": {"freq": "D", "season_length": 7, "horizon": 28, "folder": "synthetic"},
}
"""Benchmark datasets: pandas frequency, season length and default horizon of each."""


def load_benchmark(
    name: str, data_dir: Path | None, *, n_series: int | None = None, seed: int = 42
) -> pd.DataFrame:
    """Long ``unique_id, ds, y`` frame of a benchmark (``data_dir`` = the shared datasets folder).

    The public sets are read by the :mod:`shopmind.datasets.sales` loaders. ``synthetic``: the ``sales.csv`` of a generated shop when ``data_dir``
    holds one (``shopmind generate``), else :func:`~shopmind.datasets.demand.synthetic_demand`
    (seeded, 730 days). ``n_series`` keeps the first series in id order.
    """
    if name not in BENCHMARKS:
        raise DataError("unknown forecasting benchmark", value=name, expected=f"one of {sorted(BENCHMARKS)}")
    if name == "synthetic":
        shop_sales = Path(data_dir) / "sales.csv" if data_dir is not None else None
        if shop_sales is not None and shop_sales.is_file():
            from shopmind.forecast.series import build_series

            df = build_series(pd.read_csv(shop_sales), freq="D").items[["unique_id", "ds", "y"]]
        else:
            from shopmind.datasets.demand import synthetic_demand

            df = synthetic_demand(n_series=n_series or 200, n_periods=730, seed=seed)
    else:
        if data_dir is None:
            raise DataError(
                "a --data-dir is needed for this benchmark", value=name, expected="the datasets folder"
            )
        folder = Path(data_dir)
        if (folder / BENCHMARKS[name]["folder"]).is_dir():
            folder = folder / BENCHMARKS[name]["folder"]
        df = _read_benchmark(name, folder)
    df = df[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    if n_series is not None:
        keep = sorted(df["unique_id"].unique())[:n_series]
        df = df[df["unique_id"].isin(set(keep))].reset_index(drop=True)
    return df


def _read_benchmark(name: str, folder: Path) -> pd.DataFrame:
    from shopmind.datasets.sales import load_aus_retail, load_us_retail, load_walmart_weekly

    loaders = {"walmart": load_walmart_weekly, "aus-retail": load_aus_retail, "us-retail": load_us_retail}
    return loaders[name](folder)


def benchmark_config(name: str, **overrides: Any) -> ForecastConfig:
    """Default :class:`ForecastConfig` of a benchmark (frequency, season, horizon), with overrides."""
    spec = BENCHMARKS[name]
    base: dict[str, Any] = {
        "freq": spec["freq"],
        "season_length": spec["season_length"],
        "horizon": spec["horizon"],
    }
    base.update({k: v for k, v in overrides.items() if v is not None})
    return ForecastConfig(**base)


# --- a shop's own sales file -------------------------------------------------------------------------

FREQ_DEFAULTS: dict[str, tuple[int, int]] = {
    "h": (24, 48),
    "D": (7, 28),
    "B": (5, 20),
    "W": (52, 13),
    "M": (12, 12),
    "Q": (4, 8),
    "Y": (1, 3),
}
"""Season length and default horizon per frequency family (hour, day, business day, week, month,
quarter, year) — the same values as the named benchmarks (weekly 52/13, monthly 12/12, daily 7/28)."""

MAX_SALES_ROWS = 20_000_000
"""Rows read from one sales file (one row per series and period)."""


def freq_family(freq: str) -> str:
    """``W-FRI`` → ``W``, ``MS``/``ME`` → ``M``, ``QS-DEC`` → ``Q``, ``YS``/``A`` → ``Y``, ``h``/``H`` → ``h``."""
    from pandas.tseries.frequencies import to_offset

    try:
        name = to_offset(freq).name
    except ValueError as exc:
        raise DataError(
            "unknown frequency", value=freq, expected="a pandas frequency: D, W-SUN, MS, …"
        ) from exc
    head = name.split("-")[0].lstrip("0123456789")
    if head in ("h", "H"):
        return "h"
    for family in ("B", "D", "W", "M", "Q", "Y"):
        if head.startswith(family) or (family == "Y" and head.startswith("A")):
            return family
    raise DataError(
        "unsupported frequency", value=freq, expected="hourly, daily, weekly, monthly, quarterly or yearly"
    )


def file_config(freq: str, *, season_length: int | None = None, **overrides: Any) -> ForecastConfig:
    """:class:`ForecastConfig` for a sales file: season length and horizon from the frequency family
    (:data:`FREQ_DEFAULTS`) unless given; other overrides as :func:`benchmark_config`."""
    season, horizon = FREQ_DEFAULTS[freq_family(freq)]
    base: dict[str, Any] = {"freq": freq, "season_length": season_length or season, "horizon": horizon}
    base.update({k: v for k, v in overrides.items() if v is not None})
    return ForecastConfig(**base)


def load_sales_file(
    path: Path,
    *,
    id_col: str = "unique_id",
    date_col: str = "ds",
    value_col: str = "y",
    freq: str | None = None,
    fill_gaps: bool = False,
    n_series: int | None = None,
) -> tuple[pd.DataFrame, str]:
    """A shop's sales history as a long ``unique_id, ds, y`` frame and its frequency.

    The file is a CSV (header row, comma-separated; ``.tsv`` tab-separated) or Parquet with one row per
    series and period: a series id, a date (ISO ``YYYY-MM-DD``, or ``YYYY-MM`` for months), a number.
    ``freq`` (pandas alias) is inferred from the longest series when not given. Every date must lie
    on the frequency's grid (e.g. Fridays for ``W-FRI``) and every series must be complete between
    its first and last date; ``fill_gaps`` fills missing periods with 0 instead (a period without
    sales). Problems raise :class:`DataError` naming the file, the line (CSV, header = line 1) or row
    (Parquet, 1-based) and the column. ``n_series`` keeps the first series in id order.
    """
    import csv

    from shopmind.datasets._io import read_table

    path = Path(path)
    if not path.is_file():
        raise DataError("sales file not found", value=str(path), expected="a CSV or Parquet file")
    parquet = path.suffix.lower() in (".parquet", ".pq")
    if parquet:
        frame = pd.read_parquet(path)
    else:
        frame = read_table(
            path, sep="\t" if path.suffix.lower() == ".tsv" else ",", quoting=csv.QUOTE_MINIMAL
        )
    header = 0 if parquet else 1
    if len(frame) > MAX_SALES_ROWS:
        raise DataError("sales file too large", value=len(frame), expected=f"<= {MAX_SALES_ROWS:,} rows")
    missing = [c for c in (id_col, date_col, value_col) if c not in frame.columns]
    if missing:
        raise DataError(
            "missing columns",
            value=missing,
            expected=f"columns {id_col}, {date_col}, {value_col} "
            f"(the header has {', '.join(map(str, frame.columns))}; see --id-col/--date-col/--value-col)",
            location=Location(str(path), None if parquet else 1),
        )
    if frame.empty:
        raise DataError("sales file has no rows", value=str(path), location=Location(str(path)))

    def fail(message: str, pos: int, col: str, expected: str, value: Any = None) -> DataError:
        return DataError(
            message,
            value=frame[col].iloc[pos] if value is None else value,
            expected=expected,
            location=Location(str(path), pos + 1 + header, col),
        )

    uid = frame[id_col].astype(str).str.strip()
    empty = frame[id_col].isna().to_numpy() | (uid == "").to_numpy()
    if empty.any():
        raise fail("empty series id", int(np.flatnonzero(empty)[0]), id_col, "a non-empty id")
    raw_ds = frame[date_col]
    if pd.api.types.is_datetime64_any_dtype(raw_ds):
        ds = pd.to_datetime(raw_ds)
    else:
        text = raw_ds.astype(str).str.strip()
        # YYYY-MM months are read as their first day
        text = text.where(~text.str.fullmatch(r"\d{4}-\d{2}"), text + "-01")
        ds = pd.to_datetime(text, errors="coerce", format="ISO8601")
    if ds.dt.tz is not None:
        ds = ds.dt.tz_convert(None)
    bad = ds.isna().to_numpy()
    if bad.any():
        raise fail("bad date", int(np.flatnonzero(bad)[0]), date_col, "an ISO date (2024-05-31 or 2024-05)")
    y = pd.to_numeric(frame[value_col], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(y)
    if bad.any():
        raise fail(
            "not a number",
            int(np.flatnonzero(bad)[0]),
            value_col,
            "a finite number (a period without sales is 0)",
        )
    df = pd.DataFrame(
        {"unique_id": uid.to_numpy(), "ds": ds.to_numpy(), "y": y, "_line": np.arange(len(frame))}
    )
    dup = df.duplicated(["unique_id", "ds"]).to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        raise fail(
            "duplicate (series, date)",
            pos,
            date_col,
            "one row per series and period",
            value=[df["unique_id"].iloc[pos], str(df["ds"].iloc[pos].date())],
        )
    df = df.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    if n_series is not None:
        keep = sorted(df["unique_id"].unique())[:n_series]
        df = df[df["unique_id"].isin(set(keep))].reset_index(drop=True)
    if freq is None:
        sizes = df.groupby("unique_id", sort=False).size()
        longest = df.loc[df["unique_id"] == sizes.idxmax(), "ds"]
        freq = pd.infer_freq(pd.DatetimeIndex(longest)) if len(longest) >= 3 else None
        if freq is None:
            raise DataError(
                "cannot infer the frequency of the series",
                value=str(sizes.idxmax()),
                expected="regular dates, or give --freq (D, W-SUN, MS, …)",
                location=Location(str(path), None, date_col),
            )
    from pandas.tseries.frequencies import to_offset

    freq_family(freq)  # a supported frequency
    step = to_offset(freq)
    from pandas.tseries.offsets import Tick

    if isinstance(step, Tick):  # fixed spans (D, h): whole steps from the series' first date
        first = df.groupby("unique_id", sort=False)["ds"].transform("min")
        off_grid = ((df["ds"] - first) % pd.Timedelta(step) != pd.Timedelta(0)).to_numpy()
    else:  # calendar offsets (W-FRI, MS): adding 0 steps rolls a date forward unless it is on the grid
        off_grid = (df["ds"] + 0 * step != df["ds"]).to_numpy()
    if off_grid.any():
        pos = int(df["_line"].iloc[int(np.flatnonzero(off_grid)[0])])
        raise fail("date not on the series' frequency grid", pos, date_col, f"dates of frequency {freq}")
    same = df["unique_id"].to_numpy()[1:] == df["unique_id"].to_numpy()[:-1]
    gap = same & ((df["ds"] + step).to_numpy()[:-1] != df["ds"].to_numpy()[1:])
    if gap.any() and not fill_gaps:
        i = int(np.flatnonzero(gap)[0])
        expected_ds = (df["ds"].iloc[i] + step).date()
        raise fail(
            f"series {df['unique_id'].iloc[i]!r} has no row for {expected_ds}",
            int(df["_line"].iloc[i + 1]),
            date_col,
            f"one row per period of {freq} (add 0 for a period without sales, or use --fill-gaps)",
        )
    df = df[["unique_id", "ds", "y"]]
    if gap.any():
        from utilsforecast.preprocessing import fill_gaps as fill

        df = fill(df, freq=freq, start="per_serie", end="per_serie")
        df["y"] = df["y"].fillna(0.0)
        df = df.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    return df, freq
