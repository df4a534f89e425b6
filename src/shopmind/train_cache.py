"""Choices made while training, remembered by a fingerprint of everything they depend on.

Some training steps *choose* before they fit: the recommender tuning scores a grid of candidates on a
hold-out (:mod:`shopmind.recommend.tuning`), the forecaster cross-validates a set of models per series
(:mod:`shopmind.forecast.models`). On unchanged data and settings the choice would come out the same,
so it is kept in a small cache and the next training fits only what was chosen.

The key is the SHA-256 of every input of the choice — the training data's arrays and tables, the
settings, the seed, the installed versions of the libraries that fit the candidates and the source
of the shopmind packages that score them (:func:`code_digest`) — so a new event, a changed item or
setting, an upgraded library or edited code is a miss and the choice is made again. A hit
returns exactly what the miss stored.

Layout: ``<folder>/<kind>-<key>.json`` plus ``<kind>-<key>-<table>.parquet`` per table; each file
is written to a temporary file and renamed, the JSON last, so a reader sees a whole entry or none; an
entry that does not read is a miss. At most :data:`MAX_ENTRIES` entries per kind are kept, the least recently used removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopmind.data.dataset import Dataset

log = logging.getLogger(__name__)

MAX_ENTRIES = 8
"""Entries kept per kind (one per data version a shop trained on recently)."""

_KIND_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_HEX64 = re.compile("[0-9a-f]{64}")


def choice_folder(artifacts_dir: str | Path) -> Path:
    """The cache folder beside the artifacts (``<artifacts_dir>/../cache/choices``), as the embedding
    cache (``…/cache/embeddings``)."""
    return Path(artifacts_dir).parent / "cache" / "choices"


# ====================================================================== fingerprints
class Fingerprint:
    """An incremental SHA-256 over typed, length-prefixed parts (so ``("ab", "c") ≠ ("a", "bc")``)."""

    def __init__(self, kind: str) -> None:
        self._h = hashlib.sha256()
        self.add_text(kind)

    def _part(self, tag: bytes, payload: bytes | np.ndarray) -> None:
        size = payload.nbytes if isinstance(payload, np.ndarray) else len(payload)
        self._h.update(tag + size.to_bytes(8, "little"))
        # an array is hashed through its buffer, not copied
        self._h.update(payload.data if isinstance(payload, np.ndarray) else payload)

    def add_text(self, text: str) -> Fingerprint:
        self._part(b"s", text.encode("utf-8"))
        return self

    def add_json(self, value: Any) -> Fingerprint:
        """A JSON-able value, keys sorted (numpy scalars and tuples allowed)."""
        self._part(b"j", json.dumps(value, sort_keys=True, default=_json_default).encode("utf-8"))
        return self

    def add_array(self, array: np.ndarray) -> Fingerprint:
        a = np.ascontiguousarray(array)
        if a.dtype == object:
            self.add_json([str(v) for v in a.ravel().tolist()])
            return self
        self._part(b"a", f"{a.dtype.str}{a.shape}".encode())
        self._part(b"d", a)
        return self

    def add_frame(self, frame: pd.DataFrame | None) -> Fingerprint:
        """Column names, dtypes, index and values; nested values (lists, dicts) by their ``repr``."""
        if frame is None:
            self._part(b"n", b"")
            return self
        self.add_json([[str(c), str(t)] for c, t in frame.dtypes.items()])
        self.add_array(_hashed(pd.Series(frame.index, copy=False)))
        for column in frame.columns:
            self.add_array(_hashed(frame[column]))
        return self

    def add_dataset(self, dataset: Dataset) -> Fingerprint:
        """Vocabularies, every event column, the item and user tables and the event weights."""
        self.add_array(np.asarray(dataset.users.ids, dtype=object))
        self.add_array(np.asarray(dataset.items.ids, dtype=object))
        for array in (
            dataset.user_idx,
            dataset.item_idx,
            dataset.event_type,
            dataset.value,
            dataset.timestamp,
        ):
            self.add_array(array)
        self.add_frame(dataset.item_table)
        self.add_frame(dataset.user_table)
        self.add_json(dataset.weights.to_dict())
        return self

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _hashed(series: pd.Series) -> np.ndarray:
    """Per-row 64-bit hashes of a column (``pandas.util.hash_pandas_object``); columns holding lists or
    dicts, which pandas cannot hash, are hashed through their ``repr``."""
    try:
        return pd.util.hash_pandas_object(series, index=False).to_numpy(np.uint64)
    except TypeError:
        return pd.util.hash_pandas_object(series.map(repr), index=False).to_numpy(np.uint64)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(map(str, value))
    raise TypeError(f"not fingerprintable: {type(value).__name__}")


@cache
def code_digest(*packages: str) -> str:
    """SHA-256 of the Python sources of the given shopmind sub-packages (``"recommend"``, …) and of
    ``shopmind/data``: edited code makes earlier choices stale."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in sorted({*packages, "data"}):
        folder = root / name
        files = sorted(folder.rglob("*.py")) if folder.is_dir() else [root / f"{name}.py"]
        for path in files:
            h.update(str(path.relative_to(root)).encode("utf-8") + b"\0")
            try:
                h.update(path.read_bytes())
            except OSError:
                h.update(b"?")
    return h.hexdigest()


def library_versions(names: Iterable[str]) -> dict[str, str | None]:
    """Installed versions of the given distributions (None when one is not installed)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


# ====================================================================== the cache
class ChoiceCache:
    """``<kind>-<key>`` entries in a folder: a JSON document and named tables (module docstring)."""

    def __init__(self, folder: str | Path, kind: str, *, max_entries: int = MAX_ENTRIES) -> None:
        if not kind or not set(kind) <= _KIND_CHARS:
            raise ValueError(f"cache kind must be lower-case letters, digits, '-' or '_', got {kind!r}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self.folder = Path(folder)
        self.kind = kind
        self.max_entries = int(max_entries)

    def _path(self, key: str, suffix: str) -> Path:
        if not key or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"cache key must be a hex digest, got {key!r}")
        return self.folder / f"{self.kind}-{key}{suffix}"

    def get(self, key: str) -> tuple[dict[str, Any], dict[str, pd.DataFrame]] | None:
        """``(document, tables)`` stored under ``key``, or None (absent or unreadable)."""
        doc_path = self._path(key, ".json")
        try:
            doc = json.loads(doc_path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or doc.get("_key") != key:
                return None
            tables = {
                str(name): pd.read_parquet(self._path(key, f"-{name}.parquet")) for name in doc["_tables"]
            }
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged entry is a miss
            log.warning("choice cache entry %s does not read (%s); it is made again", doc_path, exc)
            return None
        with contextlib.suppress(OSError):
            os.utime(doc_path)  # recently used: kept by the pruning
        doc.pop("_key", None)
        doc.pop("_tables", None)
        return doc, tables

    def put(
        self, key: str, document: Mapping[str, Any], tables: Mapping[str, pd.DataFrame] | None = None
    ) -> Path:
        """Store ``document`` (JSON-able) and ``tables`` (written as Parquet) under ``key``; the document
        is written last, so an entry is visible only once its tables are complete."""
        tables = dict(tables or {})
        for name in tables:
            if not name or not set(name) <= _KIND_CHARS:
                raise ValueError(f"table name must be lower-case letters, digits, '-' or '_', got {name!r}")
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, table in tables.items():
            self._atomic(self._path(key, f"-{name}.parquet"), lambda f, t=table: t.to_parquet(f, index=False))
        body = json.dumps(
            {**document, "_key": key, "_tables": sorted(tables)}, default=_json_default, indent=1
        ).encode("utf-8")
        target = self._path(key, ".json")
        self._atomic(target, lambda f: f.write(body))
        self._prune()
        return target

    def _atomic(self, target: Path, write: Any) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _prune(self) -> None:
        entries = []
        for p in self.folder.glob(f"{self.kind}-*.json"):
            if not _HEX64.fullmatch(p.stem[len(self.kind) + 1 :]):  # another kind sharing the prefix
                continue
            try:
                entries.append((p.stat().st_mtime_ns, p))
            except OSError:
                continue
        for _, p in sorted(entries, reverse=True)[self.max_entries :]:
            for table in self.folder.glob(f"{p.stem}-*.parquet"):
                table.unlink(missing_ok=True)
            p.unlink(missing_ok=True)


__all__ = ["ChoiceCache", "Fingerprint", "choice_folder", "code_digest", "library_versions"]
