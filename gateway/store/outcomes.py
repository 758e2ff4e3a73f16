"""Reads for the StatusinformatieService's getNieuweStatussen and for the OphaalService:
a sender's final outcomes (one per finished run, with every finding), and which of them, or
of their statuses, were handed out before. Only the sender's own processes are ever read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.db import Store
from gateway.store.tables import findings, outcome_fetches, statuses, submissions


@dataclass(frozen=True)
class OutcomeFinding:
    code: str
    severity: str
    message_nl: str
    message_en: str
    location: str | None


@dataclass(frozen=True)
class OutcomeRecord:
    """The final outcome of one run of one submission, with what was submitted."""

    kenmerk: str
    run: int
    berichtsoort: str
    aanleverkenmerk: str | None
    eerder_aanleverkenmerk: str | None
    received_at: datetime
    belanghebbende_nummer: str
    belanghebbende_type: str
    rol_belanghebbende: str
    ontvanger_nummer: str | None
    ontvanger_type: str | None
    rol_ontvanger: str | None
    sender_oin: str | None
    kvk_number: str | None
    outcome: str
    statuscode: str
    statusomschrijving: str
    status_at: datetime
    foutcode: str | None
    findings: tuple[OutcomeFinding, ...]


@dataclass(frozen=True)
class OutcomeQuery:
    """Which outcomes: None means any. ``only_new`` hands out each outcome once (and records it)."""

    sender_subject: str
    kenmerk: str | None = None
    berichtsoort: str | None = None
    belanghebbende_nummer: str | None = None
    vanaf: datetime | None = None
    tot: datetime | None = None
    only_new: bool = False


def _outcome_select(q: OutcomeQuery) -> Any:
    final = and_(
        statuses.c.kenmerk == submissions.c.kenmerk,
        statuses.c.run == submissions.c.run,
        statuses.c.code == submissions.c.final_status,
    )
    stmt = (
        select(
            submissions,
            statuses.c.description.label("status_description"),
            statuses.c.created_at.label("status_at"),
            statuses.c.foutcode.label("status_foutcode"),
        )
        .join(statuses, final)
        .where(submissions.c.sender_subject == q.sender_subject, submissions.c.state == "done")
    )
    filters = (
        (q.kenmerk, submissions.c.kenmerk),
        (q.berichtsoort, submissions.c.berichtsoort),
        (q.belanghebbende_nummer, submissions.c.belanghebbende_nummer),
    )
    for value, column in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    if q.vanaf is not None:
        stmt = stmt.where(statuses.c.created_at >= q.vanaf)
    if q.tot is not None:
        stmt = stmt.where(statuses.c.created_at <= q.tot)
    if q.only_new:
        fetched = select(outcome_fetches.c.kenmerk).where(
            outcome_fetches.c.kenmerk == submissions.c.kenmerk, outcome_fetches.c.run == submissions.c.run
        )
        stmt = stmt.where(~fetched.exists())
    return stmt.order_by(statuses.c.created_at, statuses.c.id)


async def _findings(conn: AsyncConnection, rows: Sequence[Row[Any]]) -> dict[tuple[str, int], list[OutcomeFinding]]:
    by_run: dict[tuple[str, int], list[OutcomeFinding]] = defaultdict(list)
    if not rows:
        return by_run
    wanted = {(r.kenmerk, int(r.run)) for r in rows}
    result = await conn.execute(
        select(findings).where(findings.c.kenmerk.in_({k for k, _ in wanted})).order_by(findings.c.id)
    )
    for f in result:
        if (f.kenmerk, int(f.run)) in wanted:
            by_run[(f.kenmerk, int(f.run))].append(
                OutcomeFinding(f.code, f.severity, f.message_nl, f.message_en, f.location)
            )
    return by_run


def _record(r: Row[Any], found: list[OutcomeFinding]) -> OutcomeRecord:
    return OutcomeRecord(
        kenmerk=r.kenmerk,
        run=int(r.run),
        berichtsoort=r.berichtsoort,
        aanleverkenmerk=r.aanleverkenmerk,
        eerder_aanleverkenmerk=r.eerder_aanleverkenmerk,
        received_at=r.received_at,
        belanghebbende_nummer=r.belanghebbende_nummer,
        belanghebbende_type=r.belanghebbende_type,
        rol_belanghebbende=r.rol_belanghebbende,
        ontvanger_nummer=r.ontvanger_nummer,
        ontvanger_type=r.ontvanger_type,
        rol_ontvanger=r.rol_ontvanger,
        sender_oin=r.sender_oin,
        kvk_number=r.kvk_number,
        outcome=r.outcome or "error",
        statuscode=r.final_status,
        statusomschrijving=r.status_description,
        status_at=r.status_at,
        foutcode=r.status_foutcode,
        findings=tuple(found),
    )


async def final_outcomes(store: Store, q: OutcomeQuery) -> list[OutcomeRecord]:
    """The sender's final outcomes matching ``q``, oldest first."""
    try:
        return await _final_outcomes(store, q)
    except IntegrityError:
        if not q.only_new:
            raise
        # A concurrent getNieuwe… call handed some of them out first (PostgreSQL); ask again.
        return await _final_outcomes(store, q)


async def _final_outcomes(store: Store, q: OutcomeQuery) -> list[OutcomeRecord]:
    async with store._write() if q.only_new else store._read() as conn:
        rows = list(await conn.execute(_outcome_select(q)))
        by_run = await _findings(conn, rows)
        if q.only_new and rows:
            now = datetime.now(UTC)
            await conn.execute(
                insert(outcome_fetches), [{"kenmerk": r.kenmerk, "run": r.run, "fetched_at": now} for r in rows]
            )
        return [_record(r, by_run[(r.kenmerk, int(r.run))]) for r in rows]


@dataclass(frozen=True)
class StatusQuery:
    """getNieuweStatussen: new statuses of the sender's processes of one berichtsoort and belanghebbende."""

    sender_subject: str
    berichtsoort: str
    belanghebbende_nummer: str
    vanaf: datetime | None = None
    tot: datetime | None = None


async def new_statuses(store: Store, q: StatusQuery) -> list[Row[Any]]:
    """Statuses not handed out before (by this call or getNieuweStatussenProces), marked as
    handed out now; in time order."""
    stmt = (
        select(
            statuses,
            submissions.c.belanghebbende_nummer,
            submissions.c.belanghebbende_type,
        )
        .join(submissions, submissions.c.kenmerk == statuses.c.kenmerk)
        .where(
            submissions.c.sender_subject == q.sender_subject,
            submissions.c.berichtsoort == q.berichtsoort,
            submissions.c.belanghebbende_nummer == q.belanghebbende_nummer,
            statuses.c.fetched_at.is_(None),
        )
    )
    if q.vanaf is not None:
        stmt = stmt.where(statuses.c.created_at >= q.vanaf)
    if q.tot is not None:
        stmt = stmt.where(statuses.c.created_at <= q.tot)
    async with store._write() as conn:
        rows = list(await conn.execute(stmt.order_by(statuses.c.created_at, statuses.c.id)))
        if rows:
            await conn.execute(
                update(statuses).where(statuses.c.id.in_([r.id for r in rows])).values(fetched_at=datetime.now(UTC))
            )
        return rows
