"""Small typed result containers shared by every task family."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Recommendation:
    """One recommended item with its score and a human-readable reason."""

    item_id: str
    score: float
    reason: str = ""
    explanation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "score": self.score,
            "reason": self.reason,
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class RankedList:
    """A ranked list for one query (user, item or search query), best first."""

    query: str
    items: list[Recommendation]

    @property
    def ids(self) -> list[str]:
        return [r.item_id for r in self.items]

    @property
    def scores(self) -> list[float]:
        return [r.score for r in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "items": [r.to_dict() for r in self.items]}
