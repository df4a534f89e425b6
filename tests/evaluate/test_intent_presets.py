"""Intent presets: tuned intent configurations are data, applied by ``evaluate intents --preset``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopmind.assistant.intents import IntentConfig
from shopmind.errors import ConfigError
from shopmind.presets import available, load_preset, load_presets

from .test_assistant_oos import files, invoke  # noqa: F401 - the fixture is used by name


def test_library_default_is_not_the_benchmark_tuned_weight() -> None:
    assert IntentConfig().oos_msp_weight == 1.0
    assert load_preset("banking77").intents == {"oos_msp_weight": 0.5}
    assert {"banking77", "banking77-10shot"} <= set(available())


def test_presets_merge_in_order_and_validate(tmp_path: Path) -> None:
    merged = IntentConfig.from_presets(load_presets(["banking77-10shot", "banking77"]))
    assert merged.knn_weight == 0.25 and merged.label_examples is True and merged.oos_msp_weight == 0.5
    assert IntentConfig.from_presets(load_presets(["banking77"]), oos_msp_weight=0.8).oos_msp_weight == 0.8
    bad = tmp_path / "bad.toml"
    bad.write_text("[intents]\nknn_weigth = 0.3\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: \[intents\]: 'knn_weigth'"):
        IntentConfig.from_presets(load_presets([bad]))


def test_cli_preset_sets_the_config_and_flags_override_it(files, tmp_path: Path) -> None:  # noqa: F811
    train, test = files
    out = tmp_path / "p.json"
    args = ["--train", str(train), "--test", str(test), "--oos-label", "oos", "--model", "tfidf"]
    r = invoke([*args, "--preset", "banking77-10shot", "--knn-weight", "0", "--json", str(out)])
    assert r.exit_code == 0, (r.output, r.exception)
    doc = json.loads(out.read_text())
    assert doc["presets"] == ["banking77-10shot"]
    r = invoke([*args, "--preset", "no-such-preset"])
    assert r.exit_code != 0 and "unknown preset" in str(r.exception)
