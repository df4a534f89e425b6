"""Hand-off tickets and the conversations that led to them (admin): list, show, change status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Path, Query

from shopmind.api.deps import AdminKey, EngineDep
from shopmind.api.schemas import (
    TicketChange,
    TicketDetailOut,
    TicketOut,
    TicketPageOut,
    TicketPatch,
    TicketStatus,
    TicketTurn,
)
from shopmind.engine import TicketDetail
from shopmind.store.base import Ticket

router = APIRouter(prefix="/tickets", tags=["tickets"])

TICKET_ID = Path(min_length=1, max_length=128, description="ticket id, e.g. T-1a2b3c4d5e6f")
MAX_PAGE = 200


def _summary(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.id,
        "conversation_id": t.conversation_id,
        "user_id": t.user_id,
        "reason": t.reason,
        "status": t.status,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "assignee": t.assignee,
        "note": t.note,
        "turns": sum(1 for turn in t.transcript if turn.get("role") != "omitted"),
    }


def turn_out(turn: dict[str, Any]) -> TicketTurn:
    at = turn.get("at")
    return TicketTurn(
        role=str(turn.get("role", "")),
        text=str(turn.get("text", "")),
        at=at.isoformat() if isinstance(at, datetime) else (str(at) if at else None),
        count=turn.get("count"),
    )


def _detail(d: TicketDetail) -> TicketDetailOut:
    t = d.ticket
    return TicketDetailOut(
        **_summary(t),
        transcript=[turn_out(turn) for turn in t.transcript if isinstance(turn, dict)],
        later=[turn_out(turn) for turn in d.later],
        history=[TicketChange.model_validate(h) for h in t.history],
    )


@router.get("", summary="Hand-off tickets, newest first", response_model=TicketPageOut)
def list_tickets(
    engine: EngineDep,
    _: AdminKey,
    status: TicketStatus | None = Query(None, description="only tickets with this status"),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> TicketPageOut:
    page = engine.tickets(status=status, limit=limit, offset=offset)
    return TicketPageOut(
        tickets=[TicketOut(**_summary(t)) for t in page.tickets], total=page.total, limit=limit, offset=offset
    )


@router.get(
    "/{ticket_id}", summary="One ticket with its conversation transcript", response_model=TicketDetailOut
)
def show_ticket(engine: EngineDep, _: AdminKey, ticket_id: str = TICKET_ID) -> TicketDetailOut:
    return _detail(engine.ticket(ticket_id))


@router.patch(
    "/{ticket_id}",
    summary="Change a ticket's status, assignee or note",
    response_model=TicketDetailOut,
    description="Status life cycle: open → in_progress → resolved | closed; resolved, closed and "
    "in_progress can go back to open. A change the life cycle does not allow is refused (422).",
)
def update_ticket(
    engine: EngineDep, principal: AdminKey, body: TicketPatch, ticket_id: str = TICKET_ID
) -> TicketDetailOut:
    detail = engine.update_ticket(
        ticket_id, status=body.status, assignee=body.assignee, note=body.note, by=principal.name[:128]
    )
    return _detail(detail)
