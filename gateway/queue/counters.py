"""Counters an intake process adds to and the operators' /metrics reads, kept in Redis.

/metrics is computed at scrape time from what every process shares (the database, Redis), so
that every intake process's counts reach it whichever process serves /metrics. Facts worth a
row go to the database; a refused TLS handshake is not one (a flood of them must not become a
flood of inserts), so its counts live in a Redis hash per queue name, one field per label.
A process counts in memory and adds its counts with one HINCRBY pipeline a second at most;
while Redis is unreachable the counts wait in memory and are added later, never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Iterable
from typing import cast

import structlog
from arq.connections import ArqRedis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)


def tls_failures_key(queue_name: str) -> str:
    return f"gateway:tls-handshake-failures:{queue_name}"


class RedisCounter:
    """Counts per label in memory, added to a Redis hash by ``run``."""

    def __init__(self, pool: ArqRedis, key: str, labels: Iterable[str], interval: float = 1.0) -> None:
        self.pool = pool
        self.key = key
        self.labels = tuple(labels)
        self.interval = interval
        self.pending: Counter[str] = Counter()
        self._failing = False

    def add(self, label: str) -> None:
        self.pending[label] += 1

    async def flush(self) -> None:
        """Add the pending counts; on a Redis error keep them for the next try."""
        if not self.pending:
            return
        counts, self.pending = self.pending, Counter()
        try:
            async with self.pool.pipeline(transaction=False) as pipe:
                for label, n in counts.items():
                    pipe.hincrby(self.key, label, n)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self.pending.update(counts)
            if not self._failing:
                log.warning("counts not written to Redis; kept for the next try", key=self.key, error=str(exc))
            self._failing = True
            return
        self._failing = False

    async def _declare(self) -> None:
        """Every label present from the start (at 0), so each series exists before its first
        increment and rate() sees that increment."""
        async with self.pool.pipeline(transaction=False) as pipe:
            for label in self.labels:
                pipe.hincrby(self.key, label, 0)
            await pipe.execute()

    async def run(self) -> None:
        declared = False
        while True:
            if not declared:
                with contextlib.suppress(RedisError, OSError):
                    await self._declare()
                    declared = True
            await asyncio.sleep(self.interval)
            await self.flush()


async def read_counts(pool: ArqRedis, key: str) -> dict[str, int]:
    # redis-py types hgetall for its sync and async clients at once; this one is async.
    raw = await cast(Awaitable[dict[bytes, bytes]], pool.hgetall(key))
    return {(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in raw.items()}
