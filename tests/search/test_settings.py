"""The ``[search]`` section of shopmind.toml reaches the engine; bad values are ConfigErrors."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from shopmind.config import SearchConfig, load_settings
from shopmind.data.schema import Item
from shopmind.errors import ConfigError
from shopmind.search.service import SearchService, train

from .conftest import ITEMS


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shopmind.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _train(tmp_path: Path, settings) -> Path:  # type: ignore[no-untyped-def]
    from shopmind.store import open_store

    store = open_store(settings.store_url)
    store.upsert_items([Item(**{k: v for k, v in it.items() if k != "created_at"}) for it in ITEMS])
    ctx = SimpleNamespace(store=store, settings=settings, progress=lambda m: None)
    ctx.dataset = store.load_dataset()
    out = Path(settings.artifacts_dir) / "run1" / "search"
    try:
        train(ctx, out)
    finally:
        store.close()
    return out


def test_the_search_section_reaches_the_engine(tmp_path: Path) -> None:
    toml = f"""
store_url = "sqlite:///{tmp_path / "shop.db"}"
artifacts_dir = "{tmp_path / "artifacts"}"

[search]
semantic = false
k1 = 0.9
typo = false
fields = {{ title = 4.0, brand = 1.0 }}
"""
    settings = load_settings(_toml(tmp_path, toml), env={})
    assert settings.search == SearchConfig(
        semantic=False, k1=0.9, typo=False, fields={"title": 4.0, "brand": 1.0}
    )
    out = _train(tmp_path, settings)
    engine = SearchService.load(out, None, settings=settings).engine
    assert engine.config == settings.search  # saved with the index, read back on load
    assert (
        engine.semantic is None and engine.search("wireles headphones", mode="bm25").corrected_query is None
    )
    assert set(engine.lexical.fields) == {"title", "brand"}


def test_environment_overrides_the_search_section(tmp_path: Path) -> None:
    path = _toml(tmp_path, "[search]\ncandidates = 50\n")
    settings = load_settings(path, env={"SHOPMIND_SEARCH__CANDIDATES": "75"})
    assert settings.search.candidates == 75


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('fusion = "max"', "search.fusion"),
        ("alpha = 1.5", "search.alpha"),
        ("candidates = 0", "search.candidates"),
        ("boost_title = 2", "search.boost_title"),
        ("fields = { titel = 2.0 }", "search.fields"),
    ],
)
def test_a_bad_search_setting_names_the_file_and_field(tmp_path: Path, body: str, field: str) -> None:
    path = _toml(tmp_path, f"[search]\n{body}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert str(path) in str(err.value) and f"'{field}'" in str(err.value)


def test_search_config_raises_config_errors_directly() -> None:
    with pytest.raises(ConfigError, match="fusion"):
        SearchConfig(fusion="max")
    with pytest.raises(ConfigError, match=r"unknown setting 'search\.boost'"):
        SearchConfig.from_dict({"boost": 1})
    assert SearchConfig.from_dict(SearchConfig(k1=0.5).to_dict()) == SearchConfig(k1=0.5)


def test_a_leftover_config_json_is_refused_not_ignored(tmp_path: Path) -> None:
    settings = load_settings(
        _toml(
            tmp_path,
            f'store_url = "sqlite:///{tmp_path / "shop.db"}"\nartifacts_dir = "{tmp_path / "artifacts"}"\n',
        ),
        env={},
    )
    legacy = tmp_path / "search" / "config.json"
    legacy.parent.mkdir()
    legacy.write_text(json.dumps({"semantic": False}))
    with pytest.raises(ConfigError, match=r"\[search\] section"):
        _train(tmp_path, settings)
