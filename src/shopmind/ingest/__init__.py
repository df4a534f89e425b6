"""Ingest: read CSV/JSONL/Parquet exports, validate, store the good rows, reject the bad ones.

``ingest_file(store, "events", "events.csv")`` returns an :class:`IngestReport`;
``ingest_directory(store, folder)`` ingests every ``items.* users.* documents.* events.* orders.*
sales.* reviews.*`` file in dependency order; ``quality_report(store)`` audits what is stored.
"""

from shopmind.ingest.core import (
    DIRECTORY_ORDER,
    KINDS,
    ChunkReport,
    IngestAborted,
    IngestRejected,
    IngestReport,
    default_rejects_path,
    find_inputs,
    ingest_directory,
    ingest_file,
)
from shopmind.ingest.validate import Issue

__all__ = [
    "DIRECTORY_ORDER",
    "KINDS",
    "ChunkReport",
    "IngestAborted",
    "IngestRejected",
    "IngestReport",
    "Issue",
    "default_rejects_path",
    "find_inputs",
    "ingest_directory",
    "ingest_file",
    "quality_report",
]


def quality_report(store, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`shopmind.ingest.quality.quality_report` (imported lazily)."""
    from shopmind.ingest.quality import quality_report as _qr

    return _qr(store, **kwargs)
