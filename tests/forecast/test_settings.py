"""The ``[forecast]`` section of shopmind.toml reaches training; bad values are ConfigErrors."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from shopmind.config import ForecastTrainConfig, load_settings
from shopmind.errors import ConfigError
from shopmind.forecast.service import NAME, train

from .conftest import FakeStore


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shopmind.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_forecast_section_reaches_training(tmp_path: Path) -> None:
    from .conftest import shop_frames

    settings = load_settings(
        _toml(tmp_path, "[training]\nthreads = 1\n\n[forecast]\nhorizon = 5\ntop_n = 1\ninput_size = 60\n"),
        env={},
    )
    assert settings.forecast == ForecastTrainConfig(horizon=5, top_n=1, input_size=60)
    sales, items = shop_frames()
    ctx = SimpleNamespace(
        store=FakeStore(sales=sales, items=items), settings=settings, progress=lambda m: None
    )
    info = train(ctx, tmp_path / NAME)  # no explicit config: the settings' section
    assert info["n_top"] == 1 and info["n_tail"] == 2
    manifest = json.loads((tmp_path / NAME / "manifest.json").read_text())
    assert manifest["config"]["horizon"] == 5 and manifest["config"]["input_size"] == 60


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("horizon = 0", "forecast.horizon"),
        ('freq = "M"', "forecast.freq"),
        ("windows = 3", "forecast.windows"),
        ('top_n = "many"', "forecast.top_n"),
    ],
)
def test_a_bad_forecast_setting_names_the_file_and_field(tmp_path: Path, body: str, field: str) -> None:
    path = _toml(tmp_path, f"[forecast]\n{body}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert str(path) in str(err.value) and f"'{field}'" in str(err.value)


def test_the_seasonal_naive_fallback_is_a_setting(tmp_path: Path) -> None:
    from shopmind.forecast.service import full_config, tail_config

    off = load_settings(_toml(tmp_path, "[forecast]\nhorizon = 7\n"), env={}).forecast
    on = load_settings(_toml(tmp_path, "[forecast]\nbenchmark_fallback = true\n"), env={}).forecast
    assert not full_config(off).benchmark_fallback
    assert full_config(on).benchmark_fallback and tail_config(on).benchmark_fallback
