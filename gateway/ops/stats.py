"""What operators look at: the database's overview (the source of truth, read through the
operators' read model) beside what only Redis knows (queue, live workers)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from gateway.queue.counters import read_counts, tls_failures_key
from gateway.queue.heartbeat import live_workers
from gateway.store.operators import OperatorsReadModel, Overview

#: Above this many jobs the queue is only counted, not split by kind (one ZRANGE per scrape).
CLASSIFY_LIMIT = 10_000


@dataclass(frozen=True)
class QueueState:
    """Jobs in the arq queue (queued, deferred and running), by kind: a check of a run, a
    notification mail, anything else (a retry's deferral keeps its kind)."""

    depth: int
    checks: int | None
    mails: int | None

    @property
    def other(self) -> int | None:
        if self.checks is None or self.mails is None:
            return None
        return self.depth - self.checks - self.mails


@dataclass(frozen=True)
class WorkerBeat:
    name: str
    started: float
    seen: float
    jobs_complete: int
    jobs_failed: int


@dataclass(frozen=True)
class Snapshot:
    overview: Overview
    #: None when Redis is unreachable.
    queue: QueueState | None
    workers: tuple[WorkerBeat, ...]
    #: refused TLS handshakes by reason, as the intake processes counted them (gateway.queue.counters)
    tls_failures: tuple[tuple[str, int], ...] = ()

    @property
    def taken_at(self) -> datetime:
        return self.overview.taken_at


def _kinds(job_ids: list[Any]) -> tuple[int, int]:
    names = [j.decode() if isinstance(j, bytes) else str(j) for j in job_ids]
    return sum(n.startswith("process:") for n in names), sum(n.startswith("mail:") for n in names)


async def queue_state(pool: ArqRedis, queue_name: str) -> QueueState:
    depth = int(await pool.zcard(queue_name))
    if depth > CLASSIFY_LIMIT:
        return QueueState(depth, None, None)
    checks, mails = _kinds(list(await pool.zrange(queue_name, 0, -1)))
    return QueueState(depth, checks, mails)


def _beat(w: dict[str, Any]) -> WorkerBeat:
    return WorkerBeat(
        name=f"{w['host']}:{w['pid']}",
        started=float(w.get("started", 0.0)),
        seen=float(w["seen"]),
        jobs_complete=int(w.get("jobs_complete", 0)),
        jobs_failed=int(w.get("jobs_failed", 0)),
    )


@dataclass(frozen=True)
class _RedisSide:
    queue: QueueState | None = None
    workers: tuple[WorkerBeat, ...] = ()
    tls_failures: tuple[tuple[str, int], ...] = ()


async def _redis_side(pool: ArqRedis | None, queue_name: str) -> _RedisSide:
    if pool is None:
        return _RedisSide()
    try:
        queue = await queue_state(pool, queue_name)
        workers = tuple(_beat(w) for w in await live_workers(pool, queue_name))
        tls = await read_counts(pool, tls_failures_key(queue_name))
    except (RedisError, OSError, ValueError, KeyError, json.JSONDecodeError):
        return _RedisSide()
    return _RedisSide(queue, workers, tuple(sorted(tls.items())))


async def snapshot(model: OperatorsReadModel, pool: ArqRedis | None, queue_name: str) -> Snapshot:
    overview = await model.overview(datetime.now(UTC))
    side = await _redis_side(pool, queue_name)
    return Snapshot(overview, side.queue, side.workers, side.tls_failures)
