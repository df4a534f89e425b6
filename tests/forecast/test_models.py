"""Model choice with known answers: seasonal, constant and intermittent series; scales; intervals; bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopmind.errors import ConfigError, DataError
from shopmind.forecast.models import (
    AutoForecaster,
    ForecastConfig,
    _conformal_quantile,
    choose_models,
    classify_demand,
    scales_at,
    seasonal_strength,
    validate_long,
)

PATTERN = np.array([5, 1, 1, 2, 3, 8, 10], dtype=float)
FAST = ("Naive", "SeasonalNaive", "AutoTheta")


def _frame(uid: str, y: np.ndarray, start: str = "2024-01-01") -> pd.DataFrame:
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=len(y), freq="D"), "y": y})


def _cfg(**kw) -> ForecastConfig:
    base = {"freq": "D", "season_length": 7, "horizon": 14, "n_windows": 3, "smooth_models": FAST}
    base.update(kw)
    return ForecastConfig(**base)


def test_classify_demand_known_values():
    df = pd.concat(
        [
            _frame("smooth", np.full(10, 4.0)),
            _frame("interm", np.array([0, 0, 3, 0, 0, 3, 0, 0, 3, 0.0])),
            _frame("lumpy", np.array([0, 0, 1, 0, 0, 9, 0, 0, 1, 0.0])),
            _frame("erratic", np.array([1, 9, 1, 9, 1, 9, 1, 9, 1, 9.0])),
            _frame("zero", np.zeros(10)),
        ]
    )
    c = classify_demand(df)
    assert c.loc["smooth", "adi"] == pytest.approx(1.0) and c.loc["smooth", "cv2"] == pytest.approx(0.0)
    assert c.loc["interm", "adi"] == pytest.approx(10 / 3) and c.loc["interm", "cv2"] == pytest.approx(0.0)
    # sizes 1, 9, 1: mean 11/3, population sd √(128/9)/... → CV² = var/mean² = (32/9·2/… ) computed directly
    sizes = np.array([1, 9, 1.0])
    assert c.loc["lumpy", "cv2"] == pytest.approx(sizes.var() / sizes.mean() ** 2)
    assert c.loc["erratic", "cv2"] == pytest.approx(16 / 25)
    assert c["demand_class"].to_dict() == {
        "smooth": "smooth",
        "interm": "intermittent",
        "lumpy": "lumpy",
        "erratic": "erratic",
        "zero": "zero",
    }


def test_scales_only_use_data_up_to_cutoff():
    y = np.array([1, 2, 4, 8, 100.0])
    df = _frame("a", y)
    cut = pd.DataFrame({"unique_id": ["a", "a"], "cutoff": pd.to_datetime(["2024-01-04", "2024-01-05"])})
    s = ForecastConfig(season_length=1)
    sc = scales_at(df, cut, s.season_length)
    # up to 01-04: |2-1|, |4-2|, |8-4| → MAE 7/3, MSE 21/3; the 100 comes later and must not count
    assert sc["scale_mae"].tolist()[0] == pytest.approx(7 / 3)
    assert sc["scale_mse"].tolist()[0] == pytest.approx(21 / 3)
    assert sc["scale_mae"].tolist()[1] == pytest.approx((7 + 92) / 4)


def test_scale_of_constant_series_is_not_zero():
    sc = scales_at(
        _frame("c", np.full(20, 4.0)),
        pd.DataFrame({"unique_id": ["c"], "cutoff": [pd.Timestamp("2024-01-20")]}),
        7,
    )
    assert sc["scale_mae"].iloc[0] == pytest.approx(4.0)  # falls back to mean |y|


def test_pure_seasonal_series_reproduced():
    y = np.tile(PATTERN, 20)
    r = AutoForecaster(_cfg()).fit(_frame("s", y))
    assert r.choice.loc[0, "model"] == "SeasonalNaive"
    assert r.choice.loc[0, "cv_mase"] == pytest.approx(0.0)
    expect = np.tile(PATTERN, 3)[len(y) % 7 : len(y) % 7 + 14]
    np.testing.assert_allclose(r.forecasts["mean"].to_numpy(), expect, atol=1e-9)
    # zero CV error → zero-width conformal interval
    np.testing.assert_allclose(r.forecasts["hi-95"] - r.forecasts["lo-95"], 0.0, atol=1e-9)


def test_constant_series_forecast_constant():
    r = AutoForecaster(_cfg()).fit(_frame("c", np.full(100, 4.0)))
    np.testing.assert_allclose(r.forecasts["mean"].to_numpy(), 4.0)
    assert r.choice.loc[0, "demand_class"] == "smooth"
    assert r.choice.loc[0, "model"] == "Naive"  # ties go to the simplest candidate


def test_intermittent_series_gets_croston_family_near_mean_rate():
    rng = np.random.default_rng(3)
    y = np.where(rng.random(300) < 0.2, 3.0, 0.0)
    r = AutoForecaster(_cfg(horizon=14)).fit(_frame("i", y))
    ch = r.choice.iloc[0]
    assert ch["demand_class"] == "intermittent"
    assert ch["model"] in {"CrostonOptimized", "TSB", "ADIDA", "IMAPA"}
    assert r.forecasts["mean"].mean() == pytest.approx(y.mean(), rel=0.35)
    assert (r.forecasts["lo-95"] >= 0).all()


def test_all_zero_series_forecasts_zero():
    r = AutoForecaster(_cfg()).fit(pd.concat([_frame("z", np.zeros(60)), _frame("c", np.full(60, 2.0))]))
    z = r.forecasts[r.forecasts["unique_id"] == "z"]
    assert (z["mean"] == 0).all() and (z["hi-95"] == 0).all()
    assert r.choice.set_index("unique_id").loc["z", "selection"] == "zero"


def test_short_series_error_or_fallback():
    df = pd.concat([_frame("ok", np.tile(PATTERN, 10)), _frame("tiny", np.array([1.0, 3.0]))])
    with pytest.raises(DataError, match="too short") as err:
        AutoForecaster(_cfg()).fit(df)
    assert err.value.value == 2
    r = AutoForecaster(_cfg(on_short="fallback")).fit(df)
    tiny = r.forecasts[r.forecasts["unique_id"] == "tiny"]
    assert r.choice.set_index("unique_id").loc["tiny", "selection"] == "short"
    np.testing.assert_allclose(tiny["mean"], 2.0)  # the historic average


def test_bad_frames_refused():
    with pytest.raises(DataError, match="non-numeric"):
        validate_long(
            pd.DataFrame({"unique_id": ["a", "a"], "ds": ["2024-01-01", "2024-01-02"], "y": [1, None]})
        )
    with pytest.raises(DataError, match="duplicate"):
        validate_long(
            pd.DataFrame({"unique_id": ["a", "a"], "ds": ["2024-01-01", "2024-01-01"], "y": [1, 2]})
        )
    with pytest.raises(DataError, match="no series"):
        AutoForecaster(_cfg()).fit(pd.DataFrame({"unique_id": [], "ds": [], "y": []}))


def test_config_validation():
    with pytest.raises(ConfigError):
        ForecastConfig(smooth_models=("Prophet",))
    with pytest.raises(ConfigError):
        ForecastConfig(levels=(80, 100))
    with pytest.raises(ConfigError):
        AutoForecaster(n_jobs=0)
    cfg = ForecastConfig(horizon=5)
    assert ForecastConfig.model_validate_json(cfg.model_dump_json()) == cfg


def test_choose_models_ties_and_metric():
    ws = pd.DataFrame(
        {
            "unique_id": ["a"] * 4,
            "model": ["AutoTheta", "Naive", "AutoTheta", "Naive"],
            "cutoff": [1, 1, 2, 2],
            "mase": [1.0, 1.0, 1.0, 1.0],
            "rmsse": [0.5, 0.9, 0.5, 0.9],
        }
    )
    assert choose_models(ws, ["Naive", "AutoTheta"], "mase")["model"].item() == "Naive"
    assert choose_models(ws, ["Naive", "AutoTheta"], "rmsse")["model"].item() == "AutoTheta"


def test_conformal_quantile_ranks():
    z = np.arange(1, 20, dtype=float)  # n = 19
    assert _conformal_quantile(z, 0.9) == 18.0  # ⌈20·0.9⌉ = 18th smallest
    assert _conformal_quantile(z, 0.1) == 2.0  # ⌊20·0.1⌋ = 2nd smallest
    assert _conformal_quantile(z, 0.999) == 19.0  # beyond n: the largest


def test_every_model_column_is_named_as_configured():
    from shopmind.forecast.models import ALL_MODELS, make_model

    for name in ALL_MODELS:
        if name != "Combo":
            assert str(make_model(name, 7)) == name


def test_same_input_same_output():
    rng = np.random.default_rng(0)
    df = _frame("n", rng.poisson(10, 120).astype(float))
    a = AutoForecaster(_cfg()).fit(df).forecasts
    b = AutoForecaster(_cfg()).fit(df).forecasts
    pd.testing.assert_frame_equal(a, b)


def test_calibration_windows_widen_calibration_but_not_choice():
    rng = np.random.default_rng(5)
    df = _frame("n", 20 + rng.normal(0, 2, 160))
    # explicit 2: unset, one series × 14 steps × 2 windows < 39 errors would add a window by itself
    base = AutoForecaster(_cfg(n_windows=2, calibration_windows=2)).fit(df)
    more = AutoForecaster(_cfg(n_windows=2, calibration_windows=4)).fit(df)
    assert base.cv["cutoff"].nunique() == 2
    assert more.cv["cutoff"].nunique() == 4
    # the choice is scored on the last 2 windows only: the same as without extra windows
    assert more.choice.loc[0, "n_windows"] == 2
    assert more.choice.loc[0, "model"] == base.choice.loc[0, "model"]
    assert more.choice.loc[0, "cv_rmsse"] == pytest.approx(base.choice.loc[0, "cv_rmsse"])
    # every CV error of the 4 windows calibrates the intervals: 4 windows × 14 steps per model
    model = more.choice.loc[0, "model"]
    assert more.calibration.counts[("smooth", model)] == 4 * 14
    assert base.calibration.counts[("smooth", model)] == 2 * 14


def test_refit_uses_only_the_latest_input_size_periods():
    # level 100 for 200 days, then 5: the historic mean of the last 50 days is exactly 5
    y = np.r_[np.full(200, 100.0), np.full(60, 5.0)]
    cfg = _cfg(smooth_models=("HistoricAverage",), n_windows=1, input_size=50)
    r = AutoForecaster(cfg).fit(_frame("shift", y))
    np.testing.assert_allclose(r.forecasts["mean"].to_numpy(), 5.0)
    full = AutoForecaster(cfg.model_copy(update={"input_size": None})).fit(_frame("shift", y))
    assert full.forecasts["mean"].iloc[0] == pytest.approx(y.mean())


def test_calibration_windows_grow_until_the_95_interval_is_attainable():
    from shopmind.forecast.models import ForecastConfig

    cfg = ForecastConfig(freq="MS", season_length=12, horizon=12, n_windows=3)
    # one series: 3 windows give 36 errors < 2/0.05 - 1 = 39, so a fourth window calibrates
    assert cfg.with_enough_calibration(1).cv_windows == 4
    assert cfg.with_enough_calibration(1).n_windows == 3  # the choice still uses the last three
    assert cfg.with_enough_calibration(2).cv_windows == 3
    explicit = cfg.model_copy(update={"calibration_windows": 3})
    assert explicit.with_enough_calibration(1).cv_windows == 3
    assert ForecastConfig(horizon=12, n_windows=3, levels=(80,)).with_enough_calibration(1).cv_windows == 3


def test_seasonal_strength_known_values():
    assert seasonal_strength(np.tile(PATTERN, 6), 7) == pytest.approx(1.0)
    assert seasonal_strength(np.full(42, 3.0), 7) == 0.0  # no variation at all
    assert seasonal_strength(PATTERN, 7) == 0.0  # fewer than two seasons: unknown, not strong
    noise = np.random.default_rng(0).normal(10, 1, 700)
    assert seasonal_strength(noise, 7) < 0.1


def test_strongly_seasonal_sparse_series_never_gets_an_intermittent_model():
    """Weekend-only demand is intermittent by ADI (3.5) but its zeros are an off-season."""
    rng = np.random.default_rng(4)
    week = np.array([0, 0, 0, 0, 0, 1, 1.0])
    y = np.tile(week, 30) * rng.integers(8, 12, 210)
    c = classify_demand(_frame("w", y), season_length=7)
    assert c.loc["w", "adi"] == pytest.approx(3.5)
    assert c.loc["w", "seasonal_strength"] > 0.9
    assert c.loc["w", "demand_class"] == "seasonal"
    assert classify_demand(_frame("w", y))["demand_class"].item() == "intermittent"  # no season given
    r = AutoForecaster(_cfg(horizon=14)).fit(_frame("w", y))
    assert r.choice.loc[0, "model"] not in {"CrostonOptimized", "CrostonSBA", "TSB", "ADIDA", "IMAPA"}
    mean = r.forecasts["mean"].to_numpy()
    weekend = np.tile(week, 2).astype(bool)
    assert mean[weekend].min() > 4 * max(mean[~weekend].max(), 0.5)


def test_a_series_where_nothing_beats_the_benchmark_gets_it():
    """Pooling prefers AutoTheta (the group median) everywhere; on 'b' no candidate beats SeasonalNaive
    on its own windows (fallback), on 'd' AutoETS does (pooling keeps its choice)."""
    scores = {  # series: (AutoTheta, SeasonalNaive, AutoETS)
        "a": (0.5, 1.0, 2.0),
        "b": (1.2, 0.8, 2.0),
        "c": (0.6, 1.0, 2.0),
        "d": (1.2, 0.8, 0.7),
    }
    rows = []
    for uid, values in scores.items():
        for model, value in zip(("AutoTheta", "SeasonalNaive", "AutoETS"), values, strict=True):
            rows += [(uid, model, cutoff, value) for cutoff in (1, 2)]
    ws = pd.DataFrame(rows, columns=["unique_id", "model", "cutoff", "mase"]).assign(
        rmsse=lambda d: d["mase"]
    )
    order = ["AutoTheta", "SeasonalNaive", "AutoETS"]
    pooled = choose_models(ws, order, "mase", pooling=1.0, benchmark=None)
    assert set(pooled["model"]) == {"AutoTheta"}
    chosen = choose_models(ws, order, "mase", pooling=1.0, benchmark="SeasonalNaive").set_index("unique_id")
    assert chosen["model"].to_dict() == {
        "a": "AutoTheta",
        "b": "SeasonalNaive",
        "c": "AutoTheta",
        "d": "AutoTheta",
    }
    assert chosen.loc["b", "cv_mase"] == pytest.approx(0.8)
