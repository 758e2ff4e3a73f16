"""The worker's two transactions over a run: claiming it (status 110, and everything its checks
read), and finishing it (statuses, findings, the filing claim and the notification row).

Both take many runs at once. A worker has several jobs in flight; those that reach the same
step while a transaction is under way share the next one (gateway/queue/batching.py), so the
fixed cost of a transaction (the pool's connection check, BEGIN, COMMIT and its fsync, and
SQLAlchemy's work per statement) is paid once per batch instead of once per job, and each
step is a handful of statements whatever the batch's size. What one run does is exactly what
it would do alone: a run's outcome never depends on the others in its batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, insert, null, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain import PICKED_UP, FilingClaim, Finding, StatusEntry, mail_state, status_description, utc_now
from gateway.store.db import DuplicateAdoptedFiling, StaleClaim, Store
from gateway.store.errors import is_conflict
from gateway.store.tables import companies, documents, filings, findings, notifications, statuses, submissions
from gateway.store.tables import zdj_submissions as web_filings

#: How often a transaction that lost a deadlock or a serialization conflict is run again.
CONFLICT_RETRIES = 5

RunKey = tuple[str, int]


@dataclass(frozen=True)
class ClaimedRun:
    """A run that is open, with status 110 recorded, and what its checks read."""

    kenmerk: str
    run: int
    berichtsoort: str
    belanghebbende_nummer: str
    belanghebbende_type: str
    received_at: datetime
    aanleverkenmerk: str | None
    notify_address: str | None
    #: Filed through Zelf Deponeren (its own rules run with the checks).
    web_filing: bool
    #: position, mime_type, bestandsnaam, size, content (the berichtInhoud's only, at
    #: position 0; None for the bijlagen); by position.
    documents: tuple[Row[Any], ...]
    #: The active filings of the company named as belanghebbende, of every year (id,
    #: financial_year, kenmerk, adopted): what the checks compare with, read in the same
    #: transaction. The finishing transaction re-reads them under a lock (StaleClaim).
    on_file: tuple[Row[Any], ...]
    #: The local register's row for that company (asked for only with the local register).
    company: Row[Any] | None


@dataclass(frozen=True)
class FinishedRun:
    kenmerk: str
    run: int
    outcome: str
    entries: tuple[StatusEntry, ...]
    found: tuple[Finding, ...]
    claim: FilingClaim | None
    kvk_number: str | None
    financial_year: int | None
    check_seconds: float | None = None
    #: (postman, seconds): a notification to mail is leased to that postman at once, which
    #: then sends it without taking it from the outbox first.
    mail_lease: tuple[str, float] | None = None


#: Per finished run: True when a notification waits to be mailed; False when the run was
#: already finished or superseded, or nothing is mailed; else the exception for that run
#: alone (StaleClaim, DuplicateAdoptedFiling).
Finished = bool | Exception


class Runs:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ claiming

    async def claim(self, wanted: Sequence[RunKey], *, with_company: bool = False) -> list[ClaimedRun | None]:
        """Record 110 (once) for each open run and load what its checks need, in one
        transaction. None for a run that is stale, already finished or has no documents."""
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                async with self.store._write() as conn:
                    return await _claim(conn, wanted, with_company)
            except Exception as exc:
                if attempt == CONFLICT_RETRIES or not is_conflict(exc):
                    raise
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ finishing

    async def finish(self, results: Sequence[FinishedRun]) -> list[Finished]:
        """Write the outcomes of runs in one transaction (see ``Finished``).

        A run's StaleClaim (the filings on file changed since its checks saw them: check
        again) writes nothing for it and leaves the others be. A unique-index violation
        (another adopted statement for the year won) aborts a PostgreSQL transaction, so
        then every run is written again on its own, and the one that lost gets
        DuplicateAdoptedFiling. A deadlock or serialization failure is retried at once.
        """
        try:
            return await self._finish_retrying(results)
        except IntegrityError as exc:
            if len(results) == 1:
                return [_lost_race(results[0], exc)]
        out: list[Finished] = []
        for r in results:
            try:
                out.extend(await self._finish_retrying([r]))
            except IntegrityError as exc:
                out.append(_lost_race(r, exc))
        return out

    async def _finish_retrying(self, results: Sequence[FinishedRun]) -> list[Finished]:
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                async with self.store._write() as conn:
                    return await _finish(conn, results, utc_now())
            except Exception as exc:
                if attempt == CONFLICT_RETRIES or not is_conflict(exc):
                    raise
        raise AssertionError("unreachable")


def _lost_race(r: FinishedRun, exc: IntegrityError) -> Exception:
    """The unique index on adopted filings decided against this run's claim; any other
    violation is that run's own error."""
    message = str(exc.orig).lower()
    if r.claim is not None and ("uq_filings" in message or "filings.kvk_number" in message):
        return DuplicateAdoptedFiling()
    return exc


# ----------------------------------------------------------------------- claim


async def _claim(conn: AsyncConnection, wanted: Sequence[RunKey], with_company: bool) -> list[ClaimedRun | None]:
    keys = sorted({k for k, _ in wanted})
    picked_up = (
        select(statuses.c.id)
        .where(statuses.c.kenmerk == submissions.c.kenmerk, statuses.c.run == submissions.c.run)
        .where(statuses.c.code == PICKED_UP.code)
        .exists()
    )
    web = select(web_filings.c.kenmerk).where(web_filings.c.kenmerk == submissions.c.kenmerk).exists()
    subs = {
        row.kenmerk: row
        for row in await conn.execute(
            select(
                submissions.c.kenmerk,
                submissions.c.run,
                submissions.c.state,
                submissions.c.berichtsoort,
                submissions.c.belanghebbende_nummer,
                submissions.c.belanghebbende_type,
                submissions.c.received_at,
                submissions.c.aanleverkenmerk,
                submissions.c.notify_address,
                picked_up.label("picked_up"),
                web.label("web_filing"),
            ).where(submissions.c.kenmerk.in_(keys))
        )
    }
    open_runs = {(k, r) for k, r in wanted if (s := subs.get(k)) is not None and s.run == r and s.state != "done"}
    if not open_runs:
        return [None] * len(wanted)
    todo = sorted(k for k, _ in open_runs if not subs[k].picked_up)
    await _add_statuses(conn, [(k, subs[k].run, [PICKED_UP]) for k in todo], utc_now())
    docs: dict[str, list[Any]] = {}
    for d in await conn.execute(
        select(
            documents.c.kenmerk,
            documents.c.position,
            documents.c.mime_type,
            documents.c.bestandsnaam,
            documents.c.size,
            # Only the berichtInhoud is checked: the bijlagen (PDFs of megabytes) stay put.
            case((documents.c.position == 0, documents.c.content), else_=null()).label("content"),
        )
        .where(documents.c.kenmerk.in_(sorted(k for k, _ in open_runs)))
        .order_by(documents.c.kenmerk, documents.c.position)
    ):
        docs.setdefault(d.kenmerk, []).append(d)
    numbers = sorted({subs[k].belanghebbende_nummer for k, _ in open_runs})
    on_file: dict[str, list[Any]] = {}
    for f in await conn.execute(
        select(filings.c.id, filings.c.kvk_number, filings.c.financial_year, filings.c.kenmerk, filings.c.adopted)
        .where(filings.c.kvk_number.in_(numbers), filings.c.active.is_(True))
        .order_by(filings.c.id)
    ):
        on_file.setdefault(f.kvk_number, []).append(f)
    company: dict[str, Any] = {}
    if with_company:
        rows = await conn.execute(select(companies).where(companies.c.kvk_number.in_(numbers)))
        company = {row.kvk_number: row for row in rows}

    def claimed(k: str, r: int) -> ClaimedRun | None:
        s = subs[k]
        if (k, r) not in open_runs or not docs.get(k):
            return None
        nummer = s.belanghebbende_nummer
        return ClaimedRun(
            kenmerk=k,
            run=r,
            berichtsoort=s.berichtsoort,
            belanghebbende_nummer=nummer,
            belanghebbende_type=s.belanghebbende_type,
            received_at=s.received_at,
            aanleverkenmerk=s.aanleverkenmerk,
            notify_address=s.notify_address,
            web_filing=bool(s.web_filing),
            documents=tuple(docs[k]),
            on_file=tuple(on_file.get(nummer, ())),
            company=company.get(nummer),
        )

    return [claimed(k, r) for k, r in wanted]


# ----------------------------------------------------------------------- finish


async def _finish(conn: AsyncConnection, results: Sequence[FinishedRun], now: datetime) -> list[Finished]:
    out: dict[RunKey, Finished] = {(r.kenmerk, r.run): False for r in results}
    # Lock the runs' rows first (in one order, whoever else finishes runs), then decide which
    # are still open: the state cannot change under us until we commit.
    rows = {
        row.kenmerk: row
        for row in await conn.execute(
            select(submissions.c.kenmerk, submissions.c.run, submissions.c.state, submissions.c.notify_address)
            .where(submissions.c.kenmerk.in_(sorted({r.kenmerk for r in results})))
            .order_by(submissions.c.kenmerk)
            .with_for_update()
        )
    }
    todo: list[FinishedRun] = []
    seen: set[RunKey] = set()
    for r in results:
        row = rows.get(r.kenmerk)
        if row is None or row.run != r.run or row.state == "done" or (r.kenmerk, r.run) in seen:
            continue
        seen.add((r.kenmerk, r.run))
        todo.append(r)
    # Filing claims one company and year at a time (locks in one order), and within one in
    # the batch's order: a later claim sees what an earlier one registered, and is stale if
    # that changed what its checks saw.
    claims = sorted(
        ((r.claim.kvk_number, r.claim.financial_year, i, r) for i, r in enumerate(todo) if r.claim is not None),
        key=lambda c: c[:3],
    )
    for *_, r in claims:
        assert r.claim is not None
        if not await _claim_still_valid(conn, r.claim):
            out[(r.kenmerk, r.run)] = StaleClaim()
            continue
        await _register_filing(conn, r.kenmerk, r.claim, now)
    todo = [r for r in todo if out[(r.kenmerk, r.run)] is False]
    if not todo:
        return [out[(r.kenmerk, r.run)] for r in results]
    await conn.execute(
        update(submissions)
        .where(submissions.c.kenmerk == bindparam("b_kenmerk"))
        .values(
            state="done",
            outcome=bindparam("b_outcome"),
            final_status=bindparam("b_final_status"),
            kvk_number=bindparam("b_kvk"),
            financial_year=bindparam("b_fy"),
            check_seconds=bindparam("b_seconds"),
            updated_at=now,
        ),
        [
            {
                "b_kenmerk": r.kenmerk,
                "b_outcome": str(r.outcome),
                "b_final_status": r.entries[-1].code,
                "b_kvk": r.kvk_number,
                "b_fy": r.financial_year,
                "b_seconds": r.check_seconds,
            }
            for r in todo
        ],
    )
    # One statement for every finding of the batch: a systematic mistake can mean tens of
    # thousands of findings, and one round trip each outlasts the job.
    rows_found = [_finding_row(r, f) for r in todo for f in r.found]
    if rows_found:
        await conn.execute(insert(findings), rows_found)
    await _add_statuses(conn, [(r.kenmerk, r.run, r.entries) for r in todo], now)
    for r, pending in zip(todo, await _queue_notifications(conn, todo, rows, now), strict=True):
        out[(r.kenmerk, r.run)] = pending
    return [out[(r.kenmerk, r.run)] for r in results]


async def _claim_still_valid(conn: AsyncConnection, claim: FilingClaim) -> bool:
    """Serialise the runs that register a filing for one company and year (so they take
    their row locks one after the other instead of deadlocking on each other's), then
    compare what is on file with what the checks saw."""
    if conn.dialect.name == "postgresql":
        key = f"filings:{claim.kvk_number}:{claim.financial_year}"
        await conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    # SQLite: BEGIN IMMEDIATE already lets one writer in at a time.
    on_file = await conn.scalars(
        select(filings.c.id)
        .where(
            filings.c.kvk_number == claim.kvk_number,
            filings.c.financial_year == claim.financial_year,
            filings.c.active.is_(True),
        )
        .order_by(filings.c.id)
    )
    return tuple(on_file) == tuple(sorted(claim.seen))


async def _register_filing(conn: AsyncConnection, kenmerk: str, claim: FilingClaim, now: datetime) -> None:
    if claim.supersedes:
        await conn.execute(update(filings).where(filings.c.id.in_(sorted(claim.supersedes))).values(active=False))
    await conn.execute(
        insert(filings).values(
            kvk_number=claim.kvk_number,
            financial_year=claim.financial_year,
            kenmerk=kenmerk,
            adopted=claim.adopted,
            active=True,
            accepted_at=now,
            figures=claim.figures,
        )
    )


def _finding_row(r: FinishedRun, f: Finding) -> dict[str, Any]:
    return {
        "kenmerk": r.kenmerk,
        "run": r.run,
        "code": f.code,
        "severity": f.severity,
        "message_nl": f.message_nl,
        "message_en": f.message_en,
        "location": f.location,
    }


async def _add_statuses(
    conn: AsyncConnection, batch: Iterable[tuple[str, int, Sequence[StatusEntry]]], at: datetime
) -> None:
    """Statuses for several processes in one statement. A process's statuses must sort in
    the order they happened even when they share a clock tick; a millisecond apart is what
    the wire format can show (as ``Store._add_statuses``)."""
    batch = list(batch)
    if not batch:
        return
    last: dict[str, datetime] = {
        kenmerk: at
        for kenmerk, at in await conn.execute(
            select(statuses.c.kenmerk, func.max(statuses.c.created_at))
            .where(statuses.c.kenmerk.in_(sorted({k for k, _, _ in batch})))
            .group_by(statuses.c.kenmerk)
        )
    }
    rows = []
    for kenmerk, run, entries in batch:
        start = at
        previous = last.get(kenmerk)
        if previous is not None and start <= previous:
            start = previous + timedelta(milliseconds=1)
        for i, e in enumerate(entries):
            rows.append(
                {
                    "kenmerk": kenmerk,
                    "run": run,
                    "code": e.code,
                    "description": status_description(e.code),
                    "created_at": start + timedelta(milliseconds=i),
                    "foutcode": e.foutcode,
                    "foutbeschrijving": e.foutbeschrijving,
                    "details": e.details,
                }
            )
        last[kenmerk] = start + timedelta(milliseconds=len(entries) - 1)
    await conn.execute(insert(statuses), rows)


async def _queue_notifications(
    conn: AsyncConnection, todo: Sequence[FinishedRun], subs: dict[str, Any], now: datetime
) -> list[bool]:
    """The notification row of each run (the mail's enqueue, committed with the outcome):
    pending, or skipped (a replay whose outcome did not change, or no address)."""
    replayed = sorted({r.kenmerk for r in todo if r.run > 1})
    earlier: dict[str, list[tuple[int, str]]] = {}
    if replayed:
        for n in await conn.execute(
            select(notifications.c.kenmerk, notifications.c.run, notifications.c.outcome).where(
                notifications.c.kenmerk.in_(replayed)
            )
        ):
            earlier.setdefault(n.kenmerk, []).append((int(n.run), str(n.outcome)))
    rows, pending = [], []
    for r in todo:
        before = [o for run, o in sorted(earlier.get(r.kenmerk, [])) if run < r.run]
        recipient = subs[r.kenmerk].notify_address
        state = mail_state(before[-1] if before else None, str(r.outcome), recipient)
        leased = r.mail_lease if state == "pending" else None
        rows.append(
            {
                "kenmerk": r.kenmerk,
                "run": r.run,
                "outcome": str(r.outcome),
                "recipient": recipient,
                "state": state,
                "created_at": now,
                "lease_owner": leased[0] if leased else None,
                "lease_until": now + timedelta(seconds=leased[1]) if leased else None,
            }
        )
        pending.append(state == "pending")
    await conn.execute(insert(notifications), rows)
    return pending
