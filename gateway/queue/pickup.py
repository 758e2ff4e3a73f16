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

It also takes the jobs it starts in one round trip (a Lua script that does, atomically, what
arq does with WATCH, EXISTS, ZSCORE and MULTI/PSETEX/EXEC per job: four round trips each).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, cast

import structlog
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Worker
from redis.exceptions import RedisError

from gateway.queue.jobs import wake_channel

log = structlog.get_logger(__name__)

#: Seconds between looks at an idle queue. arq queues its cron jobs a second ahead, so this
#: must stay below one second.
IDLE_POLL = 0.5

#: KEYS: the queue, then each candidate's in-progress key; ARGV: now (ms), the in-progress
#: key's lifetime (ms), how many to take, then the candidates' ids in queue order. Takes a
#: job that no worker runs and that is due, as arq's start_jobs does; returns id, score, ...
_TAKE = """
local taken = {}
local want = tonumber(ARGV[3])
for i = 4, #ARGV do
  if #taken >= 2 * want then break end
  local id = ARGV[i]
  local running = KEYS[i - 2]
  if redis.call('exists', running) == 0 then
    local score = redis.call('zscore', KEYS[1], id)
    if score and tonumber(score) <= tonumber(ARGV[1]) then
      redis.call('psetex', running, ARGV[2], '1')
      taken[#taken + 1] = id
      taken[#taken + 1] = score
    end
  end
end
return taken
"""


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
        free = self.max_jobs - self.job_counter
        if free > 0 and job_ids:
            ids = [j.decode() for j in job_ids]
            taken = await cast(  # redis-py types eval for its sync and async clients alike
                "Awaitable[list[bytes]]",
                self.pool.eval(
                    _TAKE,
                    1 + len(ids),
                    self.queue_name,
                    *(in_progress_key_prefix + i for i in ids),
                    str(timestamp_ms()),
                    str(int(self.in_progress_timeout_s * 1000)),
                    str(free),
                    *ids,
                ),
            )
            for job_id, score in zip(taken[::2], taken[1::2], strict=True):
                await self.sem.acquire()
                self.job_counter += 1
                name = job_id.decode() if isinstance(job_id, bytes) else str(job_id)
                task = self.loop.create_task(self.run_job(name, int(float(score))))
                task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
                self.tasks[name] = task
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
