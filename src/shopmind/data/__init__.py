"""Data model, id vocabularies and the immutable training ``Dataset``."""

from shopmind.data.dataset import Dataset, EventWeights
from shopmind.data.schema import (
    Document,
    Event,
    EventType,
    Item,
    Order,
    OrderLine,
    OrderStatus,
    Review,
    SalesPoint,
    User,
)
from shopmind.data.vocabulary import Vocabulary

__all__ = [
    "Dataset",
    "Document",
    "Event",
    "EventType",
    "EventWeights",
    "Item",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Review",
    "SalesPoint",
    "User",
    "Vocabulary",
]
