"""Putting work on the queue. Job ids are derived from the database keys, so the same work
is never queued twice at once; whether it still needs doing is the database's call."""

from __future__ import annotations

import structlog
from arq.connections import ArqRedis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)


def wake_channel(queue_name: str) -> str:
    """Where a worker listens for new jobs (gateway/queue/pickup.py)."""
    return f"{queue_name}:wake"


def process_job_id(kenmerk: str, run: int) -> str:
    return f"process:{kenmerk}:{run}"


async def enqueue_processing(pool: ArqRedis, kenmerk: str, run: int, queue_name: str) -> bool:
    """Queue the checks for one run. False when Redis is unreachable: the submission is
    stored, and the reconciler will queue it once Redis is back."""
    try:
        await pool.enqueue_job(
            "process_submission", kenmerk, run, _job_id=process_job_id(kenmerk, run), _queue_name=queue_name
        )
        await pool.publish(wake_channel(queue_name), b"")  # a worker with a free slot takes it now
        return True
    except (RedisError, OSError) as exc:
        log.warning("could not queue submission; the reconciler will", kenmerk=kenmerk, error=str(exc))
        return False
