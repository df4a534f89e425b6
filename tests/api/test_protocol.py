"""The serving protocol turns Nagle's algorithm off on every accepted TCP connection."""

from __future__ import annotations

import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

from shopmind.api.protocol import NoDelayH11Protocol


class _Transport:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str):
        return self.sock if name == "socket" else None


def test_connection_made_sets_tcp_nodelay(monkeypatch) -> None:
    handed_on = []
    monkeypatch.setattr(H11Protocol, "connection_made", lambda self, transport: handed_on.append(transport))
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            protocol = NoDelayH11Protocol.__new__(NoDelayH11Protocol)
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
    assert seen["http"] == "shopmind.api.protocol:NoDelayH11Protocol"
    assert seen["workers"] == 2 and seen["host"] == "127.0.0.1"
