"""The serving protocol: Nagle's algorithm off on every TCP connection, and at most N requests per
connection (so keep-alive clients spread over the worker processes)."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shopmind.api.protocol import NoDelayHttpProtocol


class _Transport:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str):
        return self.sock if name == "socket" else None


def test_connection_made_sets_tcp_nodelay(monkeypatch) -> None:
    handed_on = []
    monkeypatch.setattr(
        HttpToolsProtocol, "connection_made", lambda self, transport: handed_on.append(transport)
    )
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            protocol = NoDelayHttpProtocol.__new__(NoDelayHttpProtocol)
            transport = _Transport(accepted)
            protocol.connection_made(transport)  # type: ignore[arg-type]
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
            assert handed_on == [transport]


def test_server_uses_the_nodelay_protocol(monkeypatch, tmp_path) -> None:
    import uvicorn

    from shopmind.api import server
    from shopmind.config import Settings

    # run_server exports these for its worker processes: let monkeypatch restore them afterwards
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setenv(server.SETTINGS_ENV, "{}")
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    server.run_server(Settings(), workers=2)
    assert seen["http"] == "shopmind.api.protocol:NoDelayHttpProtocol"
    assert seen["loop"] == "auto"  # uvloop, a dependency, when importable
    assert seen["workers"] == 2 and seen["host"] == "127.0.0.1"


def test_connection_is_closed_after_max_requests(monkeypatch) -> None:
    """A real uvicorn server with the protocol: the Nth response on one connection says close."""
    monkeypatch.setattr(NoDelayHttpProtocol, "max_requests", 3)
    peers = []

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        peers.append(scope["client"])  # (host, port): one port per connection
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=NoDelayHttpProtocol, lifespan="off",
                            log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        closing = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(7):
                r = client.get("/")
                assert r.status_code == 200 and r.text == "ok"
                closing.append(r.headers.get("connection") == "close")
        assert closing == [False, False, True, False, False, True, False]
        assert len(set(peers)) == 3  # the client reconnected after each 3rd request
    finally:
        server.should_exit = True
        thread.join(10)
