"""What operators look at, read from the database (the source of truth) and Redis."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import case, func, select

from gateway.queue.heartbeat import live_workers
from gateway.store.db import Store
from gateway.store.tables import notifications, statuses, submissions
from gateway.wus.envelope import utc_now

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class Snapshot:
    taken_at: datetime
    received: list[tuple[str, str, int]] = field(default_factory=list)
    rejections: list[tuple[str, int]] = field(default_factory=list)
    queue_depth: int | None = None
    oldest_unfinished_seconds: float = 0.0
    unfinished: int = 0
    duration_buckets: list[tuple[float, int]] = field(default_factory=list)
    duration_count: int = 0
    duration_sum: float = 0.0
    mail_failures: int = 0
    mail_backlog: int = 0
    mails_sent: int = 0
    workers: list[dict[str, Any]] = field(default_factory=list)
    per_minute: dict[str, dict[str, int]] = field(default_factory=dict)
    finished_last_hour: int = 0
    received_last_hour: int = 0
    stuck: list[dict[str, Any]] = field(default_factory=list)
    recent_failures: list[dict[str, Any]] = field(default_factory=list)


async def snapshot(store: Store, pool: ArqRedis | None, queue_name: str) -> Snapshot:
    now = utc_now()
    hour_ago = now - timedelta(hours=1)
    snap = Snapshot(taken_at=now)
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(submissions.c.berichtsoort, func.coalesce(submissions.c.outcome, "pending"), func.count()).group_by(
                submissions.c.berichtsoort, func.coalesce(submissions.c.outcome, "pending")
            )
        )
        snap.received = [(r[0], r[1], int(r[2])) for r in rows]
        rows = await conn.execute(
            select(statuses.c.foutcode, func.count())
            .where(statuses.c.code.in_(["311", "321"]))
            .group_by(statuses.c.foutcode)
        )
        snap.rejections = [(r[0] or "-", int(r[1])) for r in rows]
        oldest = await conn.scalar(select(func.min(submissions.c.received_at)).where(submissions.c.state != "done"))
        if oldest is not None:
            snap.oldest_unfinished_seconds = max(0.0, (now - oldest.replace(tzinfo=now.tzinfo)).total_seconds())
        snap.unfinished = int(
            await conn.scalar(select(func.count()).select_from(submissions).where(submissions.c.state != "done")) or 0
        )
        durations = select(submissions.c.check_seconds).where(submissions.c.check_seconds.is_not(None)).subquery()
        agg = (
            await conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(durations.c.check_seconds), 0.0),
                    *[func.sum(case((durations.c.check_seconds <= b, 1), else_=0)) for b in DURATION_BUCKETS],
                )
            )
        ).one()
        snap.duration_count = int(agg[0])
        snap.duration_sum = float(agg[1])
        snap.duration_buckets = [(b, int(agg[2 + i] or 0)) for i, b in enumerate(DURATION_BUCKETS)]
        mail = (
            await conn.execute(
                select(
                    func.coalesce(func.sum(notifications.c.attempts), 0),
                    func.sum(case((notifications.c.state == "sent", 1), else_=0)),
                    func.sum(case((notifications.c.state == "pending", 1), else_=0)),
                )
            )
        ).one()
        snap.mails_sent = int(mail[1] or 0)
        snap.mail_failures = int(mail[0] or 0) - snap.mails_sent
        snap.mail_backlog = int(mail[2] or 0)

        recent = await conn.execute(
            select(
                submissions.c.received_at, submissions.c.updated_at, submissions.c.outcome, submissions.c.state
            ).where((submissions.c.received_at >= hour_ago) | (submissions.c.updated_at >= hour_ago))
        )
        for r in recent:
            if r.received_at >= hour_ago:
                snap.received_last_hour += 1
                minute = r.received_at.strftime("%H:%M")
                snap.per_minute.setdefault(minute, {}).setdefault("received", 0)
                snap.per_minute[minute]["received"] += 1
            if r.state == "done" and r.updated_at >= hour_ago:
                snap.finished_last_hour += 1
                minute = r.updated_at.strftime("%H:%M")
                bucket = snap.per_minute.setdefault(minute, {})
                bucket[r.outcome] = bucket.get(r.outcome, 0) + 1
        stuck = await conn.execute(
            select(submissions.c.kenmerk, submissions.c.received_at, submissions.c.run)
            .where(submissions.c.state != "done")
            .order_by(submissions.c.received_at)
            .limit(10)
        )
        snap.stuck = [
            {
                "kenmerk": r.kenmerk,
                "received_at": r.received_at,
                "age": (now - r.received_at).total_seconds(),
                "run": r.run,
            }
            for r in stuck
        ]
        failures = await conn.execute(
            select(
                submissions.c.kenmerk,
                submissions.c.final_status,
                submissions.c.updated_at,
                submissions.c.kvk_number,
                submissions.c.belanghebbende_nummer,
                statuses.c.foutcode,
                statuses.c.foutbeschrijving,
            )
            .join(
                statuses,
                (statuses.c.kenmerk == submissions.c.kenmerk)
                & (statuses.c.run == submissions.c.run)
                & (statuses.c.code == submissions.c.final_status),
            )
            .where(submissions.c.final_status.in_(["311", "321"]))
            .order_by(submissions.c.updated_at.desc())
            .limit(20)
        )
        snap.recent_failures = [dict(r._mapping) for r in failures]
    if pool is not None:
        try:
            snap.queue_depth = int(await pool.zcard(queue_name))
            snap.workers = await live_workers(pool, queue_name)
        except (RedisError, OSError):
            snap.queue_depth = None
    return snap
