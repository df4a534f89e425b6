"""uvicorn's HTTP/1.1 protocol (httptools) with ``TCP_NODELAY`` and a cap on requests per connection.

**TCP_NODELAY.** With ``--workers`` > 1 uvicorn hands the listening socket to worker processes, and
the sockets they accept lose asyncio's automatic ``TCP_NODELAY`` (it checks ``sock.proto``, which the
hand-over resets). A response goes out as two writes (headers, then body), so Nagle's algorithm holds
the body until the client acknowledges the headers — and clients delay that ACK by 40 ms. Measured on
the demo shop with two workers: every request, even ``/health/live``, took 44 ms; with this protocol
it takes as long as the handler (≈1–5 ms).

**Requests per connection.** The workers share one listening socket, and a worker woken by new
connections accepts every one that is queued. A client that opens its keep-alive connections at once
(a load balancer, a reverse proxy, ``wrk``) therefore often has all of them served by *one* worker
for their whole life while the other worker idles — measured with ``wrk -c2`` and ``-c8`` on the demo
shop: in most runs one worker did all the work, so one core served everything. Like nginx's
``keepalive_requests``, a connection is closed (``Connection: close`` on the response) after
:data:`MAX_REQUESTS_PER_CONNECTION` requests; the client reconnects, and the new connection is
accepted by whichever worker is waiting in its event loop — the idle one — so load spreads over the
workers within a few dozen requests. Measured with the cap: both workers took half the CPU in every
run, and the CPU per request did not move (``/trending`` 0.71–0.73 ms, 0.70–0.77 ms without the cap).

The parser is httptools (C; a dependency) rather than uvicorn's pure-Python h11, and the event loop
uvloop (``loop="auto"`` in ``run_server``): measured with ``wrk`` on the demo shop they take ≈10 % off
the stack's CPU per request (docs/bench/http.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Chosen, not tuned (only 25 was measured, see the module docstring): small enough that a skewed
# start evens out within a fraction of a second, large enough that reconnects cost no measurable CPU.
MAX_REQUESTS_PER_CONNECTION = 25


class NoDelayHttpProtocol(HttpToolsProtocol):
    max_requests = MAX_REQUESTS_PER_CONNECTION
    _served = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # not a TCP socket after all: nothing to tune
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)

    def on_headers_complete(self) -> None:
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not before:  # a new request on this connection
            self._served += 1
            if self._served >= self.max_requests:
                self.cycle.keep_alive = False  # uvicorn answers with "connection: close", then closes
