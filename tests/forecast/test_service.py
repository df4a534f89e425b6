"""Training component → artifacts → ForecastService: forecasts, bottom-up sums, inventory advice."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from shopmind.config import ForecastTrainConfig
from shopmind.errors import ArtifactError, ConfigError, DataError, UnknownIdError
from shopmind.forecast.series import CATEGORY_PREFIX, TOTAL_ID
from shopmind.forecast.service import NAME, ForecastService, train

from .conftest import FakeStore

CFG = ForecastTrainConfig(horizon=7, n_windows=2, top_n=2, input_size=None, history_days=28)


def _ctx(store):
    return SimpleNamespace(
        store=store, settings=SimpleNamespace(training=SimpleNamespace(threads=1)), progress=lambda m: None
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from .conftest import shop_frames

    sales, items = shop_frames()
    store = FakeStore(sales=sales, items=items)
    out = tmp_path_factory.mktemp("run") / NAME
    info = train(_ctx(store), out, CFG)
    return store, out, info


def test_train_writes_transparent_artifacts(trained):
    _, out, info = trained
    assert NAME == "forecast"
    assert info["n_items"] == 3 and info["n_top"] == 2 and info["n_tail"] == 1
    names = {p.name for p in out.iterdir()}
    assert {
        "forecasts.parquet",
        "history.parquet",
        "choice.parquet",
        "calibration.json",
        "manifest.json",
    } <= names
    assert not any(p.suffix in (".pkl", ".pickle", ".joblib") for p in out.iterdir())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["config"]["horizon"] == 7


def test_item_forecast_has_history_intervals_and_reorder_point(trained):
    store, out, _ = trained
    svc = ForecastService.load(out, store)
    f = svc.forecast(item_id="weekly")
    assert f["level"] == "item" and f["model"] == "SeasonalNaive"  # a pure weekly pattern
    assert len(f["forecast"]) == 7 and len(f["history"]) == 28
    pattern = [5, 1, 1, 2, 3, 8, 10]
    # 120 days from Mon 2024-01-01: the next day is index 120 % 7 = 1 of the pattern
    assert [p["mean"] for p in f["forecast"]] == pytest.approx([pattern[(120 + k) % 7] for k in range(7)])
    for p in f["forecast"]:
        assert p["lo_95"] <= p["lo_80"] <= p["mean"] <= p["hi_80"] <= p["hi_95"]
    inv = f["inventory"]
    assert f["reorder_point"] == pytest.approx(inv["lead_time_demand"] + inv["safety_stock"])
    assert inv["lead_time_demand"] == pytest.approx(sum(pattern))
    assert inv["stock"] == 3 and inv["status"] == "stockout_risk"
    assert svc.forecast(item_id="steady", horizon=3)["forecast"][0]["mean"] == pytest.approx(4.0)
    assert len(svc.forecast(item_id="steady", horizon=3)["forecast"]) == 3


def test_categories_and_total_are_bottom_up_sums(trained):
    store, out, _ = trained
    svc = ForecastService.load(out, store)
    fc = svc.data.forecasts
    items = fc[fc["level"] == "item"]
    total = fc[fc["unique_id"] == TOTAL_ID].set_index("ds")["mean"]
    np.testing.assert_allclose(total.to_numpy(), items.groupby("ds")["mean"].sum().to_numpy())
    home = svc.forecast(category="Home")
    expect = items[items["unique_id"].isin(["weekly", "steady"])].groupby("ds")["mean"].sum()
    assert [p["mean"] for p in home["forecast"]] == pytest.approx(expect.tolist())
    cats = fc[fc["level"] == "category"].groupby("ds")["mean"].sum()
    np.testing.assert_allclose(cats.to_numpy(), total.to_numpy())
    t = svc.forecast()
    assert t["level"] == "total" and t["model"] == "BottomUp"
    for p in t["forecast"]:
        assert p["lo_95"] <= p["mean"] <= p["hi_95"]
    assert CATEGORY_PREFIX + "Garden" in set(fc["unique_id"])


def test_inventory_list_sorted_by_risk(trained):
    store, out, _ = trained
    svc = ForecastService.load(out, store)
    rows = svc.inventory(service_level=0.9, lead_time_days=7)
    assert rows[0]["item_id"] == "weekly"  # 3 in stock for ~30/week
    by = {r["item_id"]: r for r in rows}
    assert by["steady"]["status"] == "overstock"  # 500 units at 4/day = 125 days
    assert by["steady"]["days_of_cover"] == pytest.approx(125.0, rel=0.05)
    assert all("explain" in r for r in rows)
    assert [r["item_id"] for r in svc.inventory(status="overstock")] == ["steady"]
    # stock is read live from the store: restocking changes the advice without retraining
    store.items.loc[store.items["id"] == "weekly", "stock"] = 60
    assert ForecastService.load(out, store).inventory(item_ids=["weekly"])[0]["status"] == "ok"
    store.items.loc[store.items["id"] == "weekly", "stock"] = 3


def test_unknown_ids_and_bad_horizon(trained):
    store, out, _ = trained
    svc = ForecastService.load(out, store)
    with pytest.raises(UnknownIdError, match="no sales history"):
        svc.forecast(item_id="new")  # in the catalogue, never sold
    with pytest.raises(UnknownIdError, match="unknown item"):
        svc.forecast(item_id="nope")
    with pytest.raises(UnknownIdError):
        svc.forecast(category="Toys")
    with pytest.raises(ConfigError, match="horizon"):
        svc.forecast(item_id="weekly", horizon=8)
    with pytest.raises(ConfigError):
        svc.forecast(item_id="weekly", category="Home")
    with pytest.raises(UnknownIdError):
        svc.inventory(item_ids=["nope"])


def test_empty_store_trains_nothing_and_load_says_so(tmp_path):
    store = FakeStore(
        sales=pd.DataFrame(columns=["item_id", "date", "units"]), items=pd.DataFrame({"id": []})
    )
    info = train(_ctx(store), tmp_path / NAME, CFG)
    assert info["n_items"] == 0
    with pytest.raises(ArtifactError, match="no series"):
        ForecastService.load(tmp_path / NAME, store)
    with pytest.raises(DataError, match="no sales"):
        ForecastService.live(store, CFG)


def test_unchanged_series_reuse_the_result_and_a_new_sale_fits_again(tmp_path, monkeypatch):
    import shopmind.forecast.service as service
    from shopmind.forecast.series import series_from_store
    from shopmind.train_cache import ChoiceCache

    from .conftest import shop_frames

    sales, items = shop_frames()
    cache = ChoiceCache(tmp_path, "forecast")
    fits: list[int] = []
    real_fit = service.fit_store

    def counting_fit(*args, **kwargs):
        fits.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(service, "fit_store", counting_fit)

    def fit(sales_frame):
        series = series_from_store(FakeStore(sales=sales_frame, items=items), freq="D")
        return service.remembered_fit_store(cache, series, CFG)

    first, again = fit(sales), fit(sales.copy())
    assert len(fits) == 1 and first.info["reused"] is False and again.info["reused"] is True
    for name in ("forecasts", "history", "choice"):  # the artifacts are written without the index
        pd.testing.assert_frame_equal(
            getattr(again, name).reset_index(drop=True), getattr(first, name).reset_index(drop=True)
        )
    assert {t: c.to_json() for t, c in again.calibration.items()} == {
        t: c.to_json() for t, c in first.calibration.items()
    }
    assert again.category_of == first.category_of
    # one more sale, or another setting: fitted again
    extra = pd.DataFrame(
        [("steady", sales["date"].max() + pd.Timedelta(days=1), 9.0, 20.0, False)], columns=sales.columns
    )
    fit(pd.concat([sales, extra], ignore_index=True))
    series = series_from_store(FakeStore(sales=sales, items=items), freq="D")
    service.remembered_fit_store(cache, series, CFG.model_copy(update={"horizon": 14}))
    assert len(fits) == 3


def test_train_reuses_the_forecasts_of_unchanged_sales(tmp_path):
    from .conftest import shop_frames

    sales, items = shop_frames()
    store = FakeStore(sales=sales, items=items)
    ctx = SimpleNamespace(
        store=store,
        settings=SimpleNamespace(training=SimpleNamespace(threads=1), artifacts_dir=tmp_path / "artifacts"),
        progress=lambda m: None,
    )
    train(ctx, tmp_path / "a" / NAME, CFG)
    train(ctx, tmp_path / "b" / NAME, CFG)
    first = json.loads((tmp_path / "a" / NAME / "manifest.json").read_text())
    second = json.loads((tmp_path / "b" / NAME / "manifest.json").read_text())
    assert first["reused"] is False and second["reused"] is True
    assert any((tmp_path / "cache" / "choices").glob("forecast-*.json"))  # beside the artifacts
    for name in ("forecasts.parquet", "choice.parquet", "history.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "b" / NAME / name), pd.read_parquet(tmp_path / "a" / NAME / name)
        )
    loaded = ForecastService.load(tmp_path / "b" / NAME, store)
    assert loaded.forecast(item_id="weekly")["model"] is not None
