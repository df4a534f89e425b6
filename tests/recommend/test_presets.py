"""Tuned presets (``shopmind.presets``): neutral library defaults, benchmark configurations as data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from shopmind.config import load_settings
from shopmind.data.dataset import Dataset
from shopmind.errors import ConfigError
from shopmind.presets import PRESET_DIR, available, load_preset, recommend_config
from shopmind.recommend import get_algorithm
from shopmind.recommend.registry import check_presets

SRC = Path(__file__).resolve().parents[2] / "src" / "shopmind"
BENCHMARK_NAMES = re.compile(r"ml-?100k|movielens|beauty|banking", re.IGNORECASE)

# algorithms whose configurations were tuned on one benchmark (and used to be their library defaults)
TUNED = {
    "ml-100k": ["ease_context", "ease_context_fused", "bpr", "stacked", "neumf", "hybrid", "als"],
    "beauty": ["seq_hybrid", "seq_rules", "sasrec"],
}


def test_shipped_presets_load_and_validate() -> None:
    assert {"ml-100k", "beauty"} <= set(available())
    for name in available():
        preset = load_preset(name)
        assert preset.name == name and (preset.recommend or preset.intents)
        assert preset.tuning_record.startswith("docs/bench/")
        assert (SRC.parent.parent / preset.tuning_record.split("#")[0]).exists()
        for algorithm, cfg in preset.recommend.items():
            get_algorithm(algorithm)(cfg)  # composite configs (components) are checked on construction


@pytest.mark.parametrize("preset", sorted(TUNED))
def test_library_defaults_are_not_the_benchmark_configuration(preset: str) -> None:
    """The tuned configurations live in the preset, not in the config classes' defaults."""
    p = load_preset(preset)
    for algorithm in TUNED[preset]:
        cls = get_algorithm(algorithm)
        assert cls.Config() != cls.Config.model_validate(p.recommend[algorithm]), algorithm


def test_no_benchmark_name_in_the_algorithms() -> None:
    """Docstrings and defaults of the algorithms carry no benchmark's name (tuning history: docs/bench)."""
    hits = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted((SRC / "recommend").glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if BENCHMARK_NAMES.search(line)
    ]
    assert hits == []


def test_preset_by_path_and_merge_order(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    a.write_text("[recommend.ease]\nl2 = 100.0\nsequence_weight = 1.0\n[recommend.item_knn]\nk = 7\n")
    b = tmp_path / "b.toml"
    b.write_text("[recommend.ease]\nl2 = 200.0\n")
    presets = [load_preset(a), load_preset(str(b))]
    assert recommend_config(presets, "ease") == {"l2": 200.0, "sequence_weight": 1.0}
    assert recommend_config(presets, "ease", {"l2": 5.0}) == {"l2": 5.0, "sequence_weight": 1.0}
    assert recommend_config(presets, "item_knn") == {"k": 7}
    assert recommend_config(presets, "als") is None  # not configured: library defaults
    assert recommend_config([], "als", {"factors": 8}) == {"factors": 8}
    # callers get copies: editing one does not change the preset
    cfg = presets[0].recommend_config("ease")
    assert cfg is not None
    cfg["l2"] = -1
    assert presets[0].recommend["ease"]["l2"] == 100.0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[recommend.no_such_model]\nk = 1\n", "unknown recommender"),
        ("[recommend.ease]\nl2 = -5.0\n", r"recommend\.ease.*'l2'"),
        ("[recommend.ease]\nlambda = 5.0\n", r"recommend\.ease.*'lambda'"),
        ("[recommend]\nease = 3\n", "must be a table"),
        ("[intent]\nx = 1\n", "unknown top-level key"),
        ("description = 3\n", "'description' must be a string"),
        ("[recommend.ease\n", "invalid TOML"),
    ],
)
def test_bad_preset_files_name_the_file_and_table(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as err:
        check_presets([load_preset(path)])  # shape errors at loading, values at the registry's check
    assert "bad.toml" in str(err.value)


def test_unknown_preset_name_lists_the_shipped_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown preset") as err:
        load_preset("no-such-preset")
    assert "ml-100k" in str(err.value)
    with pytest.raises(ConfigError):
        load_preset("")
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * 1_100_000)
    with pytest.raises(ConfigError, match="too large"):
        load_preset(big)


def test_presets_ship_as_package_data() -> None:
    """Named presets resolve from the package (installed or clean clone), not from bench/."""
    assert PRESET_DIR == SRC / "presets"
    pyproject = (SRC.parent.parent / "pyproject.toml").read_text()
    assert '"presets/*.toml"' in pyproject


def test_training_presets_configure_the_shop_components(tmp_path: Path) -> None:
    from shopmind.recommend.service import build_components

    events = pd.DataFrame(
        {"user_id": ["u1", "u1", "u2"], "item_id": ["a", "b", "a"], "type": "view", "timestamp": [1, 2, 3]}
    )
    ds = Dataset.from_frame(events)
    plain = build_components(["ease", "item_knn", "bpr"], ds)
    assert plain["bpr"] == {} and plain["item_knn"] == {}
    tuned = build_components(["ease", "item_knn", "bpr"], ds, ["ml-100k"])
    ml = load_preset("ml-100k").recommend
    assert tuned["bpr"] == ml["bpr"] and tuned["item_knn"] == ml["item_knn"]
    assert tuned["ease"]["l2"] == ml["ease"]["l2"]
    assert tuned["ease"]["precision"] == plain["ease"]["precision"]  # the service's own setting stays
    with pytest.raises(ConfigError, match="unknown preset"):
        build_components(["ease"], ds, ["no-such-preset"])


def test_setting_recommender_presets(tmp_path: Path) -> None:
    cfg = tmp_path / "shopmind.toml"
    cfg.write_text('[training]\nrecommender_presets = ["ml-100k"]\n')
    assert load_settings(cfg, env={}).training.recommender_presets == ["ml-100k"]
    assert load_settings(None, env={}).training.recommender_presets == []
    env = {"SHOPMIND_TRAINING__RECOMMENDER_PRESETS": '["beauty", "my.toml"]'}
    assert load_settings(None, env=env).training.recommender_presets == ["beauty", "my.toml"]


def _chain_file(path: Path) -> Path:
    rng = np.random.default_rng(1)
    lines = []
    for u in range(40):
        start = rng.integers(0, 20)
        lines.append(" ".join([str(u)] + [str((start + j) % 25) for j in range(6)]))
    path.write_text("\n".join(lines) + "\n")
    return path


def make_cli() -> typer.Typer:
    from shopmind.cli.evaluate_recommend import register

    app, ev = typer.Typer(), typer.Typer()
    app.add_typer(ev, name="evaluate")
    register(app, ev)
    return app


def test_cli_preset_is_applied_and_recorded(tmp_path: Path) -> None:
    f = _chain_file(tmp_path / "seq.txt")
    out = tmp_path / "res.json"
    base = ["evaluate", "recommend", "--dataset", "sequences", "--data-file", str(f), "--protocol", "loo"]
    r = CliRunner().invoke(make_cli(), [*base, "-a", "seq_rules", "--preset", "beauty", "--json", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["presets"] == ["beauty"]
    assert doc["params"]["seq_rules"] == load_preset("beauty").recommend["seq_rules"]
    assert doc["provenance"]["versions"]["numpy"] == np.__version__
    # --params wins over the preset
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"seq_rules": {"window": 1}}))
    args = [*base, "-a", "seq_rules", "--preset", "beauty", "--params", str(params), "--json", str(out)]
    r = CliRunner().invoke(make_cli(), args)
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["params"]["seq_rules"]["window"] == 1
    r = CliRunner().invoke(make_cli(), [*base, "-a", "seq_rules", "--preset", "no-such-preset"])
    assert isinstance(r.exception, ConfigError)
