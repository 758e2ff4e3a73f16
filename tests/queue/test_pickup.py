"""The worker takes a job when it is queued and a backlog as slots free, not at its next poll
(gateway/queue/pickup.py), on a real Redis. The idle poll is made a minute long here, so a
job that waited for it would not be done in time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import func

from gateway.queue import pickup
from gateway.queue.jobs import wake_channel
from gateway.queue.redis_server import EmbeddedRedis
from tests.conftest import REDIS_URL, short_tmp


@pytest.fixture
async def redis() -> AsyncIterator[tuple[ArqRedis, RedisSettings]]:
    embedded: EmbeddedRedis | None = None
    if REDIS_URL:
        settings = RedisSettings.from_dsn(REDIS_URL)
    else:
        embedded = EmbeddedRedis(short_tmp())
        embedded.start()
        settings = RedisSettings(unix_socket_path=str(embedded.socket))
    pool = await create_pool(settings)
    yield pool, settings
    await pool.aclose()
    if embedded is not None:
        embedded.stop()


async def test_queued_jobs_are_taken_at_once_and_a_backlog_as_slots_free(
    redis: tuple[ArqRedis, RedisSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    pool, settings = redis
    monkeypatch.setattr(pickup, "IDLE_POLL", 60.0)
    queue = f"gw-pickup:{uuid.uuid4().hex[:8]}"
    done: list[int] = []

    async def job(ctx: dict[str, Any], n: int) -> None:
        await asyncio.sleep(0.05)
        done.append(n)

    worker = pickup.PromptWorker(
        functions=[func(job, name="job")],
        redis_settings=settings,
        queue_name=queue,
        max_jobs=1,
        handle_signals=False,
        keep_result=0,
    )
    running = asyncio.create_task(worker.async_run())
    try:
        # Idle now, and listening (the subscription is up once the channel has a subscriber).
        async with asyncio.timeout(10):
            while not (await pool.pubsub_numsub(wake_channel(queue)))[0][1]:
                await asyncio.sleep(0.02)
        await pool.enqueue_job("job", 0, _queue_name=queue)
        await pool.publish(wake_channel(queue), b"")
        async with asyncio.timeout(10):
            while not done:
                await asyncio.sleep(0.02)
        # Three at once for one slot: each next one as the one before ends.
        for n in (1, 2, 3):
            await pool.enqueue_job("job", n, _queue_name=queue)
        await pool.publish(wake_channel(queue), b"")
        async with asyncio.timeout(10):
            while len(done) < 4:
                await asyncio.sleep(0.02)
        assert sorted(done) == [0, 1, 2, 3]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await pool.delete(queue, worker.health_check_key)
        await worker.pool.aclose()
