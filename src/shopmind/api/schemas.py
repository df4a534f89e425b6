"""Request and response models of the HTTP API (documented in the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


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


TicketStatus = Literal["open", "in_progress", "resolved", "closed"]


class TicketTurn(BaseModel):
    """One turn of a transcript: ``user`` or ``assistant`` (``omitted`` counts turns left out)."""

    role: str
    text: str = ""
    at: str | None = None
    count: int | None = Field(default=None, description="for role=omitted: how many earlier turns")


class TicketChange(BaseModel):
    status: TicketStatus
    previous_status: TicketStatus
    assignee: str | None = None
    note: str | None = None
    changed_by: str | None = Field(default=None, description="name of the API key that made the change")
    at: datetime


class TicketOut(BaseModel):
    """A hand-off to a person. ``transcript`` is the conversation up to the hand-off."""

    id: str
    conversation_id: str
    user_id: str | None = None
    reason: str
    status: TicketStatus
    created_at: datetime | None = None
    updated_at: datetime | None = None
    assignee: str | None = None
    note: str | None = None
    turns: int = Field(description="number of transcript turns")


class TicketPageOut(BaseModel):
    tickets: list[TicketOut]
    total: int = Field(description="tickets matching the status filter, all pages")
    limit: int
    offset: int


class TicketDetailOut(TicketOut):
    transcript: list[TicketTurn]
    later: list[TicketTurn] = Field(
        default_factory=list, description="turns of the conversation after the hand-off"
    )
    history: list[TicketChange] = Field(default_factory=list, description="every change, oldest first")


class TicketPatch(BaseModel):
    """A ticket change; fields left out stay as they are. Life cycle: open → in_progress →
    resolved | closed; any of them can go back to open."""

    model_config = ConfigDict(extra="forbid")

    status: TicketStatus | None = None
    assignee: str | None = Field(default=None, max_length=128, description='"" clears the assignee')
    note: str | None = Field(default=None, max_length=2000)


class ConversationOut(BaseModel):
    conversation_id: str
    user_id: str | None = None
    started_at: datetime
    last_at: datetime
    turns: int
    first_text: str = Field(description="the conversation's first message")
    ticket_ids: list[str] = Field(default_factory=list, description="hand-offs of this conversation")


class ConversationPageOut(BaseModel):
    conversations: list[ConversationOut]
    total: int
    limit: int
    offset: int


class ConversationDetailOut(BaseModel):
    conversation_id: str
    turns: list[TicketTurn]


class HistoryItem(BaseModel):
    title: str
    category: list[str] = Field(default_factory=list)
    brand: str | None = None
    price: float | None = None
    currency: str = "USD"


class HistoryEvent(BaseModel):
    type: str
    item_id: str | None = None
    timestamp: datetime
    quantity: int = 1
    query: str | None = None
    item: HistoryItem | None = Field(default=None, description="null when the item is not in the catalogue")


class UserHistoryOut(BaseModel):
    user_id: str
    events: list[HistoryEvent] = Field(description="the most recent events, newest first")


Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MAX_SYNONYM_GROUPS = 10_000


class SynonymsIn(BaseModel):
    """The shop's search synonyms (replaces all of them). Expanded at query time, so they apply to
    the serving search at once, without retraining."""

    model_config = ConfigDict(extra="forbid")
    groups: list[Annotated[list[Phrase], Field(min_length=2, max_length=50)]] = Field(
        default_factory=list,
        max_length=MAX_SYNONYM_GROUPS,
        description='equivalent phrases, each expanding to the others: [["tv", "television"]]',
    )
    one_way: dict[Phrase, Annotated[list[Phrase], Field(min_length=1, max_length=50)]] = Field(
        default_factory=dict,
        max_length=MAX_SYNONYM_GROUPS,
        description='a phrase expanding to others, not back: {"phone": ["smartphone"]}',
    )


class SynonymsOut(BaseModel):
    groups: list[list[str]]
    one_way: dict[str, list[str]]
    applied: Literal["live", "next_training"] | None = Field(
        default=None,
        description="after a save: live (the serving search uses them now) or next_training (no search loaded)",
    )
