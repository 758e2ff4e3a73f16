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
from gateway.intake.handshakelog import HandshakeRefusals
from gateway.intake.refusals import REASONS
from gateway.intake.senders import SenderDirectory
from gateway.intake.slowclients import HeaderDeadline
from gateway.intake.tls import server_context
from gateway.intake.tlsfront import TlsListener
from gateway.intake.trust import CertificateChecker, CrlStore, load_bundle
from gateway.notify.transport import make_transport
from gateway.ops.app import create_ops_app
from gateway.queue.connections import embedded_redis, start_and_connect
from gateway.queue.counters import RedisCounter, tls_failures_key
from gateway.queue.supervisor import WorkerSupervisor
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.errors import is_transient
from gateway.web.ops import register as register_zdj
from gateway.web.server import start_web

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
    counter: RedisCounter | None = None
    counting: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        """Stop accepting first, then let requests in flight finish (aiohttp waits for them):
        a request accepted during shutdown would be stored and never answered."""
        if self.server is not None:
            self.server.close()
        await self.runner.cleanup()
        if self.counting is not None:
            self.counting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.counting
        if self.counter is not None:
            await self.counter.flush()  # the last second's counts


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
    counter: RedisCounter | None = None
    if ssl_ctx is None:
        server = await loop.create_server(factory, settings.host, settings.port, backlog=512)
    else:
        # TLS per connection (not create_server's ssl=), so that a refused handshake is logged
        # with its peer and counted for /metrics: see gateway.intake.tlsfront.
        counter = RedisCounter(pool, tls_failures_key(settings.queue_name), REASONS)
        refusals = HandshakeRefusals(settings.header_timeout, counter.add)
        listener = TlsListener(factory, ssl_ctx, settings.header_timeout, refusals)
        server = await loop.create_server(listener, settings.host, settings.port, backlog=512)
    port = int(server.sockets[0].getsockname()[1]) if server.sockets else settings.port
    scheme = "http" if ssl_ctx is None else "https"
    log.info(
        "intake listening",
        url=f"{scheme}://{settings.host}:{port}/wus/2.0/aanleverservice/1.2",
        proxy_mode=ssl_ctx is None,
    )
    counting = asyncio.create_task(counter.run()) if counter is not None else None
    return Running(runner, port, server, counter, counting)


async def start_ops(settings: Settings, store: Store, pool: ArqRedis) -> Running:
    transport = make_transport(settings.smtp_url, settings.maildir, timeout=5)
    app = create_ops_app(settings, store, pool, transport)
    register_zdj(app, store, settings)  # the Zelf Deponeren operators' page, on the same listener
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.ops_host, settings.ops_port)
    await site.start()
    log.info("operator endpoints listening", url=f"http://{settings.ops_host}:{settings.ops_port}/dashboard")
    return Running(runner, settings.ops_port)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _open_store(settings: Settings) -> Store:
    """The store, once the database answers: a worker started before its database waits."""
    delay = 0.5
    while True:
        store = Store.from_url(settings.effective_database_url)
        try:
            await store.init_schema()
            return store
        except Exception as exc:
            await store.close()
            if not is_transient(exc):
                raise
            log.warning("database not reachable yet", error=str(exc), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def serve(settings: Settings, *, with_worker: bool) -> None:
    settings = prepare(settings)
    if not settings.require_signature:
        log.warning(
            "GATEWAY_REQUIRE_SIGNATURE=false: requests without a WS-Security signature are accepted; "
            "for trying things out only, never in production"
        )
    stop = _stop_on_signals()
    embedded = embedded_redis(settings)
    store = await _open_store(settings)
    pool = await start_and_connect(settings, embedded)
    assert settings.client_ca is not None
    bundle = load_bundle(settings.client_ca)
    crls = CrlStore(list(settings.crl_sources), settings.data_dir / "crl-cache", bundle)
    await crls.refresh()
    crl_task = asyncio.create_task(crls.refresh_forever(settings.crl_refresh_seconds)) if crls.enabled else None
    running = await start_intake(settings, store, pool, CertificateChecker(bundle, crls))
    ops = await start_ops(settings, store, pool)
    web_pages = await start_web(settings, store, pool)
    worker = (
        asyncio.create_task(WorkerSupervisor(settings, store, embedded).run(stop)) if with_worker else None
    )
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        stop.set()
        if crl_task is not None:
            crl_task.cancel()
        if worker is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker
        await running.stop()
        await ops.stop()
        if web_pages is not None:
            await web_pages.stop()
        await pool.aclose()
        await store.close()
        # `gateway dev` owns the data folder's redis-server, also one it adopted after a
        # crash; it leaves it running only for other gateway processes still using it.
        if embedded is not None and with_worker:
            await asyncio.to_thread(embedded.stop_if_unused)


async def work(settings: Settings, *, burst: bool = False) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stop = _stop_on_signals()
    store = await _open_store(settings)
    try:
        await WorkerSupervisor(settings, store, embedded_redis(settings), burst=burst).run(stop)
    finally:
        await store.close()
