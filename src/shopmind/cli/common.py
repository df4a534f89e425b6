"""Shared CLI state and helpers: settings, the store, consoles, JSON output."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from shopmind.config import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


@dataclass
class _State:
    config_path: Path | None = None
    store_url: str | None = None
    debug: bool = False


STATE = _State()


def settings() -> Settings:
    s = load_settings(STATE.config_path)
    if STATE.store_url:
        s = s.model_copy(update={"store_url": STATE.store_url})
    return s


def open_configured_store(s: Settings | None = None):
    """Open the configured store, creating the parent folder of a SQLite file."""
    from shopmind.store import open_store

    s = s or settings()
    if s.store_url.startswith("sqlite:///"):
        Path(s.store_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return open_store(s.store_url)


def write_json(path: Path | None, payload: Any) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    err_console.print(f"wrote {path}")


def metric_rows_table(title: str, rows: list[dict[str, Any]]) -> Any:
    """A rich table of evaluation rows ``{"name", "metrics": {...}}``: one column per metric seen."""
    from rich.table import Table

    keys: list[str] = []
    for r in rows:
        keys += [k for k in r["metrics"] if k not in keys]
    table = Table(title=title)
    table.add_column("name")
    for k in keys:
        table.add_column(k, justify="right")
    for r in rows:
        table.add_row(r["name"], *(str(r["metrics"].get(k, "")) for k in keys))
    return table
