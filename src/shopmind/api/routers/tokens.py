"""Customer tokens: the shop's backend signs a shopper in for the storefront (ingest/admin keys only).

The page keeps using the public, unbound read key and sends the token as ``X-Customer-Token``; the
API then serves that request as the signed-in customer ("for you", their orders, chat as them).
Format and signature: :mod:`shopmind.api.auth`. The flow is described in docs/http.md.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from shopmind.api.auth import CUSTOMER_TOKEN_HEADER, CUSTOMER_TOKEN_MAX_TTL_S, CUSTOMER_TOKEN_TTL_S
from shopmind.api.deps import IngestKey
from shopmind.data.schema import ID_PATTERN

router = APIRouter(tags=["users"])


class CustomerTokenIn(BaseModel):
    user_id: str = Field(pattern=ID_PATTERN, max_length=128, description="the signed-in customer")
    ttl_s: int = Field(
        CUSTOMER_TOKEN_TTL_S, ge=1, le=CUSTOMER_TOKEN_MAX_TTL_S, description="lifetime in seconds"
    )


class CustomerTokenOut(BaseModel):
    token: str
    user_id: str
    expires_at: datetime
    header: str = Field(CUSTOMER_TOKEN_HEADER, description="the request header to send it in")


@router.post(
    "/customer-tokens",
    summary="Mint a short-lived customer token (server-side, for a signed-in shopper)",
    response_model=CustomerTokenOut,
)
def mint_customer_token(request: Request, principal: IngestKey, body: CustomerTokenIn) -> CustomerTokenOut:
    token, expires = request.app.state.customer_tokens.mint(body.user_id, body.ttl_s, key_id=principal.key_id)
    return CustomerTokenOut(
        token=token, user_id=body.user_id, expires_at=expires, header=CUSTOMER_TOKEN_HEADER
    )
