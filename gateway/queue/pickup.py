"""arq's worker, taking work as soon as it can instead of at its next poll.

arq looks at the queue every ``poll_delay`` seconds: a job queued meanwhile waits for the
next look, and so does a slot freed by a finished job, on average half the delay per job.
At the drain rates the checks allow (hundreds of jobs a second) a 50 ms poll is several
jobs' worth of idle slots. This worker looks again at once

- when a job ends and its last look left due jobs it had no slot for (a backlog keeps every
  slot busy), and
- when a job is queued: ``gateway.queue.jobs`` publishes a wake-up on Redis with each job,

and otherwise every ``IDLE_POLL`` seconds (deferred retries coming due, the reconciler's
cron), so an idle worker costs a Redis round trip or two a second.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from arq.worker import Worker
from redis.exceptions import RedisError

from gateway.queue.jobs import wake_channel

log = structlog.get_logger(__name__)

#: Seconds between looks at an idle queue. arq queues its cron jobs a second ahead, so this
#: must stay below one second.
IDLE_POLL = 0.5


class PromptWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # arq sleeps poll_delay between looks; this worker waits in _poll_iteration instead.
        super().__init__(*args, **{**kwargs, "poll_delay": 0})
        self._wake = asyncio.Event()
        self._backlog = False
        self._listener: asyncio.Task[None] | None = None

    async def main(self) -> None:
        try:
            await super().main()
        finally:
            if self._listener is not None:
                self._listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._listener

    async def _poll_iteration(self) -> None:
        if self._listener is None:  # the pool exists from the first look on
            self._listener = asyncio.create_task(self._listen())
        self._wake.clear()
        await super()._poll_iteration()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), IDLE_POLL)

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        await super().start_jobs(job_ids)
        # Full with jobs left over: look again as soon as a slot frees.
        self._backlog = self.job_counter >= self.max_jobs and bool(job_ids)

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        if self._backlog:
            self._wake.set()

    async def _listen(self) -> None:
        """Wake up for every job queued; a lost subscription is taken again (meanwhile the
        idle poll finds the jobs)."""
        while True:
            try:
                async with self.pool.pubsub() as subscription:
                    await subscription.subscribe(wake_channel(self.queue_name))
                    async for message in subscription.listen():
                        if message.get("type") == "message":
                            self._wake.set()
            except (RedisError, OSError) as exc:
                log.info("not woken by new jobs until Redis answers again", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(1.0)
