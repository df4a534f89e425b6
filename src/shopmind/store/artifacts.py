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

**Integrity.** :meth:`ArtifactStore.publish` records the SHA-256 digest and size of every file of the
run in the manifest (``files``) and seals the manifest itself with a digest of its canonical JSON
(``checksum``). :meth:`ArtifactStore.verify` re-hashes the files before a run is loaded: a flipped
byte, a truncated, missing or unexpected file, or an edited manifest makes the run refused instead of
silently served (see :class:`IntegrityReport`). Runs published before checksums existed have neither
field and are reported as unverified.

**Crash safety.** A run's manifest names the process that trains it (host, boot id, pid and the pid's
start time, :func:`process_identity`), so a run left ``running`` by a killed process can be told from
a live one (:func:`owner_alive`). :meth:`ArtifactStore.fail` first deletes the failed run's partial
outputs (space it frees is what recording the failure needs on a full disk) and, if even then no new
file can be written, overwrites the manifest in place inside the bytes reserved for it at
:meth:`ArtifactStore.new_run`. :meth:`ArtifactStore.prune` applies the retention policy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from shopmind.errors import ArtifactError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT_VERSION = 2
"""2: the manifest lists every file's SHA-256 (``files``) and is sealed by ``checksum``."""
MANIFEST_RESERVE = 8192
"""Bytes of trailing whitespace a ``running`` manifest is written with: on a full disk the failure
record is written over them in place, where no new block has to be allocated."""
MAX_ERROR_CHARS = 4000
HASH_CHUNK = 1 << 20


class ArtifactIntegrityError(ArtifactError):
    """A run's files do not match the checksums in its manifest (corrupt, truncated, missing, extra)."""

    def __init__(self, report: IntegrityReport) -> None:
        self.report = report
        super().__init__(
            f"run {report.run_id} failed its integrity check: {report.summary()}",
            expected="files matching the SHA-256 checksums in the run's manifest.json",
        )


@dataclass(frozen=True)
class IntegrityReport:
    """What :meth:`ArtifactStore.verify` found for one run.

    ``problems`` maps a file path relative to the run (``recommend/pools.npz``) to what is wrong with
    it; ``manifest.json`` itself appears there when it cannot be read or its seal does not match.
    ``legacy``: the run was published before checksums (nothing could be verified).
    """

    run_id: str
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    problems: dict[str, str] = field(default_factory=dict)
    legacy: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def by_component(self) -> dict[str, list[str]]:
        """Problems grouped by the run's top-level folder (``""`` for files at the top)."""
        out: dict[str, list[str]] = {}
        for path, what in sorted(self.problems.items()):
            out.setdefault(_component_of(path), []).append(f"{path}: {what}")
        return out

    def restricted_to(self, components: Iterable[str]) -> IntegrityReport:
        """The problems of these components' folders and of the top-level files (the manifest)."""
        keep = {*components, ""}
        problems = {p: w for p, w in self.problems.items() if _component_of(p) in keep}
        return IntegrityReport(self.run_id, self.files, self.bytes, self.seconds, problems, self.legacy)

    def summary(self, limit: int = 3) -> str:
        items = [f"{path}: {what}" for path, what in sorted(self.problems.items())]
        more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
        return "; ".join(items[:limit]) + more if items else "ok"


@dataclass(frozen=True)
class Run:
    """One training run: its id and its directory."""

    id: str
    path: Path

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = load_json(self.manifest_path)
        return data


class ArtifactStore:
    """Training runs under ``root/runs`` with a ``root/current`` symlink (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.current_link = self.root / "current"

    def __repr__(self) -> str:
        return f"ArtifactStore({str(self.root)!r})"

    # ------------------------------------------------------------------ runs
    def new_run(self, owner: Mapping[str, Any] | None = None) -> Run:
        """Create ``runs/<UTC timestamp>-<random hex>/`` with a ``running`` manifest.

        ``owner`` (default: this process, :func:`process_identity`) is recorded so that a run left
        ``running`` by a dead process can be recognised (:func:`owner_alive`).
        """
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
                "owner": dict(owner) if owner is not None else process_identity(),
            },
            reserve=MANIFEST_RESERVE,
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
        """Mark ``run`` successful and point ``current`` at it.

        The manifest gets status ``ok``, ``manifest``'s keys, the SHA-256 and size of every file of the
        run (``files``) and its own seal (``checksum``, see :func:`manifest_checksum`).
        """
        base = self._read_manifest(run)
        info = {**base, **manifest}
        info.pop("checksum", None)
        started = time.perf_counter()
        files = file_digests(run.path)
        info.update(
            id=run.id,
            status="ok",
            created_at=base.get("created_at", datetime.now(UTC).isoformat()),
            published_at=datetime.now(UTC).isoformat(),
            format_version=FORMAT_VERSION,
            files=files,
        )
        info = json.loads(json.dumps(info, default=_json_default, allow_nan=False))  # as it will read back
        info["checksum"] = manifest_checksum(info)
        log.info(
            "hashed %d files (%.1f MB) of run %s in %.2fs",
            len(files),
            sum(f["bytes"] for f in files.values()) / 1e6,
            run.id,
            time.perf_counter() - started,
        )
        save_json(run.manifest_path, info)
        self._point_current_at(run)
        log.info("published artifact run %s", run.id)
        return run

    def fail(self, run: Run, error: str) -> bool:
        """Mark ``run`` failed with ``error`` and delete its partial outputs; ``current`` is not touched.

        Never raises for lack of disk space: the partial outputs are deleted first (a failed run can
        never be served, and on a full disk their space is what the failure record needs); when the
        manifest still cannot be replaced, it is overwritten in place within the bytes reserved when
        the run was created. Returns False when even that failed (logged; the store's training record
        and start-up recovery still say what happened).
        """
        freed = self._discard_outputs(run)
        info = self._read_manifest(run)
        info.pop("checksum", None)
        info.update(
            id=run.id,
            status="failed",
            error=str(error)[:MAX_ERROR_CHARS],
            failed_at=datetime.now(UTC).isoformat(),
        )
        if freed:
            info["discarded_bytes"] = freed
        log.warning("artifact run %s failed: %s", run.id, error)
        try:
            save_json(run.manifest_path, info)
            return True
        except (OSError, ArtifactError) as exc:
            log.warning("cannot replace the manifest of failed run %s (%s); writing it in place", run.id, exc)
        try:
            _overwrite_in_place(run.manifest_path, info)
            return True
        except (OSError, ValueError) as exc:
            log.error("could not record the failure of run %s in its manifest: %s", run.id, exc)
            return False

    def verify(self, run: Run) -> IntegrityReport:
        """Re-hash every file of ``run`` and compare with its manifest (see :class:`IntegrityReport`).

        Cost: one sequential read of the run (SHA-256 runs at roughly 0.5–2 GB/s per core).
        """
        started = time.perf_counter()
        problems: dict[str, str] = {}
        try:
            info = load_json(run.manifest_path)
        except ArtifactError as exc:
            problems[MANIFEST] = exc.message
            return IntegrityReport(run.id, problems=problems, seconds=time.perf_counter() - started)
        if not isinstance(info, dict):
            problems[MANIFEST] = "not a JSON object"
            return IntegrityReport(run.id, problems=problems, seconds=time.perf_counter() - started)
        expected = info.get("files")
        if "checksum" not in info and expected is None:
            return IntegrityReport(run.id, legacy=True, seconds=time.perf_counter() - started)
        if info.get("checksum") != manifest_checksum(info):
            problems[MANIFEST] = "its content does not match its checksum (edited or corrupt)"
        if not isinstance(expected, dict):
            problems[MANIFEST] = "no file checksums ('files')"
            return IntegrityReport(run.id, problems=problems, seconds=time.perf_counter() - started)
        present = {str(p.relative_to(run.path).as_posix()): p for p in _artifact_files(run.path)}
        n_bytes = 0
        for rel, want in expected.items():
            path = present.pop(rel, None)
            if path is None:
                problems[rel] = "missing"
                continue
            size = path.stat().st_size
            want_size = want.get("bytes") if isinstance(want, dict) else None
            if size != want_size:
                problems[rel] = f"{size} bytes, expected {want_size}"
                continue
            n_bytes += size
            if sha256_file(path) != (want.get("sha256") if isinstance(want, dict) else None):
                problems[rel] = "SHA-256 differs from the manifest (corrupt)"
        for rel in present:
            problems[rel] = "not listed in the manifest (unexpected file)"
        return IntegrityReport(
            run.id,
            files=len(expected),
            bytes=n_bytes,
            seconds=time.perf_counter() - started,
            problems=problems,
        )

    def fingerprint(self, run: Run) -> tuple[tuple[str, int, int], ...]:
        """``(path, size, mtime_ns)`` of every file of ``run``: a cheap "did anything change" key.

        Used to re-verify a refused run only after its files changed (a ``stat`` per file, no reads).
        """
        out = []
        for p in sorted([run.manifest_path, *_artifact_files(run.path)]):
            try:
                st = p.stat()
            except OSError:
                continue
            out.append((p.relative_to(run.path).as_posix(), st.st_size, st.st_mtime_ns))
        return tuple(out)

    def size(self, run: Run, components: Iterable[str] | None = None) -> int:
        """Bytes of ``run``'s files (only under the folders ``components`` when given)."""
        roots = [run.path / c for c in components] if components is not None else [run.path]
        return sum(p.stat().st_size for r in roots if r.is_dir() for p in _artifact_files(r))

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
            files = info.pop("files", None)  # hundreds of digests: summarised, see verify()
            if isinstance(files, dict):
                info["files_count"] = len(files)
                info["bytes"] = sum(int(f.get("bytes", 0)) for f in files.values() if isinstance(f, dict))
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

    def prune(self, keep: int = 5, protect: Iterable[str | None] = ()) -> list[str]:
        """Retention: delete old runs, newest ``keep`` successful ones kept; returns the deleted ids.

        Never deleted: the current run, the runs in ``protect`` (e.g. the ones workers serve), runs
        still ``running``, and failed runs among the newest ``keep`` runs (their error is the record
        of what went wrong; their partial files are already gone, see :meth:`fail`).
        """
        if keep < 1:
            raise ArtifactError("keep must be at least 1", value=keep, expected="an integer >= 1")
        current = self.current()
        runs = self.runs()
        ok = [r["id"] for r in runs if r.get("status") == "ok"]
        keep_ids = set(ok[:keep]) | {r["id"] for r in runs[:keep]} | {p for p in protect if p}
        if current is not None:
            keep_ids.add(current.id)
        removed = []
        for info in runs:
            if info["id"] in keep_ids or info.get("status") == "running":
                continue
            shutil.rmtree(self.runs_dir / info["id"], ignore_errors=True)
            removed.append(info["id"])
        if removed:
            log.info("pruned %d old artifact runs: %s", len(removed), ", ".join(removed))
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

    def _discard_outputs(self, run: Run) -> int:
        """Delete everything in ``run`` but its manifest; returns the bytes freed."""
        freed = 0
        if not run.path.is_dir():
            return 0
        for child in run.path.iterdir():
            if child.name == MANIFEST:
                continue
            try:
                if child.is_dir() and not child.is_symlink():
                    freed += sum(p.stat().st_size for p in child.rglob("*") if p.is_file())
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    freed += child.stat().st_size
                    child.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("could not delete %s of failed run %s: %s", child.name, run.id, exc)
        return freed

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


def save_json(path: str | Path, obj: Any, *, reserve: int = 0) -> Path:
    """Write ``obj`` as UTF-8 JSON atomically (temp file + ``os.replace``); numpy scalars/arrays allowed.

    ``reserve``: trailing whitespace bytes appended (valid JSON) so that a later, larger version can be
    written over the file in place without allocating disk blocks (see :meth:`ArtifactStore.fail`).
    An ``OSError`` (e.g. a full disk) propagates, and no temporary file is left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        text = json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default, allow_nan=False) + "\n"
        tmp.write_text(text + " " * reserve, encoding="utf-8")
        os.replace(tmp, path)
    except (TypeError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise ArtifactError(f"cannot write JSON: {exc}", value=str(path)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _overwrite_in_place(path: Path, obj: Any) -> None:
    """Overwrite ``path`` with ``obj``'s JSON without a new file, padding the rest with spaces.

    Only for recording a failure on a full disk: not atomic, but needs no new disk blocks as long
    as the JSON fits in the file's current size (the reserve written by :meth:`ArtifactStore.new_run`).
    """
    data = json.dumps(obj, ensure_ascii=False, default=_json_default, allow_nan=False).encode("utf-8")
    with open(path, "r+b") as fh:
        size = os.fstat(fh.fileno()).st_size
        if len(data) + 1 > size:
            raise ValueError(f"the failure record ({len(data)} bytes) does not fit in {size} bytes")
        fh.write(data + b"\n" + b" " * (size - len(data) - 1))
        fh.flush()
        os.fsync(fh.fileno())


def _component_of(path: str) -> str:
    """The top folder of a run-relative path (``recommend/pools.npz`` → ``recommend``; top files → "")."""
    return path.split("/", 1)[0] if "/" in path else ""


def _artifact_files(root: Path) -> list[Path]:
    """Every regular file under ``root`` except the top manifest and hidden (temporary) names."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            p = Path(dirpath) / name
            if p.parent == root and name == MANIFEST:
                continue
            out.append(p)
    return out


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks (hashlib releases the GIL on large buffers)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def file_digests(root: Path) -> dict[str, dict[str, Any]]:
    """``{relative path: {"sha256", "bytes"}}`` of every artifact file under ``root``."""
    return {
        p.relative_to(root).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in _artifact_files(root)
    }


def manifest_checksum(info: Mapping[str, Any]) -> str:
    """SHA-256 of the manifest's canonical JSON (sorted keys, no spaces), ``checksum`` itself left out."""
    body = {k: v for k, v in info.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------- process identity
def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """``(state, start time in clock ticks since boot)`` of ``pid`` from ``/proc`` (Linux), else None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    rest = raw[raw.rfind(")") + 2 :].split()  # the command name may contain spaces and parentheses
    try:
        return rest[0], int(rest[19])
    except (IndexError, ValueError):
        return None


def process_identity() -> dict[str, Any]:
    """This process as ``{"host", "boot_id", "pid", "pid_start"}``: pid + start time survive pid reuse."""
    pid = os.getpid()
    stat = _proc_stat(pid)
    return {
        "host": socket.gethostname(),
        "boot_id": _boot_id(),
        "pid": pid,
        "pid_start": stat[1] if stat else None,
    }


def owner_alive(owner: Mapping[str, Any] | None) -> bool | None:
    """Whether the process ``owner`` (:func:`process_identity`) still runs.

    ``None`` when this machine cannot tell (another host, or no owner recorded): the caller then
    relies on the heartbeat lease. A zombie, a pid now used by another process (different start
    time) or a machine rebooted since (different boot id) count as dead.
    """
    if not owner or owner.get("host") != socket.gethostname():
        return None
    boot = _boot_id()
    if boot and owner.get("boot_id") and owner["boot_id"] != boot:
        return False
    try:
        pid = int(owner["pid"])
    except (KeyError, TypeError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    stat = _proc_stat(pid)
    if stat is not None:
        if stat[0] in ("Z", "X"):
            return False
        if owner.get("pid_start") is not None and stat[1] != owner["pid_start"]:
            return False
    return True


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


__all__ = [
    "ArtifactIntegrityError",
    "ArtifactStore",
    "IntegrityReport",
    "Run",
    "file_digests",
    "load_json",
    "manifest_checksum",
    "owner_alive",
    "process_identity",
    "save_json",
    "sha256_file",
]
