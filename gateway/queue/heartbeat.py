"""Workers announce themselves in Redis every few seconds; operators read who is alive."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from typing import Any

import structlog
from arq.connections import ArqRedis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

INTERVAL = 5.0
TTL = 30


def prefix(queue_name: str) -> str:
    return f"gateway:heartbeat:{queue_name}:"


async def beat_forever(pool: ArqRedis, queue_name: str, stats: Any) -> None:
    key = f"{prefix(queue_name)}{socket.gethostname()}:{os.getpid()}"
    started = time.time()
    while True:
        value = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": started,
            "seen": time.time(),
            "jobs_complete": getattr(stats, "jobs_complete", 0),
            "jobs_failed": getattr(stats, "jobs_failed", 0),
            "jobs_retried": getattr(stats, "jobs_retried", 0),
        }
        try:
            await pool.set(key, json.dumps(value), ex=TTL)
        except (RedisError, OSError) as exc:
            log.warning("heartbeat not written", error=str(exc))
        await asyncio.sleep(INTERVAL)


async def live_workers(pool: ArqRedis, queue_name: str) -> list[dict[str, Any]]:
    out = []
    async for key in pool.scan_iter(match=f"{prefix(queue_name)}*"):
        raw = await pool.get(key)
        if raw:
            out.append(json.loads(raw))
    return sorted(out, key=lambda w: (w["host"], w["pid"]))
