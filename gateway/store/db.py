"""The store: every read and write the gateway makes, over one async SQLAlchemy engine.

The database is the source of truth; Redis only carries work. Each method is one
transaction, so a crash between two calls leaves a consistent state that the worker or
the reconciler can pick up again. The worker's claiming and finishing of runs are in
``gateway/store/runs.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import event, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.domain import (
    RECEIVED,
    FilingClaim,
    Sender,
    StatusEntry,
    status_description,
    utc_now,
)
from gateway.store.claims import Claim, ClaimRequest, ClaimState, claim_rows
from gateway.store.statements import Statements, statements
from gateway.store.tables import (
    check_attempts,
    companies,
    documents,
    filings,
    findings,
    notifications,
    raw_messages,
    replays,
    statuses,
    submissions,
)

__all__ = ["DuplicateAdoptedFiling", "FilingClaim", "SchemaMismatch", "Sender", "StaleClaim", "StatusEntry", "Store"]


class _Identity(Protocol):
    @property
    def nummer(self) -> str: ...
    @property
    def type(self) -> str: ...


class _Part(Protocol):
    @property
    def position(self) -> int: ...
    @property
    def mime_type(self) -> str: ...
    @property
    def bestandsnaam(self) -> str: ...
    @property
    def content(self) -> bytes: ...


class SubmissionRequest(Protocol):
    """What the store keeps of an aanleverRequest (intake's parsed request has these)."""

    @property
    def berichtsoort(self) -> str: ...
    @property
    def aanleverkenmerk(self) -> str | None: ...
    @property
    def eerder_aanleverkenmerk(self) -> str | None: ...
    @property
    def rol_belanghebbende(self) -> str: ...
    @property
    def rol_ontvanger(self) -> str | None: ...
    @property
    def autorisatie_adres(self) -> str | None: ...
    @property
    def identiteit_belanghebbende(self) -> _Identity: ...
    @property
    def identiteit_ontvanger(self) -> _Identity | None: ...
    @property
    def parts(self) -> Sequence[_Part]: ...


@dataclass
class _NewSubmission:
    kenmerk: str
    req: SubmissionRequest
    raw: bytes
    sender: Sender
    notify_address: str | None
    received_at: datetime
    #: The MessageID to record with it (claims.py), if any.
    claim: ClaimRequest | None
    done: asyncio.Future[Claim | None]


def _settle(n: _NewSubmission, exc: BaseException | None, claim: Claim | None = None) -> None:
    if n.done.done():
        return
    if exc is None:
        n.done.set_result(claim)
    else:
        n.done.set_exception(exc)


class SchemaMismatch(RuntimeError):
    """The database's schema is not this gateway's; the message says what to do
    (gateway.store.migrate decides)."""


class DuplicateAdoptedFiling(Exception):
    """Another adopted statement for the same company and year won the race."""


class StaleClaim(Exception):
    """The filings on file for the company and year changed while the checks ran: the
    decision to accept (and what it replaces) must be made again."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _insert_submissions(conn: AsyncConnection, batch: Sequence[_NewSubmission]) -> list[Claim | None]:
    """The rows of new submissions and their MessageIDs' claims, in the caller's transaction;
    returns each one's claim (a submission whose MessageID was recorded before is left out).
    One statement per table for the whole group (an executemany), not one per row: every
    statement is a round trip to the driver's thread (aiosqlite) or the server, which cost
    more than the rows themselves; on SQLite straight on the driver (statements.py)."""
    sql = statements(conn)
    requests = [n.claim for n in batch if n.claim is not None]
    answers = iter(await claim_rows(sql, requests) if requests else [])
    claims = [next(answers) if n.claim is not None else None for n in batch]
    batch = [n for n, claim in zip(batch, claims, strict=True) if claim is None or claim.state is ClaimState.NEW]
    if batch:
        await _insert_rows(sql, batch)
    return claims


async def _insert_rows(sql: Statements, batch: Sequence[_NewSubmission]) -> None:
    await sql.insert_many(submissions, [_submission_row(n) for n in batch])
    await sql.insert_many(raw_messages, [{"kenmerk": n.kenmerk, "content": n.raw} for n in batch])
    parts = [
        {
            "kenmerk": n.kenmerk,
            "position": part.position,
            "mime_type": part.mime_type,
            "bestandsnaam": part.bestandsnaam,
            "sha256": _sha256(part.content),
            "size": len(part.content),
            "content": part.content,
        }
        for n in batch
        for part in n.req.parts
    ]
    if parts:
        await sql.insert_many(documents, parts)
    # A new kenmerk has no statuses yet: 105 and 100 follow its receipt a millisecond apart
    # (105 first, as Digipoort stamps them).
    await sql.insert_many(
        statuses,
        [
            {
                "kenmerk": n.kenmerk,
                "run": 1,
                "code": e.code,
                "description": status_description(e.code),
                "created_at": n.received_at + timedelta(milliseconds=i),
                "foutcode": e.foutcode,
                "foutbeschrijving": e.foutbeschrijving,
                "details": e.details,
            }
            for n in batch
            for i, e in enumerate(RECEIVED)
        ],
    )


def _submission_row(n: _NewSubmission) -> dict[str, Any]:
    req, ontvanger = n.req, n.req.identiteit_ontvanger
    return {
        "kenmerk": n.kenmerk,
        "berichtsoort": req.berichtsoort,
        "aanleverkenmerk": req.aanleverkenmerk,
        "eerder_aanleverkenmerk": req.eerder_aanleverkenmerk,
        "belanghebbende_nummer": req.identiteit_belanghebbende.nummer,
        "belanghebbende_type": req.identiteit_belanghebbende.type,
        "rol_belanghebbende": req.rol_belanghebbende,
        "ontvanger_nummer": ontvanger.nummer if ontvanger else None,
        "ontvanger_type": ontvanger.type if ontvanger else None,
        "rol_ontvanger": req.rol_ontvanger,
        "autorisatie_adres": req.autorisatie_adres,
        "sender_subject": n.sender.subject,
        "sender_oin": n.sender.oin,
        "notify_address": n.notify_address,
        "received_at": n.received_at,
        "state": "queued",
        "run": 1,
        "raw_sha256": _sha256(n.raw),
        "raw_size": len(n.raw),
        "updated_at": n.received_at,
    }


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # SQLite has one writer at a time; queueing writers of this process on a lock
        # avoids SQLite's busy handler, which sleeps up to 100 ms between retries.
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._intake: list[_NewSubmission] = []
        self._committer: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A read-write transaction (BEGIN IMMEDIATE on SQLite)."""
        async with contextlib.AsyncExitStack() as stack:
            if self._write_lock is not None:
                await stack.enter_async_context(self._write_lock)
            conn = await stack.enter_async_context(self.engine.connect())
            conn = await conn.execution_options(sqlite_immediate=True)
            async with conn.begin():
                yield conn

    @classmethod
    def from_url(cls, url: str) -> Store:
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        engine = create_async_engine(url, **kwargs)
        if url.startswith("sqlite"):

            @event.listens_for(engine.sync_engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                # WAL lets the server read while the worker writes; synchronous=FULL makes a
                # commit durable before we hand out a kenmerk.
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()
                # We emit BEGIN ourselves (below), not the driver.
                dbapi_conn.isolation_level = None

            # A deferred transaction that reads and then writes can fail at once with
            # "database is locked" when another writer got in between; BEGIN IMMEDIATE
            # makes writers queue on busy_timeout instead. Readers stay deferred (WAL lets
            # them run beside a writer).
            @event.listens_for(engine.sync_engine, "begin")
            def _begin(conn: Any) -> None:
                immediate = conn.get_execution_options().get("sqlite_immediate")
                conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return cls(engine)

    async def init_schema(self) -> None:
        """Create a new database's tables; refuse one whose schema is not current (then
        `gateway db upgrade` brings it up: gateway.store.migrate)."""
        from gateway.store.migrate import ensure_current_async  # migrate imports this module

        await ensure_current_async(self.engine)

    async def close(self) -> None:
        if self._committer is not None and not self._committer.done():
            await self._committer  # finish what callers are waiting for
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    # ------------------------------------------------------------------ intake

    async def record_submission(
        self,
        kenmerk: str,
        req: SubmissionRequest,
        raw: bytes,
        sender: Sender,
        notify_address: str | None,
        received_at: datetime,
        claim: ClaimRequest | None = None,
    ) -> Claim | None:
        """Store message, parts and statuses 105 + 100; returns once they are committed.

        Submissions arriving while a commit is under way share the next transaction (group
        commit): one fsync for several, and each caller still returns only after the commit
        that holds its submission.

        With ``claim`` the message's MessageID is recorded in the same transaction, and the
        Claim is returned: when the MessageID was recorded before (a retransmission or a
        replay), nothing is stored. A MessageID is thus spent exactly when its message is.
        """
        item = _NewSubmission(
            kenmerk, req, raw, sender, notify_address, received_at, claim, asyncio.get_running_loop().create_future()
        )
        self._intake.append(item)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_intake())
        return await asyncio.shield(item.done)

    async def _commit_intake(self) -> None:
        batch: list[_NewSubmission] = []
        try:
            while self._intake:
                batch, size = [], 0
                while self._intake and len(batch) < 64 and size < 64 * 1024 * 1024:
                    item = self._intake.pop(0)
                    batch.append(item)
                    size += 2 * len(item.raw)
                await self._commit_batch(batch)
                batch = []
        finally:
            # Cancelled (shutting down): nobody may wait for ever.
            for n in batch + self._intake:
                _settle(n, RuntimeError("the store is shutting down"))
            self._intake.clear()

    async def _commit_batch(self, batch: list[_NewSubmission]) -> None:
        try:
            async with self._write() as conn:
                claims = await _insert_submissions(conn, batch)
        except Exception:
            # One bad submission must not sink the others: store them one by one.
            for n in batch:
                await self._commit_alone(n)
        else:
            for n, claim in zip(batch, claims, strict=True):
                _settle(n, None, claim)

    async def _commit_alone(self, n: _NewSubmission) -> None:
        # A second attempt for a MessageID another process recorded meanwhile (PostgreSQL):
        # it then reads that record.
        attempts = 2 if n.claim is not None else 1
        for attempt in range(attempts):
            try:
                async with self._write() as conn:
                    (claim,) = await _insert_submissions(conn, [n])
            except Exception as exc:
                if attempt + 1 < attempts and isinstance(exc, IntegrityError):
                    continue
                _settle(n, exc)
            else:
                _settle(n, None, claim)
            return

    async def _add_statuses(
        self, conn: AsyncConnection, kenmerk: str, run: int, entries: Sequence[StatusEntry], at: datetime | None = None
    ) -> None:
        start = at or utc_now()
        # Statuses of one process must sort in the order they happened even when they
        # share a clock tick; a millisecond apart is what the wire format can show.
        last = await conn.scalar(select(func.max(statuses.c.created_at)).where(statuses.c.kenmerk == kenmerk))
        if last is not None and start <= last:
            start = last + timedelta(milliseconds=1)
        for i, e in enumerate(entries):
            await conn.execute(
                insert(statuses).values(
                    kenmerk=kenmerk,
                    run=run,
                    code=e.code,
                    description=status_description(e.code),
                    created_at=start + timedelta(milliseconds=i),
                    foutcode=e.foutcode,
                    foutbeschrijving=e.foutbeschrijving,
                    details=e.details,
                )
            )

    # ------------------------------------------------------------------ reading

    async def get_submission(self, kenmerk: str) -> Row[Any] | None:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(submissions).where(submissions.c.kenmerk == kenmerk))).first()

    async def get_documents(self, kenmerk: str) -> list[Row[Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(documents).where(documents.c.kenmerk == kenmerk).order_by(documents.c.position)
            )
            return list(rows)

    async def get_raw(self, kenmerk: str) -> bytes | None:
        async with self.engine.connect() as conn:
            return await conn.scalar(select(raw_messages.c.content).where(raw_messages.c.kenmerk == kenmerk))

    async def status_history(self, kenmerk: str) -> list[Row[Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(statuses).where(statuses.c.kenmerk == kenmerk).order_by(statuses.c.id))
            return list(rows)

    async def findings_for(self, kenmerk: str, run: int | None = None) -> list[Row[Any]]:
        q = select(findings).where(findings.c.kenmerk == kenmerk)
        if run is not None:
            q = q.where(findings.c.run == run)
        async with self.engine.connect() as conn:
            return list(await conn.execute(q.order_by(findings.c.id)))

    async def statuses_for_sender(
        self, kenmerk: str, sender: Sender, *, vanaf: datetime | None = None, tot: datetime | None = None
    ) -> list[Row[Any]] | None:
        """Statuses of the sender's own process (getStatussenProces), or None if it is
        unknown or not theirs."""
        async with self._read() as conn:
            return await self._sender_statuses(conn, kenmerk, sender, new_only=False, vanaf=vanaf, tot=tot)

    async def take_new_statuses_for_sender(
        self, kenmerk: str, sender: Sender, *, vanaf: datetime | None = None, tot: datetime | None = None
    ) -> list[Row[Any]] | None:
        """The statuses not handed out before (getNieuweStatussenProces), marked as handed
        out now; None if the process is unknown or not theirs."""
        async with self._write() as conn:
            rows = await self._sender_statuses(conn, kenmerk, sender, new_only=True, vanaf=vanaf, tot=tot)
            if rows:
                await conn.execute(
                    update(statuses).where(statuses.c.id.in_([r.id for r in rows])).values(fetched_at=utc_now())
                )
            return rows

    async def _sender_statuses(
        self,
        conn: AsyncConnection,
        kenmerk: str,
        sender: Sender,
        *,
        new_only: bool,
        vanaf: datetime | None,
        tot: datetime | None,
    ) -> list[Row[Any]] | None:
        owner = await conn.scalar(select(submissions.c.sender_subject).where(submissions.c.kenmerk == kenmerk))
        if owner is None or owner != sender.subject:
            return None
        q = (
            select(statuses, submissions.c.belanghebbende_nummer, submissions.c.belanghebbende_type)
            .join(submissions, submissions.c.kenmerk == statuses.c.kenmerk)
            .where(statuses.c.kenmerk == kenmerk)
        )
        if new_only:
            q = q.where(statuses.c.fetched_at.is_(None))
        if vanaf is not None:
            q = q.where(statuses.c.created_at >= vanaf)
        if tot is not None:
            q = q.where(statuses.c.created_at <= tot)
        return list(await conn.execute(q.order_by(statuses.c.id)))

    async def processes_for_sender(self, sender: Sender, berichtsoort: str, nummer: str) -> list[Row[Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(submissions)
                .where(
                    submissions.c.sender_subject == sender.subject,
                    submissions.c.berichtsoort == berichtsoort,
                    submissions.c.belanghebbende_nummer == nummer,
                )
                .order_by(submissions.c.received_at)
            )
            return list(rows)

    async def list_submissions(
        self,
        *,
        status: str | None = None,
        kvk_number: str | None = None,
        sender: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        foutcode: str | None = None,
        limit: int | None = 100,
    ) -> list[Row[Any]]:
        q = select(submissions)
        if status is not None:
            q = (
                q.where(submissions.c.final_status == status)
                if status != "open"
                else q.where(submissions.c.state != "done")
            )
        if kvk_number is not None:
            q = q.where((submissions.c.kvk_number == kvk_number) | (submissions.c.belanghebbende_nummer == kvk_number))
        if sender is not None:
            q = q.where((submissions.c.sender_oin == sender) | (submissions.c.sender_subject == sender))
        if since is not None:
            q = q.where(submissions.c.received_at >= since)
        if until is not None:
            q = q.where(submissions.c.received_at < until)
        if foutcode is not None:
            q = q.where(
                select(statuses.c.id)
                .where(
                    statuses.c.kenmerk == submissions.c.kenmerk,
                    statuses.c.run == submissions.c.run,
                    statuses.c.foutcode == foutcode,
                )
                .exists()
            )
        q = q.order_by(submissions.c.received_at.desc())
        if limit is not None:
            q = q.limit(limit)
        async with self.engine.connect() as conn:
            return list(await conn.execute(q))

    # ------------------------------------------------------------------ pipeline

    async def filings_on_file(self, kvk_number: str, financial_year: int) -> list[Row[Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(filings)
                .where(
                    filings.c.kvk_number == kvk_number,
                    filings.c.financial_year == financial_year,
                    filings.c.active.is_(True),
                )
                .order_by(filings.c.id)
            )
            return list(rows)

    async def record_check_failure(self, kenmerk: str, run: int, error: str) -> int:
        """Count a failed attempt at checking a run (not an outage); returns the count."""
        now = utc_now()
        async with self._write() as conn:
            failures = await conn.scalar(
                select(check_attempts.c.failures).where(
                    check_attempts.c.kenmerk == kenmerk, check_attempts.c.run == run
                )
            )
            if failures is None:
                failures = 1
                await conn.execute(
                    insert(check_attempts).values(
                        kenmerk=kenmerk, run=run, failures=1, last_error=error[:2000], updated_at=now
                    )
                )
            else:
                failures += 1
                await conn.execute(
                    update(check_attempts)
                    .where(check_attempts.c.kenmerk == kenmerk, check_attempts.c.run == run)
                    .values(failures=failures, last_error=error[:2000], updated_at=now)
                )
            return int(failures)

    async def check_failures(self, kenmerk: str, run: int) -> int:
        async with self._read() as conn:
            value = await conn.scalar(
                select(check_attempts.c.failures).where(
                    check_attempts.c.kenmerk == kenmerk, check_attempts.c.run == run
                )
            )
            return int(value or 0)

    async def start_replay(self, kenmerk: str, actor: str, reason: str) -> int | None:
        """Put a finished submission back in the queue as a new run; returns that run."""
        async with self._write() as conn:
            sub = (
                await conn.execute(
                    select(submissions.c.run, submissions.c.state).where(submissions.c.kenmerk == kenmerk)
                )
            ).first()
            if sub is None or sub.state != "done":
                return None
            run = sub.run + 1
            now = utc_now()
            # Replaying an accepted statement withdraws its claim; the new run claims again.
            await conn.execute(update(filings).where(filings.c.kenmerk == kenmerk).values(active=False))
            await conn.execute(
                update(submissions)
                .where(submissions.c.kenmerk == kenmerk, submissions.c.run == sub.run)
                .values(state="queued", run=run, updated_at=now)
            )
            await conn.execute(
                insert(replays).values(kenmerk=kenmerk, run=run, actor=actor, reason=reason, created_at=now)
            )
            return int(run)

    async def replays_for(self, kenmerk: str) -> list[Row[Any]]:
        async with self.engine.connect() as conn:
            return list(await conn.execute(select(replays).where(replays.c.kenmerk == kenmerk).order_by(replays.c.id)))

    # ------------------------------------------------------------------ notifications

    async def get_notification(self, kenmerk: str, run: int) -> Row[Any] | None:
        async with self.engine.connect() as conn:
            return (
                await conn.execute(
                    select(notifications).where(notifications.c.kenmerk == kenmerk, notifications.c.run == run)
                )
            ).first()

    async def notifications_for(self, kenmerk: str) -> list[Row[Any]]:
        async with self.engine.connect() as conn:
            return list(
                await conn.execute(
                    select(notifications).where(notifications.c.kenmerk == kenmerk).order_by(notifications.c.id)
                )
            )

    async def pending_notifications(self) -> list[tuple[str, int]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(notifications.c.kenmerk, notifications.c.run)
                .where(notifications.c.state == "pending")
                .order_by(notifications.c.id)
            )
            return [(r.kenmerk, int(r.run)) for r in rows]

    async def unfinished(self) -> list[Any]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(submissions.c.kenmerk, submissions.c.run, submissions.c.received_at)
                .where(submissions.c.state != "done")
                .order_by(submissions.c.received_at)
            )
            return list(rows)

    # ------------------------------------------------------------------ register

    async def get_company(self, kvk_number: str) -> Row[Any] | None:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(companies).where(companies.c.kvk_number == kvk_number))).first()

    async def upsert_company(self, values: dict[str, Any]) -> bool:
        """Insert or update one company; True if it was new."""
        values = {**values, "updated_at": utc_now()}
        async with self._write() as conn:
            exists = await conn.scalar(
                select(companies.c.kvk_number).where(companies.c.kvk_number == values["kvk_number"])
            )
            if exists:
                await conn.execute(
                    update(companies).where(companies.c.kvk_number == values["kvk_number"]).values(**values)
                )
                return False
            await conn.execute(insert(companies).values(**values))
            return True
