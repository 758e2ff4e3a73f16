"""Re-running the checks on stored submissions, after a rules or register fix.

A replay never rewrites history: it starts a new run whose statuses are appended, is
recorded with who asked and why, and mails the filer only if the outcome changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from arq.connections import ArqRedis

from gateway.queue.jobs import enqueue_processing
from gateway.store.db import Store


def parse_when(value: str | None) -> datetime | None:
    """An ISO date or date-time; UTC when it carries no zone."""
    if value is None:
        return None
    dt = datetime.fromisoformat(value)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Selection:
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    foutcode: str | None = None
    kvk_number: str | None = None


async def select(store: Store, sel: Selection) -> list[str]:
    rows = await store.list_submissions(
        status=sel.status,
        since=sel.since,
        until=sel.until,
        foutcode=sel.foutcode,
        kvk_number=sel.kvk_number,
        limit=None,
    )
    return [r.kenmerk for r in rows if r.state == "done"]


async def replay_one(
    store: Store, pool: ArqRedis, queue_name: str, kenmerk: str, actor: str, reason: str
) -> int | None:
    """Start a new run for one finished submission; returns the run, or None if it is
    unknown or still being processed."""
    run = await store.start_replay(kenmerk, actor, reason)
    if run is not None:
        # If Redis is down the reconciler queues the new run later; the database has it.
        await enqueue_processing(pool, kenmerk, run, queue_name)
    return run
