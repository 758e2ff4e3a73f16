"""The ZDJ listener: HTTPS with the gateway's server certificate and no client certificate
(browser users have none), on ``GATEWAY_WEB_HOST:GATEWAY_WEB_PORT`` (default: the filers'
host, port 8444; ``GATEWAY_WEB_PORT=off`` switches the pages off)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import structlog
from aiohttp import web
from arq.connections import ArqRedis

from gateway.notify.transport import Transport, make_transport
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.web.app import BASE, create_web_app
from gateway.web.service import Service

log = structlog.get_logger(__name__)

#: How often pending access-code mails (after an SMTP failure) are tried again.
OUTBOX_INTERVAL = 30.0


@dataclass(frozen=True)
class WebSettings:
    host: str
    port: int | None

    @classmethod
    def from_env(cls, settings: Settings) -> WebSettings:
        raw = os.environ.get("GATEWAY_WEB_PORT", "8444").strip().lower()
        port = None if raw in ("off", "none", "") else int(raw)
        return cls(os.environ.get("GATEWAY_WEB_HOST") or settings.host, port)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    ctx.verify_mode = ssl.CERT_NONE  # log-in is by access code and password
    return ctx


@dataclass
class RunningWeb:
    runner: web.AppRunner
    port: int
    outbox: asyncio.Task[None]

    async def stop(self) -> None:
        self.outbox.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.outbox
        await self.runner.cleanup()


async def _flush_forever(service: Service, transport: Transport, mail_from: str) -> None:
    while True:
        try:
            await service.send_mails(transport, mail_from)
        except Exception as exc:  # the database away for a moment: try again next round
            log.warning("access-code outbox not flushed", error=type(exc).__name__)
        await asyncio.sleep(OUTBOX_INTERVAL)


async def start_web(settings: Settings, store: Store, pool: ArqRedis) -> RunningWeb | None:
    web_settings = WebSettings.from_env(settings)
    if web_settings.port is None:
        return None
    assert settings.tls_cert and settings.tls_key
    transport = make_transport(settings.smtp_url, settings.maildir, timeout=10)
    app = create_web_app(settings, store, pool, transport)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, keepalive_timeout=75, max_headers=64)
    await runner.setup()
    site = web.TCPSite(
        runner, web_settings.host, web_settings.port, ssl_context=tls_context(settings.tls_cert, settings.tls_key)
    )
    await site.start()
    outbox = asyncio.create_task(_flush_forever(Service(store), transport, settings.mail_from))
    log.info("zdj pages listening", url=f"https://{web_settings.host}:{web_settings.port}{BASE}/")
    return RunningWeb(runner, web_settings.port, outbox)
