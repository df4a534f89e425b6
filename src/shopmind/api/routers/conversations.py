"""Recent assistant conversations (admin): a list, and one conversation's turns."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query

from shopmind.api.deps import AdminKey, EngineDep
from shopmind.api.routers.tickets import MAX_PAGE, turn_out
from shopmind.api.schemas import ConversationDetailOut, ConversationOut, ConversationPageOut

router = APIRouter(prefix="/conversations", tags=["tickets"])

MAX_TURNS_SHOWN = 500  # the newest turns of a very long conversation


@router.get(
    "",
    summary="Recent assistant conversations, most recently active first",
    response_model=ConversationPageOut,
)
def list_conversations(
    engine: EngineDep,
    _: AdminKey,
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> ConversationPageOut:
    page = engine.conversations(limit=limit, offset=offset)
    return ConversationPageOut(
        conversations=[ConversationOut(**c) for c in page.conversations],
        total=page.total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{conversation_id}",
    summary="One conversation's turns, oldest first",
    response_model=ConversationDetailOut,
)
def show_conversation(
    engine: EngineDep,
    _: AdminKey,
    conversation_id: str = Path(min_length=1, max_length=128),
) -> ConversationDetailOut:
    turns = engine.conversation_turns(conversation_id)
    return ConversationDetailOut(
        conversation_id=conversation_id, turns=[turn_out(t) for t in turns[-MAX_TURNS_SHOWN:]]
    )
