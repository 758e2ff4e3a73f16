"""The outbox of outcome mails: the notifications table, as the worker's postman reads and
settles it (gateway/queue/postman.py).

A notification row is written in the transaction that finishes its run (gateway/store/
runs.py), so a mail is queued exactly when its outcome is committed. A postman leases due
rows (``lease_owner``, ``lease_until``), so one mail is in one postman's hands at a time, and
records each attempt: sent, or failed with the time of its next attempt (backoff).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, bindparam, or_, select, update

from gateway.domain import Finding, utc_now
from gateway.store.db import Store
from gateway.store.tables import findings, notifications, statuses, submissions

RunKey = tuple[str, int]


@dataclass(frozen=True)
class Letter:
    """One leased notification with everything its mail says."""

    kenmerk: str
    run: int
    outcome: str
    recipient: str
    aanleverkenmerk: str | None
    kvk_number: str | None
    #: The last status of this run (a later replay does not change what this mail says).
    final_status: str
    findings: tuple[Finding, ...]
    #: Attempts before this one.
    attempts: int


@dataclass(frozen=True)
class Attempt:
    """What became of one letter: sent, or the error and when to try again."""

    kenmerk: str
    run: int
    error: str | None = None
    retry_in: float = 0.0


class Outbox:
    def __init__(self, store: Store, owner: str) -> None:
        self.store = store
        #: Who holds a lease (host, process, postman): a lease is only ever taken, never
        #: checked against its owner, but operators can see who held a mail.
        self.owner = owner[:80]

    async def take(self, limit: int, lease: float, *, only: RunKey | None = None) -> list[Letter]:
        """Lease up to ``limit`` due pending mails (oldest first) for ``lease`` seconds, with
        what they say, in one transaction. ``only``: that one mail, due or not (an explicit
        job decides its own time), unless another postman holds it."""
        now = utc_now()
        free = or_(notifications.c.lease_until.is_(None), notifications.c.lease_until <= now)
        q = select(
            notifications.c.id,
            notifications.c.kenmerk,
            notifications.c.run,
            notifications.c.outcome,
            notifications.c.recipient,
            notifications.c.attempts,
        ).where(notifications.c.state == "pending", free)
        if only is not None:
            q = q.where(notifications.c.kenmerk == only[0], notifications.c.run == only[1])
        else:
            due = or_(notifications.c.next_attempt_at.is_(None), notifications.c.next_attempt_at <= now)
            q = q.where(due)
        async with self.store._write() as conn:
            if conn.dialect.name == "postgresql":
                # Another postman's batch is skipped, not waited for. (SQLite: BEGIN
                # IMMEDIATE lets one writer in at a time.)
                q = q.with_for_update(skip_locked=True)
            rows = list(await conn.execute(q.order_by(notifications.c.id).limit(limit)))
            if not rows:
                return []
            await conn.execute(
                update(notifications)
                .where(notifications.c.id.in_([r.id for r in rows]))
                .values(lease_owner=self.owner, lease_until=now + timedelta(seconds=lease))
            )
            keys = sorted({r.kenmerk for r in rows})
            subs = {
                s.kenmerk: s
                for s in await conn.execute(
                    select(
                        submissions.c.kenmerk,
                        submissions.c.aanleverkenmerk,
                        submissions.c.kvk_number,
                        submissions.c.belanghebbende_nummer,
                        submissions.c.final_status,
                    ).where(submissions.c.kenmerk.in_(keys))
                )
            }
            wanted = {(r.kenmerk, r.run) for r in rows}
            found: dict[RunKey, list[Finding]] = {}
            for f in await conn.execute(
                select(findings).where(findings.c.kenmerk.in_(keys)).order_by(findings.c.id)
            ):
                if (f.kenmerk, f.run) in wanted:
                    found.setdefault((f.kenmerk, f.run), []).append(
                        Finding(f.code, f.severity, f.message_nl, f.message_en, f.location)
                    )
            last: dict[RunKey, str] = {}
            for s in await conn.execute(
                select(statuses.c.kenmerk, statuses.c.run, statuses.c.code)
                .where(statuses.c.kenmerk.in_(keys))
                .order_by(statuses.c.id)
            ):
                last[(s.kenmerk, s.run)] = s.code
        return [
            Letter(
                kenmerk=r.kenmerk,
                run=int(r.run),
                outcome=r.outcome,
                recipient=r.recipient,
                aanleverkenmerk=subs[r.kenmerk].aanleverkenmerk,
                kvk_number=subs[r.kenmerk].kvk_number or subs[r.kenmerk].belanghebbende_nummer,
                final_status=last.get((r.kenmerk, r.run), subs[r.kenmerk].final_status or ""),
                findings=tuple(found.get((r.kenmerk, r.run), ())),
                attempts=int(r.attempts),
            )
            for r in rows
        ]

    async def settle(self, attempts: Sequence[Attempt]) -> list[None]:
        """Record attempts in one transaction: a sent mail is done; a failed one counts the
        attempt, keeps its error and waits ``retry_in`` seconds, its lease released."""
        now = utc_now()
        sent = [a for a in attempts if a.error is None]
        failed = [a for a in attempts if a.error is not None]
        match = and_(
            notifications.c.kenmerk == bindparam("b_kenmerk"),
            notifications.c.run == bindparam("b_run"),
            notifications.c.state == "pending",
        )
        async with self.store._write() as conn:
            if sent:
                await conn.execute(
                    update(notifications)
                    .where(match)
                    .values(
                        state="sent",
                        sent_at=now,
                        attempts=notifications.c.attempts + 1,
                        last_error=None,
                        lease_owner=None,
                        lease_until=None,
                    ),
                    [{"b_kenmerk": a.kenmerk, "b_run": a.run} for a in sent],
                )
            if failed:
                await conn.execute(
                    update(notifications)
                    .where(match)
                    .values(
                        attempts=notifications.c.attempts + 1,
                        last_error=bindparam("b_error"),
                        next_attempt_at=bindparam("b_next"),
                        lease_owner=None,
                        lease_until=None,
                    ),
                    [
                        {
                            "b_kenmerk": a.kenmerk,
                            "b_run": a.run,
                            "b_error": (a.error or "")[:2000],
                            "b_next": now + timedelta(seconds=a.retry_in),
                        }
                        for a in failed
                    ],
                )
        return [None] * len(attempts)

    async def release(self, keys: Sequence[RunKey]) -> None:
        """Give leased mails back unsent (a postman stopping, or a lease running short)."""
        if not keys:
            return
        async with self.store._write() as conn:
            await conn.execute(
                update(notifications)
                .where(
                    notifications.c.kenmerk == bindparam("b_kenmerk"),
                    notifications.c.run == bindparam("b_run"),
                    notifications.c.lease_owner == self.owner,
                )
                .values(lease_owner=None, lease_until=None),
                [{"b_kenmerk": k, "b_run": r} for k, r in keys],
            )
