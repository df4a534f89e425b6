"""The data-quality report, computed once per version of the stored data and cached as a JSON file.

:func:`~shopmind.ingest.quality.quality_report` reads every table (tens of seconds on a shop with a
million events), so it runs when the data changes — after an ingest and before training — and the
dashboard reads the result (:func:`cached_quality_report`).

The cache is ``<reports_dir>/quality.json``: the report plus ``data_version``, a cheap fingerprint of
what the report reads (:func:`data_version`): the store (URL without credentials), the row count of
every audited table and the catalogue change sequence (``item_changes``, bumped by every item write
or delete, so an edited price or title invalidates it even though no count moves). Inserts into any
audited table change a count. Not covered: an upsert that only edits an existing user, order, review,
document or sales row (the count stays) — such a report is refreshed by the next ingest command or
``?refresh=true``. The file is written atomically (temporary file + ``os.replace``), so a reader never
sees half a report and concurrent workers simply overwrite each other with equivalent reports.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from shopmind.ingest.quality import _safe_url, quality_report
from shopmind.store.base import Store

log = logging.getLogger(__name__)

QUALITY_FILE = "quality.json"
"""Name of the cached report inside ``settings.reports_dir``."""

AUDITED_TABLES = ("items", "users", "events", "orders", "documents", "sales", "reviews")
"""The tables :func:`quality_report` reads; logs (searches, clicks, messages, tickets, keys) are not audited."""


def data_version(store: Store) -> dict[str, Any]:
    """Fingerprint of the audited data: store URL, row counts, catalogue change sequence (a few COUNTs)."""
    counts = store.counts()
    version: dict[str, Any] = {"store": _safe_url(str(getattr(store, "url", "")))}
    version.update({name: int(counts.get(name, 0)) for name in AUDITED_TABLES})
    change_seq = getattr(store, "item_change_seq", None)  # SqlStore; other backends: counts only
    if callable(change_seq):
        version["item_changes"] = int(change_seq())
    return version


def quality_path(reports_dir: Path | str) -> Path:
    return Path(reports_dir) / QUALITY_FILE


def read_cached(reports_dir: Path | str) -> dict[str, Any] | None:
    """The cached report, or None when there is none or it cannot be read (then it is recomputed)."""
    path = quality_path(reports_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("cached quality report %s is unreadable (%s); recomputing", path, exc)
        return None
    return data if isinstance(data, dict) else None


def _write_atomic(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".quality-", suffix=".json.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, ensure_ascii=False, default=str)
            fh.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is as readable as the other reports
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refresh_quality_report(store: Store, reports_dir: Path | str) -> dict[str, Any]:
    """Compute the report now (default thresholds), store it with the data version, and return it."""
    version = data_version(store)  # taken before reading: a write during the audit leaves it stale
    report = quality_report(store)
    report["data_version"] = version
    report["computed_at"] = report["generated_at"]
    _write_atomic(quality_path(reports_dir), report)
    return report


def cached_quality_report(store: Store, reports_dir: Path | str, *, refresh: bool = False) -> dict[str, Any]:
    """The cached report when it matches the store's current data version, else a recomputed one.

    Adds ``fresh`` (true: it describes the data as stored now) and ``cached`` (true: served from the
    file without recomputing); ``computed_at`` says when it was computed.
    """
    current = data_version(store)
    if not refresh:
        cached = read_cached(reports_dir)
        if cached is not None and cached.get("data_version") == current:
            cached.setdefault("computed_at", cached.get("generated_at"))
            return cached | {"fresh": True, "cached": True}
    return refresh_quality_report(store, reports_dir) | {"fresh": True, "cached": False}


def ensure_quality_report(store: Store, reports_dir: Path | str) -> bool:
    """Recompute the cached report only when it is missing or stale; True when it was recomputed."""
    cached = read_cached(reports_dir)
    if cached is not None and cached.get("data_version") == data_version(store):
        return False
    refresh_quality_report(store, reports_dir)
    return True
