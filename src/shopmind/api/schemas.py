"""Request and response models of the HTTP API (documented in the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from shopmind.data.schema import ID_PATTERN
from shopmind.search.rules import normalize_query


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


MAX_RULES = 1000
MAX_RULE_QUERY = 200
MAX_PINS = 20
MAX_PIN_POSITION = 100
MAX_RULE_IDS = 200
MAX_RULE_ITEMS = 10_000
RuleItemId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: RuleItemId = Field(description="the product's id")
    position: int = Field(ge=1, le=MAX_PIN_POSITION, description="1 = first result")


class RuleIn(BaseModel):
    """A merchandising rule: for one query, products pinned at positions and products hidden (also
    boosted to the top or buried at the bottom, keeping their order)."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(
        min_length=1,
        max_length=MAX_RULE_QUERY,
        description="the query, compared after normalisation (NFKC, lower case, single spaces; "
        "English and Chinese alike)",
    )
    match: Literal["exact", "contains"] = Field(
        default="exact", description="exact: the whole query; contains: the query contains this phrase"
    )
    pin: list[PinIn] = Field(default_factory=list, max_length=MAX_PINS)
    hide: list[RuleItemId] = Field(default_factory=list, max_length=MAX_RULE_IDS)
    boost: list[RuleItemId] = Field(default_factory=list, max_length=MAX_RULE_IDS)
    bury: list[RuleItemId] = Field(default_factory=list, max_length=MAX_RULE_IDS)

    @field_validator("query")
    @classmethod
    def _normalised(cls, v: str) -> str:
        q = normalize_query(v)
        if not q:
            raise ValueError("the query is empty after normalisation")
        return q

    @model_validator(mode="after")
    def _consistent(self) -> RuleIn:
        if not (self.pin or self.hide or self.boost or self.bury):
            raise ValueError(f"rule for {self.query!r} does nothing: give pin, hide, boost or bury")
        pins = [p.id for p in self.pin]
        for name, ids in (("pin", pins), ("hide", self.hide), ("boost", self.boost), ("bury", self.bury)):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                raise ValueError(f"rule for {self.query!r}: {name} lists {dup} more than once")
        positions = [p.position for p in self.pin]
        dup_pos = sorted({p for p in positions if positions.count(p) > 1})
        if dup_pos:
            raise ValueError(f"rule for {self.query!r}: two products pinned at position {dup_pos}")
        both = sorted(set(self.hide) & (set(pins) | set(self.boost) | set(self.bury)))
        if both:
            raise ValueError(f"rule for {self.query!r}: {both} both hidden and pinned/boosted/buried")
        return self


class RulesIn(BaseModel):
    """Every merchandising rule of the shop (replaces all of them). Rules act on the ranked results,
    so they apply to the serving search at once, without retraining."""

    model_config = ConfigDict(extra="forbid")
    rules: list[RuleIn] = Field(default_factory=list, max_length=MAX_RULES)

    @model_validator(mode="after")
    def _distinct(self) -> RulesIn:
        seen: dict[tuple[str, str], int] = {}
        for i, r in enumerate(self.rules):
            first = seen.setdefault((r.query, r.match), i)
            if first != i:
                raise ValueError(f"rules[{i}] repeats the query {r.query!r} of rules[{first}]: merge them")
        ids = {p.id for r in self.rules for p in r.pin} | {
            i for r in self.rules for i in r.hide + r.boost + r.bury
        }
        if len(ids) > MAX_RULE_ITEMS:
            raise ValueError(f"the rules name {len(ids)} distinct products, at most {MAX_RULE_ITEMS}")
        return self


class RuleOut(BaseModel):
    query: str
    match: str
    pin: list[dict[str, Any]]
    hide: list[str]
    boost: list[str]
    bury: list[str]


class RulesOut(BaseModel):
    rules: list[RuleOut]
    applied: Literal["live", "next_training"] | None = Field(
        default=None,
        description="after a save: live (the serving search uses them now) or next_training (no search loaded)",
    )


SearchField = Literal["title", "brand", "category", "attributes", "description"]


class FieldsIn(BaseModel):
    """BM25 weight per product field (replaces them all; a field left out gets 0: not searched)."""

    model_config = ConfigDict(extra="forbid")
    weights: dict[SearchField, Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)]] = Field(
        description='e.g. {"title": 3, "brand": 2, "category": 2, "attributes": 1, "description": 0.5}'
    )

    @model_validator(mode="after")
    def _something_searched(self) -> FieldsIn:
        if not any(w > 0 for w in self.weights.values()):
            raise ValueError("every field weight is 0: at least one field must be searched")
        return self


class ReindexOut(BaseModel):
    fields: list[str] = Field(description="fields being added to the keyword index")
    state: Literal["running", "done", "failed"]
    rows_done: int
    rows_total: int
    elapsed_s: float
    error: str | None = None


class FieldsOut(BaseModel):
    weights: dict[str, float] = Field(description="the weights in use (or being applied, see reindex)")
    configured: dict[str, float] = Field(description="[search] fields of the configuration file")
    source: Literal["saved", "config"] = Field(description="saved through the API, or the configuration's")
    indexed: list[str] | None = Field(
        default=None, description="fields the serving keyword index holds (null: no search loaded)"
    )
    reindex: ReindexOut | None = Field(
        default=None, description="the background indexing of fields the serving index lacks, if any"
    )
    applied: Literal["live", "reindexing", "next_training"] | None = Field(
        default=None,
        description="after a save: live (from the next query), reindexing (once the missing fields are "
        "indexed, see reindex) or next_training (no search loaded)",
    )
