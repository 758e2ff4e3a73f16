"""A real SMTP server (aiosmtpd) that keeps what it receives, for asserting on mails."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.delay:
            self.sink.delayed += 1
            await asyncio.sleep(self.sink.delay)
        if self.sink.refuse:
            return "451 4.3.0 try again later"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(msg)  # type: ignore[arg-type]
            self.sink.connections.add(tuple(session.peer))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.refuse = False
        #: Seconds to wait before answering a mail (a slow mail server), and how many mails
        #: were held up so.
        self.delay = 0.0
        self.delayed = 0
        #: The client ends (address, port) mails came over: one per SMTP connection.
        self.connections: set[tuple[Any, ...]] = set()
        self.port = free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def restart(self) -> None:
        """Start again on the same port after stop() (an aiosmtpd Controller runs once)."""
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def for_kenmerk(self, kenmerk: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["X-Gateway-Kenmerk"] == kenmerk]

    def wait_for(self, kenmerk: str, count: int = 1, timeout: float = 30.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.for_kenmerk(kenmerk)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"expected {count} mail(s) for {kenmerk}, got {len(self.for_kenmerk(kenmerk))}")
