"""Tuned hyper-parameter presets: configurations tuned on one data set, kept as data.

Library defaults are each method's published or standard settings (the config classes cite them). A
configuration tuned on a benchmark lives here instead, as a TOML file that ships with the package::

    description = "…"
    tuning_record = "docs/bench/recommend.md#…"   # where the tuning history is written down

    [recommend.ease_context]          # algorithm name → its config (missing keys: library defaults)
    l2 = 500.0
    low_pass_rank = 40

    [intents]                         # the intent classifier's config (shopmind.assistant.intents)
    oos_msp_weight = 0.5

A preset is named by its file stem (``ml-100k`` → ``shopmind/presets/ml-100k.toml``) or given as a path
to any ``.toml`` file of the same form. ``shopmind evaluate recommend --preset NAME`` and the setting
``training.recommender_presets`` apply the ``recommend`` tables; ``shopmind evaluate intents --preset NAME``
the ``intents`` table. Loading checks the file's shape (known top-level keys, tables where tables
belong); the values are checked by their owner before any model is fitted —
:func:`shopmind.recommend.registry.check_presets` for ``[recommend.*]`` tables and
:meth:`shopmind.assistant.intents.IntentConfig.from_presets` for ``[intents]`` — so this module stays
below every capability.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopmind.errors import ConfigError

PRESET_DIR = Path(__file__).resolve().parent
"""Where the named presets are (package data)."""

MAX_PRESET_BYTES = 1_000_000
"""A preset file larger than this is refused (presets are a few hundred bytes)."""

TOP_LEVEL = frozenset({"description", "tuning_record", "recommend", "intents"})
"""Keys a preset file may have at its top level."""


@dataclass(frozen=True)
class Preset:
    """One loaded preset: ``recommend`` maps an algorithm name to its config table."""

    name: str
    path: Path
    description: str = ""
    tuning_record: str = ""
    recommend: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, Any] = field(default_factory=dict)

    def recommend_config(self, algorithm: str) -> dict[str, Any] | None:
        """A copy of the preset's config for ``algorithm``, or None when the preset has none."""
        cfg = self.recommend.get(algorithm)
        return copy.deepcopy(cfg) if cfg is not None else None


def available() -> list[str]:
    """Names of the presets shipped with the package."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def preset_path(spec: str | Path) -> Path:
    """The file of a preset name (``ml-100k``) or path (``my/preset.toml``); ConfigError if neither."""
    text = str(spec).strip()
    if not text:
        raise ConfigError("empty preset name", expected=f"one of {', '.join(available())} or a .toml path")
    named = PRESET_DIR / f"{text}.toml"
    if "/" not in text and "\\" not in text and not text.endswith(".toml") and named.is_file():
        return named
    path = Path(text).expanduser()
    if path.is_file():
        return path
    raise ConfigError(
        "unknown preset", value=text, expected=f"one of {', '.join(available())} or a path to a .toml file"
    )


def load_preset(spec: str | Path) -> Preset:
    """Read a preset and check its shape (see module docstring); errors name the file and the table."""
    path = preset_path(spec)
    size = path.stat().st_size
    if size > MAX_PRESET_BYTES:
        raise ConfigError(
            f"{path}: preset file too large", value=f"{size} bytes", expected=f"at most {MAX_PRESET_BYTES}"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    unknown = sorted(set(data) - TOP_LEVEL)
    if unknown:
        raise ConfigError(
            f"{path}: unknown top-level key", value=", ".join(unknown), expected=", ".join(sorted(TOP_LEVEL))
        )
    for key in ("description", "tuning_record"):
        if not isinstance(data.get(key, ""), str):
            raise ConfigError(f"{path}: '{key}' must be a string", value=data[key])
    recommend = data.get("recommend", {})
    if not isinstance(recommend, dict):
        raise ConfigError(f"{path}: [recommend] must be a table of algorithm tables", value=recommend)
    for algorithm, cfg in recommend.items():
        if not isinstance(cfg, dict):
            raise ConfigError(f"{path}: [recommend.{algorithm}] must be a table", value=cfg)
    intents = data.get("intents", {})
    if not isinstance(intents, dict):
        raise ConfigError(f"{path}: [intents] must be a table", value=intents)
    name = path.stem if path.parent == PRESET_DIR else str(path)
    return Preset(
        name=name,
        path=path,
        description=data.get("description", ""),
        tuning_record=data.get("tuning_record", ""),
        recommend={a: dict(c) for a, c in recommend.items()},
        intents=dict(intents),
    )


def load_presets(specs: Sequence[str | Path]) -> list[Preset]:
    """:func:`load_preset` of each name/path, in order."""
    return [load_preset(s) for s in specs]


def recommend_config(
    presets: Sequence[Preset], algorithm: str, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """``algorithm``'s config: the tables of ``presets`` applied in order, then ``overrides`` (each a
    shallow update, key by key), or None when none of them configures it (library defaults)."""
    out: dict[str, Any] | None = None
    for preset in presets:
        cfg = preset.recommend_config(algorithm)
        if cfg is not None:
            out = {**(out or {}), **cfg}
    if overrides:
        out = {**(out or {}), **copy.deepcopy(dict(overrides))}
    return out
