"""Where mail goes: a real SMTP server, or (embedded default) a maildir on disk."""

from __future__ import annotations

import asyncio
import contextlib
import mailbox
import time
from email.message import Message
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib


class Transport(Protocol):
    async def send(self, msg: Message) -> None: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class SmtpTransport:
    """``smtp://[user:pass@]host[:port]`` (STARTTLS if offered) or ``smtps://`` (implicit TLS)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.implicit_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    def __repr__(self) -> str:  # never show the password
        return f"SmtpTransport({self.host}:{self.port})"

    def client(self) -> aiosmtplib.SMTP:
        """A client for this server, not yet connected (connecting logs in)."""
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.implicit_tls,
            start_tls=None,
            timeout=self.timeout,
        )

    async def send(self, msg: Message) -> None:
        async with self.client() as client:
            await client.send_message(msg)

    async def ping(self) -> None:
        client = aiosmtplib.SMTP(hostname=self.host, port=self.port, use_tls=self.implicit_tls, timeout=5)
        await client.connect()
        await client.quit()

    async def close(self) -> None:
        return None


class PersistentSmtp(SmtpTransport):
    """SMTP over connections kept open and reused (the worker's postman sends many mails):
    a mail costs the SMTP commands, not a TCP (and TLS) handshake, EHLO and login each.

    At most ``connections`` at once, one mail at a time on each. A connection the server
    closed is noticed before use (and one idle for a while is asked NOOP first), then
    replaced; after any failure during a send the connection is dropped, since its state is
    unknown, and the failure is the caller's to retry. A connection is replaced after
    ``MESSAGES_PER_CONNECTION`` mails, below the limits servers commonly set.
    """

    MESSAGES_PER_CONNECTION = 100
    #: Seconds idle after which a connection is asked NOOP before a mail goes over it.
    IDLE_CHECK = 10.0

    def __init__(self, url: str, timeout: float = 30.0, connections: int = 2) -> None:
        super().__init__(url, timeout)
        self._idle: list[tuple[aiosmtplib.SMTP, int, float]] = []  # client, mails sent, last used
        self._free = asyncio.Semaphore(connections)

    def __repr__(self) -> str:  # never show the password
        return f"PersistentSmtp({self.host}:{self.port})"

    async def send(self, msg: Message) -> None:
        async with self._free:
            client, sent = await self._connection()
            try:
                await client.send_message(msg)
            except BaseException:
                _drop(client)
                raise
            if sent + 1 >= self.MESSAGES_PER_CONNECTION:
                await _quit(client)
            else:
                self._idle.append((client, sent + 1, time.monotonic()))

    async def _connection(self) -> tuple[aiosmtplib.SMTP, int]:
        while self._idle:
            client, sent, used = self._idle.pop()
            if not client.is_connected:
                _drop(client)
                continue
            if time.monotonic() - used > self.IDLE_CHECK:
                try:
                    await client.noop()
                except (aiosmtplib.SMTPException, OSError):
                    _drop(client)
                    continue
            return client, sent
        client = self.client()
        await client.connect()
        return client, 0

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client, _, _ in idle:
            await _quit(client)


def _drop(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        client.close()


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        _drop(client)


class MaildirTransport:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, msg: Message) -> None:
        def write() -> None:
            box = mailbox.Maildir(str(self.path), create=True)
            box.add(msg)

        await asyncio.to_thread(write)

    async def ping(self) -> None:
        await asyncio.to_thread(self.path.mkdir, parents=True, exist_ok=True)

    async def close(self) -> None:
        return None


def make_transport(smtp_url: str | None, maildir: Path, timeout: float = 30.0, *, keep_open: bool = False) -> Transport:
    """SMTP when a URL is configured, else the maildir. ``keep_open``: reuse SMTP connections
    (close() the transport when done)."""
    if not smtp_url:
        return MaildirTransport(maildir)
    return PersistentSmtp(smtp_url, timeout=timeout) if keep_open else SmtpTransport(smtp_url, timeout=timeout)
