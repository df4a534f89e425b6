"""Request and response models of the HTTP API (documented in the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Rejected(BaseModel):
    """One rejected row of a batch: its 0-based index, the field at fault and why."""

    index: int
    field: str | None = None
    message: str


class BatchResult(BaseModel):
    """What a batch write did. With ``partial=false`` (default) any rejected row rejects the batch (422)."""

    received: int
    accepted: int
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = Field(default_factory=list)


class ItemSummary(BaseModel):
    id: str
    title: str
    category: list[str] = Field(default_factory=list)
    brand: str | None = None
    price: float | None = None
    currency: str = "USD"
    stock: int | None = None
    image_url: str | None = None


class RecommendationOut(BaseModel):
    item_id: str
    score: float
    reason: str = ""
    explanation: dict[str, Any] = Field(default_factory=dict)
    item: ItemSummary | None = None


class RankedListOut(BaseModel):
    query: str
    items: list[RecommendationOut]
    run_id: str | None = None


class ClickIn(BaseModel):
    search_id: str = Field(min_length=1, max_length=128)
    item_id: str = Field(min_length=1, max_length=128)
    position: int = Field(ge=1, le=10_000, description="1-based position of the clicked result")


class ChatIn(BaseModel):
    message: str = Field(min_length=1, max_length=4000)
    conversation_id: str | None = Field(default=None, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    user_id: str | None = Field(
        default=None,
        max_length=128,
        description="only honoured for ingest/admin keys; a read key's customer binding wins",
    )
    language: str | None = Field(
        default=None, pattern=r"^(en|zh)$", description="reply language; detected when omitted"
    )


class TrainIn(BaseModel):
    components: list[str] | None = Field(
        default=None, description="recommend | search | assistant | forecast; all when omitted"
    )


class Message(BaseModel):
    message: str
    run_id: str | None = None
