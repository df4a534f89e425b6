"""Storage: the ``Store`` contract, the SQLAlchemy backend and model artifacts."""

from shopmind.store.base import ApiKeyRecord, Store, Ticket, WriteResult

__all__ = ["ApiKeyRecord", "Store", "Ticket", "WriteResult", "open_store"]


def open_store(url: str) -> Store:
    """Open the store at ``url`` (``sqlite:///path`` or ``postgresql://...``), creating tables."""
    from shopmind.store.sql import SqlStore

    return SqlStore(url)
