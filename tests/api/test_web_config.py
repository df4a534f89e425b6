"""The storefront's shop name and currency come from the settings, through /web-config.js."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apishop import make_settings
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shopmind.api import create_app


def web_config(text: str) -> dict[str, object]:
    prefix = "window.SHOPMIND_CONFIG = "
    assert text.startswith(prefix)
    return dict(json.loads(text[len(prefix) :].strip().rstrip(";")))


def test_shop_name_and_currency_reach_the_storefront(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, shop_name="Teahouse 茶馆", currency="CNY", category_names_zh={"Tea": "茶", "Audio": "音频"}
    )
    with TestClient(create_app(settings, watch_interval_s=None)) as c:
        config = web_config(c.get("/web-config.js").text)
    assert config["shopName"] == "Teahouse 茶馆" and config["currency"] == "CNY"
    # the shop's own Chinese category names over the demo catalogue's
    names = config["categoryNamesZh"]
    assert isinstance(names, dict)
    assert names["Tea"] == "茶" and names["Audio"] == "音频" and names["Electronics"] == "电子产品"
    assert config["readKey"] is None


def test_defaults_and_bad_values(tmp_path: Path) -> None:
    server = make_settings(tmp_path).server
    assert (server.shop_name, server.currency) == ("Demo shop", "USD")
    with pytest.raises(ValidationError, match="currency"):
        make_settings(tmp_path, currency="dollars")
    with pytest.raises(ValidationError, match="shop_name"):
        make_settings(tmp_path, shop_name="")
