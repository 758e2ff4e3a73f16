"""Where mail goes: a real SMTP server, or (embedded default) a maildir on disk."""

from __future__ import annotations

import asyncio
import mailbox
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib


class Transport(Protocol):
    async def send(self, msg: EmailMessage) -> None: ...

    async def ping(self) -> None: ...


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

    async def send(self, msg: EmailMessage) -> None:
        await aiosmtplib.send(
            msg,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.implicit_tls,
            start_tls=None,
            timeout=self.timeout,
        )

    async def ping(self) -> None:
        client = aiosmtplib.SMTP(hostname=self.host, port=self.port, use_tls=self.implicit_tls, timeout=5)
        await client.connect()
        await client.quit()


class MaildirTransport:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, msg: EmailMessage) -> None:
        def write() -> None:
            box = mailbox.Maildir(str(self.path), create=True)
            box.add(msg)

        await asyncio.to_thread(write)

    async def ping(self) -> None:
        await asyncio.to_thread(self.path.mkdir, parents=True, exist_ok=True)


def make_transport(smtp_url: str | None, maildir: Path, timeout: float = 30.0) -> Transport:
    return SmtpTransport(smtp_url, timeout=timeout) if smtp_url else MaildirTransport(maildir)
