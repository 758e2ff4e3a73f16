"""Cut off clients that are slow to send a request's headers (slowloris).

aiohttp has no header-read timeout of its own: a client may open a connection and trickle
header bytes forever, holding a connection (and a TLS session) per socket. ``HeaderDeadline``
wraps aiohttp's protocol factory: every connection must complete the headers of its next
request within ``timeout`` seconds of starting it (for the first request: of connecting).
Bodies are bounded separately (the intake's read timeout), idle keep-alive by aiohttp.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


class _Guarded(asyncio.Protocol):
    """Delegates to aiohttp's RequestHandler and watches the header deadline."""

    def __init__(self, inner: Any, timeout: float) -> None:
        self.inner = inner
        self.timeout = timeout
        self.waiting_since: float | None = time.monotonic()
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.waiting_since = time.monotonic()
        self.inner.connection_made(transport)
        asyncio.get_running_loop().call_later(self.timeout / 2, self._tick)

    def data_received(self, data: bytes) -> None:
        # aiohttp counts a request once its headers are parsed (private, hence getattr).
        before = getattr(self.inner, "_request_count", 0)
        self.inner.data_received(data)
        if getattr(self.inner, "_request_count", 0) > before:
            self.waiting_since = None
        elif self.waiting_since is None and not getattr(self.inner, "_request_in_progress", False):
            self.waiting_since = time.monotonic()  # the next request has begun

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()  # type: ignore[no-any-return]

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def _tick(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.waiting_since is not None and time.monotonic() - self.waiting_since > self.timeout:
            transport.close()
            return
        asyncio.get_running_loop().call_later(self.timeout / 2, self._tick)


class HeaderDeadline:
    """Protocol factory: aiohttp's, with the header deadline around each connection."""

    def __init__(self, factory: Callable[[], Any], timeout: float) -> None:
        self.factory = factory
        self.timeout = timeout

    def __call__(self) -> asyncio.Protocol:
        return _Guarded(self.factory(), self.timeout)
