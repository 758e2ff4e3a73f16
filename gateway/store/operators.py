"""The operators' read model: every query the dashboard, /metrics and the operator API make,
returning frozen dataclasses.

Read-only by design: nothing here writes. The overview is read in one transaction (REPEATABLE
READ on PostgreSQL; one snapshot on SQLite's WAL) so that the figures on one page agree.
Queries avoid dialect-specific SQL: in particular grouping keys are plain columns (PostgreSQL
refuses ``GROUP BY coalesce(col, $1)`` against ``SELECT coalesce(col, $2)``, because the two
bound parameters make two different expressions).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.store.tables import documents, findings, notifications, raw_messages, replays, statuses, submissions

#: Upper bounds of the check-duration histogram, in seconds.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Final Digipoort statuses that end a run unsuccessfully.
FAILED_STATUSES = ("311", "321")
#: Statuses that end a run.
FINAL_CODES = ("500", "311", "321", "210")
#: Minutes shown in the per-minute series.
WINDOW_MINUTES = 60
OUTCOMES = ("accepted", "rejected", "error", "pending")


@dataclass(frozen=True)
class OutcomeCount:
    berichtsoort: str
    outcome: str  # accepted | rejected | error | pending (no final status yet)
    count: int


@dataclass(frozen=True)
class CodeCount:
    code: str
    count: int


@dataclass(frozen=True)
class DurationHistogram:
    #: (upper bound, cumulative count) per bucket, as Prometheus wants it.
    buckets: tuple[tuple[float, int], ...]
    count: int
    total_seconds: float


@dataclass(frozen=True)
class MailStats:
    sent: int
    failed_attempts: int
    backlog: int
    oldest_pending_seconds: float


@dataclass(frozen=True)
class MinuteCounts:
    """Submissions received in one minute, by their outcome now."""

    minute: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class OpenSubmission:
    kenmerk: str
    received_at: datetime
    #: When its current run was queued (intake or replay).
    waiting_since: datetime
    run: int


@dataclass(frozen=True)
class Failure:
    kenmerk: str
    final_status: str
    foutcode: str | None
    foutbeschrijving: str | None
    kvk_number: str | None
    finished_at: datetime


@dataclass(frozen=True)
class Overview:
    taken_at: datetime
    by_outcome: tuple[OutcomeCount, ...]
    #: Final statuses of all runs (append-only, so a counter).
    final_statuses: tuple[CodeCount, ...]
    #: Runs ending in 311/321, by foutcode (the first error).
    rejections: tuple[CodeCount, ...]
    unfinished: int
    #: Age of the oldest wait among unfinished submissions (since intake or replay).
    oldest_unfinished_seconds: float
    durations: DurationHistogram
    mail: MailStats
    #: The last WINDOW_MINUTES minutes, oldest first, the current minute last.
    minutes: tuple[MinuteCounts, ...]
    oldest_open: tuple[OpenSubmission, ...]
    recent_failures: tuple[Failure, ...]

    @property
    def received_total(self) -> int:
        return sum(c.count for c in self.by_outcome)

    def outcome_total(self, outcome: str) -> int:
        return sum(c.count for c in self.by_outcome if c.outcome == outcome)

    @property
    def received_in_window(self) -> int:
        return sum(m.total for m in self.minutes)


@dataclass(frozen=True)
class SubmissionQuery:
    """Search: ``text`` matches kenmerk, KVK number, aanleverkenmerk or sender (OIN or
    certificate subject); ``status`` is a final status code or "open"; ``foutcode`` the
    current run's statusFoutcode."""

    text: str = ""
    status: str | None = None
    foutcode: str | None = None
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class SubmissionSummary:
    kenmerk: str
    received_at: datetime
    berichtsoort: str
    aanleverkenmerk: str | None
    kvk_number: str
    sender: str
    state: str
    run: int
    outcome: str | None
    final_status: str | None
    foutcode: str | None


@dataclass(frozen=True)
class SearchResult:
    query: SubmissionQuery
    items: tuple[SubmissionSummary, ...]
    total: int


@dataclass(frozen=True)
class StatusEvent:
    run: int
    code: str
    description: str
    created_at: datetime
    foutcode: str | None
    foutbeschrijving: str | None
    details: str | None
    fetched_at: datetime | None


@dataclass(frozen=True)
class FindingItem:
    run: int
    code: str
    severity: str
    message_nl: str
    message_en: str
    location: str | None


@dataclass(frozen=True)
class MailItem:
    run: int
    outcome: str
    recipient: str | None
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class RunItem:
    run: int
    trigger: str  # "intake" or "replay"
    actor: str  # the sender for intake, the operator for a replay
    reason: str | None
    started_at: datetime
    final_status: str | None
    finished_at: datetime | None


@dataclass(frozen=True)
class DocumentItem:
    position: int
    bestandsnaam: str
    mime_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class SubmissionDetail:
    summary: SubmissionSummary
    eerder_aanleverkenmerk: str | None
    belanghebbende: str
    sender_subject: str
    sender_oin: str | None
    notify_address: str | None
    financial_year: int | None
    raw_sha256: str
    raw_size: int
    updated_at: datetime
    statuses: tuple[StatusEvent, ...]
    findings: tuple[FindingItem, ...]
    mails: tuple[MailItem, ...]
    runs: tuple[RunItem, ...]
    documents: tuple[DocumentItem, ...]


def _age(now: datetime, then: datetime | None) -> float:
    return 0.0 if then is None else max(0.0, (now - then).total_seconds())


def _minute(dt: datetime) -> datetime:
    return dt.replace(second=0, microsecond=0)


# The foutcode of a finished submission's current run: the one on its final status (311/321
# carry it). A correlated subquery for the rows shown; filters and counts join instead.
_current_foutcode = (
    select(statuses.c.foutcode)
    .where(
        statuses.c.kenmerk == submissions.c.kenmerk,
        statuses.c.run == submissions.c.run,
        statuses.c.code == submissions.c.final_status,
    )
    .order_by(statuses.c.id.desc())
    .limit(1)
    .scalar_subquery()
)
_final_status_row = (
    (statuses.c.kenmerk == submissions.c.kenmerk)
    & (statuses.c.run == submissions.c.run)
    & (statuses.c.code == submissions.c.final_status)
)


def _summary(row: Any) -> SubmissionSummary:
    return SubmissionSummary(
        kenmerk=row.kenmerk,
        received_at=row.received_at,
        berichtsoort=row.berichtsoort,
        aanleverkenmerk=row.aanleverkenmerk,
        kvk_number=row.kvk_number or row.belanghebbende_nummer,
        sender=row.sender_oin or row.sender_subject,
        state=row.state,
        run=int(row.run),
        outcome=row.outcome,
        final_status=row.final_status,
        foutcode=row.foutcode,
    )


def _filtered(q: Select[Any], query: SubmissionQuery) -> Select[Any]:
    text = query.text.strip()
    if text:
        needle = text.lower()
        q = q.where(
            or_(
                *(
                    func.lower(col).contains(needle, autoescape=True)
                    for col in (
                        submissions.c.kenmerk,
                        submissions.c.aanleverkenmerk,
                        submissions.c.sender_subject,
                        submissions.c.sender_oin,
                    )
                ),
                submissions.c.kvk_number == text,
                submissions.c.belanghebbende_nummer == text,
            )
        )
    if query.status == "open":
        q = q.where(submissions.c.state != "done")
    elif query.status:
        q = q.where(submissions.c.final_status == query.status, submissions.c.state == "done")
    if query.foutcode:
        # Not correlated, so that the plan does not hinge on fresh planner statistics: a
        # correlated EXISTS took PostgreSQL 11 s on 20,000 unanalysed submissions.
        final_with_code = select(statuses.c.kenmerk, statuses.c.run, statuses.c.code).where(
            statuses.c.foutcode == query.foutcode, statuses.c.code.in_(FAILED_STATUSES)
        )
        q = q.where(
            submissions.c.state == "done",
            tuple_(submissions.c.kenmerk, submissions.c.run, submissions.c.final_status).in_(final_with_code),
        )
    return q


class OperatorsReadModel:
    """Reads for operators over the gateway's engine (``Store.engine``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @contextlib.asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                yield conn

    # ------------------------------------------------------------------ overview

    async def overview(self, now: datetime) -> Overview:
        async with self._snapshot() as conn:
            unfinished, oldest = await self._unfinished(conn, now)
            final_statuses, rejections = await self._run_endings(conn)
            by_outcome, durations = await self._submission_totals(conn)
            return Overview(
                taken_at=now,
                by_outcome=by_outcome,
                final_statuses=final_statuses,
                rejections=rejections,
                unfinished=unfinished,
                oldest_unfinished_seconds=oldest,
                durations=durations,
                mail=await self._mail(conn, now),
                minutes=await self._minutes(conn, now),
                oldest_open=await self._oldest_open(conn),
                recent_failures=await self._recent_failures(conn),
            )

    async def _submission_totals(self, conn: AsyncConnection) -> tuple[tuple[OutcomeCount, ...], DurationHistogram]:
        """Submissions by outcome and the check-duration histogram, from one scan."""
        seconds = submissions.c.check_seconds
        keys = (submissions.c.berichtsoort, submissions.c.outcome, submissions.c.state)
        rows = await conn.execute(
            select(
                *keys,
                func.count(),
                func.count(seconds),
                func.coalesce(func.sum(seconds), 0.0),
                *[func.sum(case((seconds <= b, 1), else_=0)) for b in DURATION_BUCKETS],
            ).group_by(*keys)
        )
        merged: dict[tuple[str, str], int] = {}
        timed, total, buckets = 0, 0.0, [0] * len(DURATION_BUCKETS)
        for berichtsoort, outcome, state, count, n_timed, seconds_sum, *in_bucket in rows:
            # A replayed submission keeps its old outcome until the new run ends: pending.
            key = (berichtsoort, outcome if state == "done" and outcome else "pending")
            merged[key] = merged.get(key, 0) + int(count)
            timed, total = timed + int(n_timed), total + float(seconds_sum)
            buckets = [acc + int(n or 0) for acc, n in zip(buckets, in_bucket, strict=True)]
        outcomes = tuple(OutcomeCount(b, o, n) for (b, o), n in sorted(merged.items()))
        return outcomes, DurationHistogram(tuple(zip(DURATION_BUCKETS, buckets, strict=True)), timed, total)

    async def _run_endings(self, conn: AsyncConnection) -> tuple[tuple[CodeCount, ...], tuple[CodeCount, ...]]:
        """(runs by final status, failed runs by foutcode), from one scan of the statuses."""
        rows = await conn.execute(
            select(statuses.c.code, statuses.c.foutcode, func.count())
            .where(statuses.c.code.in_(FINAL_CODES))
            .group_by(statuses.c.code, statuses.c.foutcode)
        )
        by_status: dict[str, int] = {}
        by_foutcode: dict[str, int] = {}
        for code, foutcode, n in rows:
            by_status[code] = by_status.get(code, 0) + int(n)
            if code in FAILED_STATUSES:
                by_foutcode[foutcode or "-"] = by_foutcode.get(foutcode or "-", 0) + int(n)
        return (
            tuple(CodeCount(c, n) for c, n in sorted(by_status.items())),
            tuple(CodeCount(c, n) for c, n in sorted(by_foutcode.items())),
        )

    async def _unfinished(self, conn: AsyncConnection, now: datetime) -> tuple[int, float]:
        # updated_at is when the current run was queued: a replay of an old submission is
        # not "old" the moment it is replayed.
        row = (
            await conn.execute(
                select(func.count(), func.min(submissions.c.updated_at)).where(submissions.c.state != "done")
            )
        ).one()
        return int(row[0]), _age(now, row[1])  # min() keeps the column's type: aware UTC

    async def _mail(self, conn: AsyncConnection, now: datetime) -> MailStats:
        agg = (
            await conn.execute(
                select(
                    func.coalesce(func.sum(notifications.c.attempts), 0),
                    func.coalesce(func.sum(case((notifications.c.state == "sent", 1), else_=0)), 0),
                    func.coalesce(func.sum(case((notifications.c.state == "pending", 1), else_=0)), 0),
                )
            )
        ).one()
        oldest = await conn.scalar(
            select(notifications.c.created_at)
            .where(notifications.c.state == "pending")
            .order_by(notifications.c.created_at)
            .limit(1)
        )
        sent = int(agg[1])
        return MailStats(
            sent=sent,
            failed_attempts=max(0, int(agg[0]) - sent),
            backlog=int(agg[2]),
            oldest_pending_seconds=_age(now, oldest),
        )

    async def _minutes(self, conn: AsyncConnection, now: datetime) -> tuple[MinuteCounts, ...]:
        start = _minute(now) - timedelta(minutes=WINDOW_MINUTES - 1)
        rows = await conn.execute(
            select(submissions.c.received_at, submissions.c.outcome, submissions.c.state).where(
                submissions.c.received_at >= start
            )
        )
        buckets: dict[datetime, dict[str, int]] = {start + timedelta(minutes=i): {} for i in range(WINDOW_MINUTES)}
        for received_at, outcome, state in rows:
            bucket = buckets.get(_minute(received_at))
            if bucket is None:  # a clock step: received "in the future"
                continue
            key = outcome if state == "done" and outcome else "pending"
            bucket[key] = bucket.get(key, 0) + 1
        return tuple(MinuteCounts(m, c) for m, c in buckets.items())

    async def _oldest_open(self, conn: AsyncConnection, limit: int = 10) -> tuple[OpenSubmission, ...]:
        rows = await conn.execute(
            select(submissions.c.kenmerk, submissions.c.received_at, submissions.c.updated_at, submissions.c.run)
            .where(submissions.c.state != "done")
            .order_by(submissions.c.updated_at, submissions.c.kenmerk)
            .limit(limit)
        )
        return tuple(OpenSubmission(r.kenmerk, r.received_at, r.updated_at, int(r.run)) for r in rows)

    async def _recent_failures(self, conn: AsyncConnection, limit: int = 20) -> tuple[Failure, ...]:
        rows = await conn.execute(
            select(
                submissions.c.kenmerk,
                submissions.c.final_status,
                submissions.c.updated_at,
                func.coalesce(submissions.c.kvk_number, submissions.c.belanghebbende_nummer).label("kvk"),
                statuses.c.foutcode,
                statuses.c.foutbeschrijving,
            )
            .join(statuses, _final_status_row)
            .where(submissions.c.state == "done", submissions.c.final_status.in_(FAILED_STATUSES))
            .order_by(submissions.c.updated_at.desc(), submissions.c.kenmerk)
            .limit(limit)
        )
        return tuple(
            Failure(r.kenmerk, r.final_status, r.foutcode, r.foutbeschrijving, r.kvk, r.updated_at) for r in rows
        )

    # ------------------------------------------------------------------ search

    async def search(self, query: SubmissionQuery) -> SearchResult:
        base = select(submissions, _current_foutcode.label("foutcode"))
        async with self._snapshot() as conn:
            total = await conn.scalar(_filtered(select(func.count()).select_from(submissions), query))
            rows = await conn.execute(
                _filtered(base, query)
                .order_by(submissions.c.received_at.desc(), submissions.c.kenmerk)
                .offset(max(0, query.offset))
                .limit(max(1, query.limit))
            )
            return SearchResult(query, tuple(_summary(r) for r in rows), int(total or 0))

    async def foutcodes(self) -> tuple[CodeCount, ...]:
        """The foutcodes current runs ended with, and how many: the choices of the filter."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(statuses.c.foutcode, func.count(func.distinct(submissions.c.kenmerk)))
                .select_from(submissions.join(statuses, _final_status_row))
                .where(submissions.c.state == "done", statuses.c.foutcode.is_not(None))
                .group_by(statuses.c.foutcode)
                .order_by(statuses.c.foutcode)
            )
            return tuple(CodeCount(c, int(n)) for c, n in rows)

    # ------------------------------------------------------------------ one submission

    async def submission(self, kenmerk: str) -> SubmissionDetail | None:
        async with self._snapshot() as conn:
            row = (
                await conn.execute(
                    select(submissions, _current_foutcode.label("foutcode")).where(submissions.c.kenmerk == kenmerk)
                )
            ).first()
            if row is None:
                return None
            events = await self._statuses(conn, kenmerk)
            return SubmissionDetail(
                summary=_summary(row),
                eerder_aanleverkenmerk=row.eerder_aanleverkenmerk,
                belanghebbende=f"{row.belanghebbende_type}:{row.belanghebbende_nummer}",
                sender_subject=row.sender_subject,
                sender_oin=row.sender_oin,
                notify_address=row.notify_address,
                financial_year=row.financial_year,
                raw_sha256=row.raw_sha256,
                raw_size=int(row.raw_size),
                updated_at=row.updated_at,
                statuses=events,
                findings=await self._findings(conn, kenmerk),
                mails=await self._mails(conn, kenmerk),
                runs=await self._runs(conn, row, events),
                documents=await self._documents(conn, kenmerk),
            )

    async def _statuses(self, conn: AsyncConnection, kenmerk: str) -> tuple[StatusEvent, ...]:
        rows = await conn.execute(select(statuses).where(statuses.c.kenmerk == kenmerk).order_by(statuses.c.id))
        return tuple(
            StatusEvent(
                int(r.run), r.code, r.description, r.created_at, r.foutcode, r.foutbeschrijving, r.details, r.fetched_at
            )
            for r in rows
        )

    async def _findings(self, conn: AsyncConnection, kenmerk: str) -> tuple[FindingItem, ...]:
        rows = await conn.execute(select(findings).where(findings.c.kenmerk == kenmerk).order_by(findings.c.id))
        return tuple(FindingItem(int(r.run), r.code, r.severity, r.message_nl, r.message_en, r.location) for r in rows)

    async def _mails(self, conn: AsyncConnection, kenmerk: str) -> tuple[MailItem, ...]:
        rows = await conn.execute(
            select(notifications).where(notifications.c.kenmerk == kenmerk).order_by(notifications.c.id)
        )
        return tuple(
            MailItem(
                int(r.run), r.outcome, r.recipient, r.state, int(r.attempts), r.last_error, r.created_at, r.sent_at
            )
            for r in rows
        )

    async def _runs(self, conn: AsyncConnection, sub: Any, events: Sequence[StatusEvent]) -> tuple[RunItem, ...]:
        rows = await conn.execute(select(replays).where(replays.c.kenmerk == sub.kenmerk).order_by(replays.c.run))
        runs = {1: RunItem(1, "intake", sub.sender_oin or sub.sender_subject, None, sub.received_at, None, None)}
        for r in rows:
            runs[int(r.run)] = RunItem(int(r.run), "replay", r.actor, r.reason, r.created_at, None, None)
        finals = {e.run: e for e in events if e.code in FINAL_CODES}
        return tuple(
            RunItem(
                item.run,
                item.trigger,
                item.actor,
                item.reason,
                item.started_at,
                finals[n].code if n in finals else None,
                finals[n].created_at if n in finals else None,
            )
            for n, item in sorted(runs.items())
        )

    async def _documents(self, conn: AsyncConnection, kenmerk: str) -> tuple[DocumentItem, ...]:
        rows = await conn.execute(
            select(
                documents.c.position,
                documents.c.bestandsnaam,
                documents.c.mime_type,
                documents.c.size,
                documents.c.sha256,
            )
            .where(documents.c.kenmerk == kenmerk)
            .order_by(documents.c.position)
        )
        return tuple(DocumentItem(int(r.position), r.bestandsnaam, r.mime_type, int(r.size), r.sha256) for r in rows)

    async def raw_message(self, kenmerk: str) -> bytes | None:
        """The message exactly as received (the SOAP envelope), for download."""
        async with self.engine.connect() as conn:
            content = await conn.scalar(select(raw_messages.c.content).where(raw_messages.c.kenmerk == kenmerk))
            return None if content is None else bytes(content)
