"""The customer-service assistant over HTTP.

Identity: a read key bound to a customer chats *as* that customer (order tools see only their
orders); an unbound read key chats anonymously (the assistant asks the shopper to sign in for
order questions); ingest/admin keys (server-side) may name ``user_id`` explicitly.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from shopmind.api.deps import EngineDep, ReadKey
from shopmind.api.schemas import ChatIn

router = APIRouter(tags=["assistant"])


@router.post("/chat", summary="Send a message to the assistant")
def chat(engine: EngineDep, principal: ReadKey, body: ChatIn) -> dict[str, Any]:
    if principal.user_id is not None:
        user_id: str | None = principal.user_id
    elif principal.has("ingest"):
        user_id = body.user_id
    else:
        user_id = None
    result = engine.chat(body.message, body.conversation_id, user_id, body.language)
    if hasattr(result, "to_dict"):
        return result.to_dict()
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    return dict(result)
