"""Starting and stopping the gateway's processes: the intake server, the worker, or both."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass

import structlog
from aiohttp import web
from arq.connections import ArqRedis

from gateway.devcerts import write_dev_ca
from gateway.intake.app import create_app
from gateway.intake.senders import SenderDirectory
from gateway.intake.slowclients import HeaderDeadline
from gateway.intake.tls import server_context
from gateway.intake.trust import CertificateChecker, CrlStore, load_bundle
from gateway.notify.transport import make_transport
from gateway.ops.app import create_ops_app
from gateway.queue.connections import connect, redis_settings
from gateway.queue.redis_server import EmbeddedRedis
from gateway.queue.worker import make_worker
from gateway.settings import Settings
from gateway.store.db import Store

log = structlog.get_logger(__name__)


def prepare(settings: Settings) -> Settings:
    """Create the data folder, and dev certificates when none are configured."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.tls_cert is None and not (settings.certs_dir / "server.pem").exists():
        paths = write_dev_ca(settings.certs_dir)
        log.warning("created development certificates", folder=str(settings.certs_dir), client=str(paths["client"]))
    return settings.with_defaults_for_tls()


@dataclass
class Running:
    runner: web.AppRunner
    port: int
    server: asyncio.AbstractServer | None = None

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        await self.runner.cleanup()


async def start_intake(settings: Settings, store: Store, pool: ArqRedis, checker: CertificateChecker) -> Running:
    assert settings.tls_cert and settings.tls_key and settings.client_ca
    # On the embedded default every mail lands in the local maildir, so give it an address.
    fallback = settings.default_notify_address or (None if settings.smtp_url else "filer@localhost")
    senders = SenderDirectory.load(settings.senders_file, fallback)
    app = create_app(settings, store, pool, senders, checker)
    # Bounded headers, and idle keep-alive connections dropped after 75 s.
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        keepalive_timeout=75,
        max_headers=64,
        max_line_size=8190,
        max_field_size=8190,
    )
    await runner.setup()
    # In proxy mode TLS (and the client certificate handshake) happens at the proxy.
    ssl_ctx = (
        None if settings.proxy_cert_header else server_context(settings.tls_cert, settings.tls_key, settings.client_ca)
    )
    # Our own listening socket (not TCPSite) so that the protocol factory can carry the
    # header deadline that aiohttp lacks.
    assert runner.server is not None
    loop = asyncio.get_running_loop()
    factory = HeaderDeadline(runner.server, settings.header_timeout)
    if ssl_ctx is None:
        server = await loop.create_server(factory, settings.host, settings.port, backlog=512)
    else:
        server = await loop.create_server(
            factory,
            settings.host,
            settings.port,
            backlog=512,
            ssl=ssl_ctx,
            ssl_handshake_timeout=settings.header_timeout,
        )
    port = int(server.sockets[0].getsockname()[1]) if server.sockets else settings.port
    scheme = "http" if ssl_ctx is None else "https"
    log.info(
        "intake listening",
        url=f"{scheme}://{settings.host}:{port}/wus/2.0/aanleverservice/1.2",
        proxy_mode=ssl_ctx is None,
    )
    return Running(runner, port)


async def start_ops(settings: Settings, store: Store, pool: ArqRedis) -> Running:
    transport = make_transport(settings.smtp_url, settings.maildir, timeout=5)
    runner = web.AppRunner(create_ops_app(settings, store, pool, transport), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.ops_host, settings.ops_port)
    await site.start()
    log.info("operator endpoints listening", url=f"http://{settings.ops_host}:{settings.ops_port}/dashboard")
    return Running(runner, settings.ops_port)


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve(settings: Settings, *, with_worker: bool) -> None:
    settings = prepare(settings)
    embedded = None if settings.redis_url else EmbeddedRedis(settings.data_dir)
    store = Store.from_url(settings.effective_database_url)
    await store.init_schema()
    pool = await connect(settings, embedded)
    assert settings.client_ca is not None
    bundle = load_bundle(settings.client_ca)
    crls = CrlStore(list(settings.crl_sources), settings.data_dir / "crl-cache", bundle)
    await crls.refresh()
    crl_task = asyncio.create_task(crls.refresh_forever(settings.crl_refresh_seconds)) if crls.enabled else None
    running = await start_intake(settings, store, pool, CertificateChecker(bundle, crls))
    ops = await start_ops(settings, store, pool)
    worker_task = None
    worker = None
    if with_worker:
        worker = make_worker(settings, redis_settings(settings, embedded), store=store, handle_signals=False)
        worker_task = asyncio.create_task(worker.async_run())
    try:
        await _wait_for_signal()
    finally:
        log.info("shutting down")
        if crl_task is not None:
            crl_task.cancel()
        if worker is not None and worker_task is not None:
            await worker.close()
            worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker_task
        await running.stop()
        await ops.stop()
        await pool.aclose()
        await store.close()
        if embedded is not None and embedded.started_here and with_worker:
            embedded.stop()


async def work(settings: Settings, *, burst: bool = False) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.from_url(settings.effective_database_url)
    await store.init_schema()
    worker = make_worker(settings, redis_settings(settings), store=store, burst=burst)
    try:
        await worker.async_run()
    finally:
        await worker.close()
        await store.close()
