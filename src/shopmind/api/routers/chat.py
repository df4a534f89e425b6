"""The customer-service assistant over HTTP.

Identity: a read key bound to a customer chats *as* that customer (order tools see only their
orders); an unbound read key chats anonymously (the assistant asks the shopper to sign in for
order questions); ingest/admin keys (server-side) may name ``user_id`` explicitly.

Anonymous order checks (order id + e-mail) are limited per order id, per API key and per client
address across conversations (``settings.assistant``); the client address is the socket peer, or,
when ``settings.server.client_ip_header`` names a header set by a trusted reverse proxy, that
header's right-most entry (the address the proxy itself saw). A locked-out check is answered with
200 and a reply saying so, plus ``retry_after_s`` in the body and a ``Retry-After`` header.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, Request, Response

from shopmind.api.deps import EngineDep, ReadKey
from shopmind.api.schemas import ChatIn
from shopmind.assistant.tools import Client

router = APIRouter(tags=["assistant"])

IPV6_PREFIX = 64  # one IPv6 customer usually holds a whole /64: count it as one address


def normalise_ip(raw: str | None) -> str | None:
    """An address as the rate limits count it: IPv4 as is, IPv6 as its /64 network; None if invalid."""
    if not raw:
        return None
    try:
        addr = ipaddress.ip_address(raw.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, IPV6_PREFIX), strict=False))
    return str(addr)


def client_ip(request: Request, header: str | None) -> str | None:
    """The caller's address: the trusted proxy header's right-most entry if configured, else the peer.

    Without a configured header, ``X-Forwarded-For`` and the like are ignored: any client could
    write them, so trusting them would let an attacker pick a fresh address for every request.
    """
    if header:
        value = request.headers.get(header)
        if value:
            found = normalise_ip(value.split(",")[-1])
            if found is not None:
                return found
    peer = request.client.host if request.client is not None else None
    return normalise_ip(peer) or (peer[:64] if peer else None)


@router.post("/chat", summary="Send a message to the assistant")
def chat(
    engine: EngineDep, principal: ReadKey, body: ChatIn, request: Request, response: Response
) -> dict[str, Any]:
    if principal.user_id is not None:
        user_id: str | None = principal.user_id
    elif principal.has("ingest"):
        user_id = body.user_id
    else:
        user_id = None
    client = Client(key_id=principal.key_id, ip=client_ip(request, engine.settings.server.client_ip_header))
    data = engine.chat(body.message, body.conversation_id, user_id, body.language, client=client).to_dict()
    retry = data.get("retry_after_s")
    if retry:
        response.headers["Retry-After"] = str(int(retry))
    return dict(data)
