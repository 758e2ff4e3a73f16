"""Keeps a worker working through Redis outages.

arq's worker ends when Redis goes away (its poll loop raises), and gives up connecting
after a few tries. The supervisor then waits for Redis (starting the embedded server again
when that is the one in use) and runs a fresh worker; jobs that were running are cancelled
and, because every job is idempotent and the database is the truth, re-queued by the
reconciler that every new worker runs at start.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from arq.worker import Worker
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.notify.transport import Transport
from gateway.queue.connections import redis_settings
from gateway.queue.redis_server import EmbeddedRedis
from gateway.queue.worker import make_worker
from gateway.settings import Settings
from gateway.store.db import Store

log = structlog.get_logger(__name__)


def is_redis_failure(exc: BaseException) -> bool:
    return isinstance(exc, RedisError | OSError)


async def _stop(worker: Worker, run: asyncio.Task[None]) -> None:
    """Stop a worker whose Redis may be gone (arq's close() needs Redis to be there)."""
    for task in list(worker.tasks.values()):
        task.cancel()
    run.cancel()
    await asyncio.gather(run, *worker.tasks.values(), return_exceptions=True)
    if worker.on_shutdown is not None and "redis" in worker.ctx:
        with contextlib.suppress(Exception):
            await worker.on_shutdown(worker.ctx)
    if worker.ctx.get("redis") is not None:
        with contextlib.suppress(Exception):
            await worker.pool.delete(worker.health_check_key)
        with contextlib.suppress(Exception):
            await worker.pool.close(close_connection_pool=True)


class WorkerSupervisor:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        embedded: EmbeddedRedis | None,
        *,
        burst: bool = False,
        transport: Transport | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedded = embedded
        self.burst = burst
        self.transport = transport
        #: How many times a worker was started (1 + the outages ridden out).
        self.generations = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not await self._redis_ready(stop):
                return
            worker = make_worker(
                self.settings,
                redis_settings(self.settings, self.embedded),
                store=self.store,
                transport=self.transport,
                burst=self.burst,
                handle_signals=False,
            )
            self.generations += 1
            failure = await self._run_once(worker, stop)
            if failure is None:
                return  # stopped, or a burst that emptied the queue
            log.warning("worker lost Redis; waiting for it", error=f"{type(failure).__name__}: {failure}")

    async def _run_once(self, worker: Worker, stop: asyncio.Event) -> BaseException | None:
        run = asyncio.create_task(worker.async_run())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({run, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            failure = run.exception() if run.done() and not run.cancelled() else None
            await _stop(worker, run)
        if failure is not None and not is_redis_failure(failure):
            raise failure
        return None if stop.is_set() else failure

    async def _redis_ready(self, stop: asyncio.Event) -> bool:
        """Wait until Redis answers (False if told to stop first)."""
        delay = 0.2
        while not stop.is_set():
            try:
                if self.embedded is not None:
                    await asyncio.to_thread(self.embedded.start)
                await _ping(self.settings, self.embedded)
                return True
            except (RedisError, OSError, RuntimeError) as exc:
                log.info("Redis not reachable yet", error=str(exc), retry_in=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 5.0)
        return False


async def _ping(settings: Settings, embedded: EmbeddedRedis | None) -> None:
    if settings.redis_url:
        client = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    else:
        assert embedded is not None
        client = Redis(unix_socket_path=str(embedded.socket), socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    finally:
        await client.aclose()
