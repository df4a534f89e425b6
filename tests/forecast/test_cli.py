"""`shopmind evaluate forecast` and `shopmind forecast` end to end (real SQLite store when available)."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from .conftest import shop_frames


def test_evaluate_forecast_writes_rows_with_seasonal_naive(tmp_path):
    from shopmind.cli import app

    out, dump = tmp_path / "bt.json", tmp_path / "scored.csv"
    result = CliRunner().invoke(
        app,
        ["evaluate", "forecast", "--dataset", "synthetic", "--n-series", "4", "--horizon", "7",
         "--model", "Naive", "--model", "SeasonalNaive", "--test-windows", "1", "--json", str(out),
         "--dump", str(dump)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["dataset"] == "synthetic"
    names = [r["name"] for r in payload["rows"]]
    assert names[0] == "auto" and "SeasonalNaive" in names
    for r in payload["rows"]:
        assert {"mase", "rmsse", "smape", "bias", "coverage_80", "coverage_95"} <= set(r["metrics"])
    # recompute every model's MASE from the dump with an independent scale computation
    from shopmind.evaluate.forecast import load_benchmark

    hist = load_benchmark("synthetic", None, n_series=4)
    scored = pd.read_csv(dump, parse_dates=["cutoff", "ds"])
    mase = {}
    for (model, uid, cutoff), part in scored.groupby(["model", "unique_id", "cutoff"]):
        y = hist[(hist["unique_id"] == uid) & (hist["ds"] <= cutoff)]["y"].to_numpy()
        scale = np.mean(np.abs(y[7:] - y[:-7]))
        mase.setdefault(model, []).append(np.mean(np.abs(part["y"] - part["mean"])) / scale)
    for r in payload["rows"]:
        assert np.mean(mase[r["name"]]) == pytest.approx(r["metrics"]["mase"], rel=1e-9)


def test_evaluate_forecast_unknown_dataset():
    from shopmind.cli import app

    result = CliRunner().invoke(app, ["evaluate", "forecast", "--dataset", "m5"])
    assert result.exit_code != 0


@pytest.mark.skipif(
    importlib.util.find_spec("shopmind.store.sql") is None, reason="shopmind.store.sql not built yet"
)
def test_forecast_command_live_and_from_artifacts(tmp_path, monkeypatch):
    from shopmind.cli import app
    from shopmind.data.schema import Item, SalesPoint
    from shopmind.store import open_store

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    sales, items = shop_frames(days=60)
    store = open_store(url)
    store.upsert_items(
        [
            Item(id=r.id, title=r.id, category=r.category, stock=int(r.stock), price=r.price)
            for r in items.itertuples()
        ]
    )
    store.add_sales(
        [SalesPoint(item_id=r.item_id, date=pd.Timestamp(r.date).date(), units=r.units, price=r.price, promo=r.promo)
         for r in sales.itertuples()]
    )  # fmt: skip
    store.close()
    monkeypatch.setenv("SHOPMIND_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    runner = CliRunner()
    no_art = runner.invoke(app, ["--store", url, "forecast", "--item", "weekly"])
    assert no_art.exit_code != 0  # nothing trained yet: a clear ArtifactError
    out = tmp_path / "f.json"
    live = runner.invoke(app, ["--store", url, "forecast", "--item", "weekly", "--live", "--json", str(out)])
    assert live.exit_code == 0, live.output
    f = json.loads(out.read_text())
    assert f["model"] == "SeasonalNaive" and len(f["forecast"]) == 28 and f["reorder_point"] > 0

    from types import SimpleNamespace

    from shopmind.config import ForecastTrainConfig
    from shopmind.forecast.service import NAME, train
    from shopmind.store.artifacts import ArtifactStore

    arts = ArtifactStore(tmp_path / "artifacts")
    run = arts.new_run()
    store = open_store(url)
    ctx = SimpleNamespace(
        store=store, settings=SimpleNamespace(training=SimpleNamespace(threads=1)), progress=print
    )
    train(ctx, run.path / NAME, ForecastTrainConfig(horizon=7, top_n=1))
    store.close()
    arts.publish(run, {"components": {NAME: {}}})
    inv = tmp_path / "inv.json"
    res = runner.invoke(app, ["--store", url, "forecast", "--inventory", "--json", str(inv)])
    assert res.exit_code == 0, res.output
    rows = json.loads(inv.read_text())["inventory"]
    assert {r["item_id"] for r in rows} == {"weekly", "steady", "slow"}
    one = runner.invoke(
        app, ["--store", url, "forecast", "--inventory", "--item", "steady", "--json", str(inv)]
    )
    assert one.exit_code == 0, one.output
    assert [r["item_id"] for r in json.loads(inv.read_text())["inventory"]] == ["steady"]
    cat = runner.invoke(app, ["--store", url, "forecast", "--category", "Garden", "--horizon", "3"])
    assert cat.exit_code == 0, cat.output
