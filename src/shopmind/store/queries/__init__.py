"""The queries of :class:`~shopmind.store.sql.SqlStore`, one mixin per concern."""

from shopmind.store.queries.activity import ActivityQueries
from shopmind.store.queries.catalog import CatalogQueries
from shopmind.store.queries.operations import OperationsQueries
from shopmind.store.queries.privacy import PrivacyQueries

__all__ = ["ActivityQueries", "CatalogQueries", "OperationsQueries", "PrivacyQueries"]
