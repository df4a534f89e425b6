"""Settings from the environment: SHOPMIND_* variables map to settings, except the process variables."""

from __future__ import annotations

import pytest

from shopmind.config import load_settings
from shopmind.errors import ConfigError


def test_process_variables_are_not_settings() -> None:
    env = {
        "SHOPMIND_CACHE_DIR": "var/models",
        "SHOPMIND_ONNX": "0",
        "SHOPMIND_DATASETS": "/data",
        "SHOPMIND_SERVER__PORT": "9001",
    }
    assert load_settings(None, env=env).server.port == 9001


def test_an_unknown_variable_is_still_an_error() -> None:
    with pytest.raises(ConfigError, match="cache_dri"):
        load_settings(None, env={"SHOPMIND_CACHE_DRI": "var/models"})
