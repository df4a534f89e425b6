"""Model artifacts: one directory per training run and an atomically switched ``current`` pointer.

Layout under ``root`` (``var/artifacts`` by default)::

    runs/20261129T123456.123456-3fa2b1/   one training run
        manifest.json                 {"id", "status": "ok"|"failed"|"running", "created_at", ...}
        recommend/ search/ ...        one folder per component: .npz/.npy arrays + JSON (no pickle)
    current -> runs/20261129T123456.123456-3fa2b1

Publishing writes the manifest, then creates a temporary symlink next to ``current`` and renames it
over ``current`` with :func:`os.replace` — a single ``rename(2)``, so a reader resolving ``current``
sees either the old run or the new one, never a missing or half-written pointer. Run ids start with a
UTC timestamp, so sorting ids sorts runs by creation time.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.errors import ArtifactError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Run:
    """One training run: its id and its directory."""

    id: str
    path: Path

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def manifest(self) -> dict[str, Any]:
        return load_json(self.manifest_path)


class ArtifactStore:
    """Training runs under ``root/runs`` with a ``root/current`` symlink (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.current_link = self.root / "current"

    def __repr__(self) -> str:
        return f"ArtifactStore({str(self.root)!r})"

    # ------------------------------------------------------------------ runs
    def new_run(self) -> Run:
        """Create ``runs/<UTC timestamp>-<random hex>/`` with a ``running`` manifest."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        while True:
            # Microseconds in the id: runs created within one second still sort in creation order.
            run_id = f"{now:%Y%m%dT%H%M%S.%f}-{secrets.token_hex(3)}"
            path = self.runs_dir / run_id
            try:
                path.mkdir()
                break
            except FileExistsError:  # pragma: no cover - 24 random bits collided within a second
                continue
        run = Run(run_id, path)
        save_json(
            run.manifest_path,
            {
                "id": run_id,
                "status": "running",
                "created_at": now.isoformat(),
                "format_version": FORMAT_VERSION,
            },
        )
        log.info("new artifact run %s", run_id)
        return run

    def run(self, run_id: str) -> Run:
        """The run with this id; :class:`ArtifactError` if it does not exist."""
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise ArtifactError(
                "invalid run id", value=run_id, expected="a run id like 20261129T123456.123456-abc123"
            )
        path = self.runs_dir / run_id
        if not path.is_dir():
            raise ArtifactError("no such run", value=run_id, expected=f"one of {self._ids()[-5:]}")
        return Run(run_id, path)

    def publish(self, run: Run, manifest: dict[str, Any]) -> Run:
        """Mark ``run`` successful (manifest status ``ok`` + ``manifest``) and point ``current`` at it."""
        base = self._read_manifest(run)
        info = {**base, **manifest}
        info.update(
            id=run.id,
            status="ok",
            created_at=base.get("created_at", datetime.now(UTC).isoformat()),
            published_at=datetime.now(UTC).isoformat(),
            format_version=FORMAT_VERSION,
        )
        save_json(run.manifest_path, info)
        self._point_current_at(run)
        log.info("published artifact run %s", run.id)
        return run

    def fail(self, run: Run, error: str) -> None:
        """Mark ``run`` failed with ``error``; ``current`` is not touched."""
        info = self._read_manifest(run)
        info.update(id=run.id, status="failed", error=str(error), failed_at=datetime.now(UTC).isoformat())
        save_json(run.manifest_path, info)
        log.warning("artifact run %s failed: %s", run.id, error)

    def current(self) -> Run | None:
        """The published run ``current`` points at, or ``None`` before the first publish."""
        if not self.current_link.is_symlink() and not self.current_link.exists():
            return None
        target = self.current_link.resolve()
        if not target.is_dir():
            raise ArtifactError(
                "'current' points at a missing run", value=str(target), expected="an existing run directory"
            )
        return Run(target.name, target)

    def runs(self) -> list[dict[str, Any]]:
        """Manifests of every run, newest first; ``current: true`` marks the served one."""
        current = self.current()
        out = []
        for run_id in reversed(self._ids()):
            run = Run(run_id, self.runs_dir / run_id)
            info = self._read_manifest(run)
            info.setdefault("id", run_id)
            info.setdefault("status", "unknown")
            info["current"] = current is not None and current.id == run_id
            out.append(info)
        return out

    def activate(self, run_id: str) -> Run:
        """Point ``current`` at an earlier successful run (refuses failed or unfinished runs)."""
        run = self.run(run_id)
        status = self._read_manifest(run).get("status")
        if status != "ok":
            raise ArtifactError("only successful runs can be activated", value=status, expected="status 'ok'")
        self._point_current_at(run)
        log.info("activated artifact run %s", run.id)
        return run

    def rollback(self) -> Run:
        """Activate the newest successful run older than the current one."""
        current = self.current()
        if current is None:
            raise ArtifactError("nothing to roll back: no run is current")
        older = [
            rid
            for rid in self._ids()
            if rid < current.id and self._read_manifest(Run(rid, self.runs_dir / rid)).get("status") == "ok"
        ]
        if not older:
            raise ArtifactError(
                "no earlier successful run to roll back to",
                value=current.id,
                expected="an older run with status 'ok'",
            )
        return self.activate(older[-1])

    def prune(self, keep: int = 5) -> list[str]:
        """Delete all but the newest ``keep`` successful runs (never the current one) and old failed runs."""
        current = self.current()
        ok = [r["id"] for r in self.runs() if r.get("status") == "ok"]
        keep_ids = set(ok[:keep]) | ({current.id} if current else set())
        removed = []
        for info in self.runs():
            if info["id"] in keep_ids or info.get("status") == "running":
                continue
            shutil.rmtree(self.runs_dir / info["id"], ignore_errors=True)
            removed.append(info["id"])
        return removed

    # ------------------------------------------------------------------ internals
    def _ids(self) -> list[str]:
        if not self.runs_dir.is_dir():
            return []
        return sorted(p.name for p in self.runs_dir.iterdir() if p.is_dir() and not p.name.startswith("."))

    def _read_manifest(self, run: Run) -> dict[str, Any]:
        try:
            data = load_json(run.manifest_path)
        except ArtifactError:
            return {}
        return data if isinstance(data, dict) else {}

    def _point_current_at(self, run: Run) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".current-{secrets.token_hex(4)}"
        # Relative target: the artifacts folder can be moved or mounted elsewhere as a whole.
        os.symlink(os.path.relpath(run.path, self.root), tmp)
        try:
            os.replace(tmp, self.current_link)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise


# ---------------------------------------------------------------------------- helpers for components
def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def save_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as UTF-8 JSON atomically (temp file + ``os.replace``); numpy scalars/arrays allowed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(
            json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default, allow_nan=False) + "\n",
            encoding="utf-8",
        )
        os.replace(tmp, path)
    except (TypeError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise ArtifactError(f"cannot write JSON: {exc}", value=str(path)) from exc
    return path


def load_json(path: str | Path) -> Any:
    """Read a JSON artifact; :class:`ArtifactError` naming the file when missing or corrupt."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactError(
            "artifact file missing", value=str(path), expected="an existing JSON file"
        ) from exc
    except json.JSONDecodeError as exc:
        raise ArtifactError(
            f"corrupt JSON at line {exc.lineno} column {exc.colno}", value=str(path), expected="valid JSON"
        ) from exc


__all__ = ["ArtifactStore", "Run", "load_json", "save_json"]
