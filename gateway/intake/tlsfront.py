"""The filers' TLS listener, which knows who failed a handshake and why.

With ``loop.create_server(..., ssl=ctx)`` asyncio swallows a failed handshake (it reports one
only in debug mode), and the app protocol never learns of the connection, so nobody can say
which peer failed. Here the listener accepts plain TCP and each connection starts with
``TlsFront``, which knows the peer address; on the first byte it hands the connection to
asyncio's own ``SSLProtocol``, built exactly as ``create_server(ssl=...)`` builds it (same
context, same handshake timeout, ``call_connection_made=True``), and watches the handshake's
outcome.

Why not ``loop.start_tls``: with it the app protocol's ``connection_made`` is left to the
caller, but sslproto hands the application data that arrived with the client's Finished to the
app protocol before ``start_tls`` returns (``_on_handshake_complete`` wakes the waiter and then
reads), i.e. before aiohttp has its transport. ``SSLProtocol`` with ``call_connection_made=True``
calls ``connection_made`` first, as ``create_server`` does, so aiohttp sees the same transport,
``ssl_object`` (gateway.intake.peer), flow control and keep-alive as before. ``SSLProtocol``'s
constructor is not public API, but it and the order above are the same in 3.11, 3.12 and
3.13 (checked); the TLS tests exercise it.

Waiting for the first byte ourselves also separates a TCP probe (a load balancer's health
check, a port scan: connect, close, not a byte) from a handshake that failed: probes are not
refusals. A connection that sends nothing at all is cut off, and reported, at the handshake
timeout, as before; the TLS handshake gets what is left of that time.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from asyncio import sslproto
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger(__name__)

#: Called once per refused handshake with the peer (host, port) and what the handshake raised.
OnRefusal = Callable[[tuple[str, int], BaseException], None]


def peer_of(transport: asyncio.BaseTransport) -> tuple[str, int]:
    name = transport.get_extra_info("peername")
    if isinstance(name, tuple) and len(name) >= 2:
        return str(name[0]), int(name[1])
    return (str(name) if name else "unknown", 0)


class TlsFront(asyncio.Protocol):
    """The protocol of a new connection until its first byte; then TLS takes over."""

    def __init__(
        self, app_factory: Callable[[], Any], ctx: ssl.SSLContext, timeout: float, on_refusal: OnRefusal
    ) -> None:
        self.app_factory = app_factory
        self.ctx = ctx
        self.timeout = timeout
        self.on_refusal = on_refusal
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("unknown", 0)
        self.started = time.monotonic()
        self.silence: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = peer_of(transport)
        self.started = time.monotonic()
        self.silence = asyncio.get_running_loop().call_later(self.timeout, self._silent)

    def _silent(self) -> None:
        """Nothing arrived within the handshake timeout: the same cut-off TLS would make."""
        self.silence = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()
            self.on_refusal(self.peer, TimeoutError("no TLS client hello"))

    def data_received(self, data: bytes) -> None:
        if self.silence is not None:
            self.silence.cancel()
            self.silence = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        loop = asyncio.get_running_loop()
        remaining = max(self.timeout - (time.monotonic() - self.started), 0.01)
        waiter: asyncio.Future[None] = loop.create_future()
        tls = sslproto.SSLProtocol(
            loop,
            self.app_factory(),
            self.ctx,
            waiter,
            server_side=True,
            ssl_handshake_timeout=remaining,  # type: ignore[arg-type]  # typeshed says int; asyncio takes seconds
        )
        waiter.add_done_callback(self._handshake_done)
        # From here on the raw transport feeds the TLS protocol directly (buffered reads, as with
        # create_server); this first chunk is handed over through the same buffer interface.
        transport.set_protocol(tls)
        tls.connection_made(transport)
        buffer = tls.get_buffer(len(data))
        buffer[: len(data)] = data
        tls.buffer_updated(len(data))

    def _handshake_done(self, waiter: asyncio.Future[None]) -> None:
        if waiter.cancelled():
            return
        exc = waiter.exception()
        if exc is None:
            return
        if self.transport is not None:
            self.transport.close()  # what create_server does after a failed handshake
        self.on_refusal(self.peer, exc)

    def eof_received(self) -> bool | None:
        return None  # a probe that closed without a byte: close, nothing to report

    def connection_lost(self, exc: Exception | None) -> None:
        # Only reached before the first byte (afterwards the TLS protocol gets it).
        if self.silence is not None:
            self.silence.cancel()
            self.silence = None
        if exc is not None:
            log.debug("connection closed before a TLS client hello", remote=self.peer[0], port=self.peer[1])


class TlsListener:
    """Protocol factory for ``loop.create_server`` (without ``ssl=``): TLS per connection."""

    def __init__(
        self, app_factory: Callable[[], Any], ctx: ssl.SSLContext, timeout: float, on_refusal: OnRefusal
    ) -> None:
        self.app_factory = app_factory
        self.ctx = ctx
        self.timeout = timeout
        self.on_refusal = on_refusal

    def __call__(self) -> TlsFront:
        return TlsFront(self.app_factory, self.ctx, self.timeout, self.on_refusal)
