"""Store queries for Zelf Deponeren: branches, access codes, authorisations, letters, the
mail outbox, web filings and the record of every action (``zdj_events``).

Each method is one transaction. Rules that need the database (a closed branch gets no new
code; one code per person; closing a branch closes its codes) are enforced here, inside
that transaction; the rest of the logic lives in ``gateway.web.service``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain import utc_now
from gateway.store.db import Store
from gateway.store.tables import (
    companies,
    statuses,
    submissions,
    zdj_access_codes,
    zdj_authorisations,
    zdj_branches,
    zdj_events,
    zdj_letters,
    zdj_outbox,
    zdj_submissions,
)

#: What replaces a password in a letter once printed, or in a mail once sent.
REDACTED = "[verwijderd na verzending / removed after dispatch]"


class ZdjError(Exception):
    """A refused action, with a stable reason code for callers and a message for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class AccessCode:
    id: int
    code: str
    vestigingsnummer: str
    kvk_number: str
    holder_name: str
    holder_email: str
    password_hash: str
    must_change_password: bool
    delivery: str
    state: str
    state_reason: str | None
    state_by: str | None
    state_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class Branch:
    vestigingsnummer: str
    kvk_number: str
    name: str
    state: str
    closed_at: datetime | None
    closed_by: str | None
    closed_reason: str | None


@dataclass(frozen=True)
class Event:
    id: int
    action: str
    actor: str
    reason: str | None
    detail: dict[str, Any] | None
    at: datetime
    code_id: int | None
    vestigingsnummer: str | None
    authorisation_id: int | None


@dataclass(frozen=True)
class Letter:
    id: int
    kind: str
    code_id: int | None
    authorisation_id: int | None
    recipient: str
    body: str
    requested_at: datetime
    dispatch_on: str
    deliver_by: str
    state: str
    printed_at: datetime | None
    printed_by: str | None


@dataclass(frozen=True)
class Authorisation:
    id: int
    code_id: int
    kvk_number: str
    company_name: str | None
    state: str
    requested_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None


@dataclass(frozen=True)
class Mail:
    id: int
    kind: str
    recipient: str
    subject: str
    body: str


@dataclass(frozen=True)
class NewLetter:
    recipient: str
    body: str
    requested_at: datetime
    dispatch_on: str
    deliver_by: str


@dataclass(frozen=True)
class NewMail:
    kind: str
    recipient: str
    subject: str
    body: str


@dataclass(frozen=True)
class NewCode:
    code: str
    vestigingsnummer: str
    holder_name: str
    holder_email: str
    password_hash: str
    delivery: str


@dataclass(frozen=True)
class WebFiling:
    kenmerk: str
    kvk_number: str
    bestandsnaam: str
    created_at: datetime
    final_status: str | None
    last_status: str | None


def _code(row: Row[Any]) -> AccessCode:
    return AccessCode(
        row.id,
        row.code,
        row.vestigingsnummer,
        row.kvk_number,
        row.holder_name,
        row.holder_email,
        row.password_hash,
        bool(row.must_change_password),
        row.delivery,
        row.state,
        row.state_reason,
        row.state_by,
        row.state_at,
        row.created_at,
    )


def _letter(row: Row[Any]) -> Letter:
    return Letter(
        row.id,
        row.kind,
        row.code_id,
        row.authorisation_id,
        row.recipient,
        row.body,
        row.requested_at,
        row.dispatch_on,
        row.deliver_by,
        row.state,
        row.printed_at,
        row.printed_by,
    )


def _authorisation(row: Row[Any]) -> Authorisation:
    return Authorisation(
        row.id,
        row.code_id,
        row.kvk_number,
        row.company_name,
        row.state,
        row.requested_at,
        row.decided_at,
        row.decided_by,
        row.decision_note,
    )


async def _event(
    conn: AsyncConnection,
    action: str,
    actor: str,
    *,
    reason: str | None = None,
    code_id: int | None = None,
    vestigingsnummer: str | None = None,
    authorisation_id: int | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    await conn.execute(
        insert(zdj_events).values(
            action=action,
            actor=actor,
            reason=reason,
            code_id=code_id,
            vestigingsnummer=vestigingsnummer,
            authorisation_id=authorisation_id,
            detail=detail,
            at=at or utc_now(),
        )
    )


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _is_unique_violation(exc: IntegrityError, name: str) -> bool:
    text = str(exc.orig).lower()
    return name in text or "unique" in text


def person_key(name: str, email: str) -> str:
    """Who a person is, for "one code per person": name and email address, case and spacing
    ignored (a shared company mailbox may serve several people, each with their own code)."""
    return f"{' '.join(name.casefold().split())}|{email.strip().lower()}"


def _person_has_code(email: str) -> ZdjError:
    # KVK: "We therefore issue 1 access code per person. An access code is personal and may
    # not be shared." and "You need an access code and password for each BV".
    return ZdjError("person_has_code", f"{email} already has an access code for this organisation: one code per person")


class AccessCodes:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ branches

    async def add_branch(self, vestigingsnummer: str, kvk_number: str, name: str, actor: str) -> None:
        now = utc_now()
        async with self.store._write() as conn:
            exists = await conn.scalar(
                select(zdj_branches.c.state).where(zdj_branches.c.vestigingsnummer == vestigingsnummer)
            )
            if exists is not None:
                raise ZdjError("branch_exists", f"branch {vestigingsnummer} is already registered ({exists})")
            await conn.execute(
                insert(zdj_branches).values(
                    vestigingsnummer=vestigingsnummer,
                    kvk_number=kvk_number,
                    name=name,
                    state="active",
                    created_at=now,
                )
            )
            await _event(conn, "branch_added", actor, vestigingsnummer=vestigingsnummer, at=now)

    async def get_branch(self, vestigingsnummer: str) -> Branch | None:
        async with self.store.engine.connect() as conn:
            row = (
                await conn.execute(select(zdj_branches).where(zdj_branches.c.vestigingsnummer == vestigingsnummer))
            ).first()
        if row is None:
            return None
        return Branch(
            row.vestigingsnummer, row.kvk_number, row.name, row.state, row.closed_at, row.closed_by, row.closed_reason
        )

    async def close_branch(self, vestigingsnummer: str, actor: str, reason: str) -> list[str]:
        """Close a branch and every access code linked to it; returns the codes closed.

        KVK: "Has a branch office closed? Then we also close the access code linked to that
        branch office. And you cannot apply for a new access code for that branch office."
        """
        now = utc_now()
        async with self.store._write() as conn:
            state = await conn.scalar(
                select(zdj_branches.c.state).where(zdj_branches.c.vestigingsnummer == vestigingsnummer)
            )
            if state is None:
                raise ZdjError("unknown_branch", f"branch {vestigingsnummer} is not registered")
            if state == "closed":
                raise ZdjError("branch_closed", f"branch {vestigingsnummer} is already closed")
            await conn.execute(
                update(zdj_branches)
                .where(zdj_branches.c.vestigingsnummer == vestigingsnummer)
                .values(state="closed", closed_at=now, closed_by=actor, closed_reason=reason)
            )
            await _event(conn, "branch_closed", actor, reason=reason, vestigingsnummer=vestigingsnummer, at=now)
            open_codes = list(
                await conn.execute(
                    select(zdj_access_codes.c.id, zdj_access_codes.c.code).where(
                        zdj_access_codes.c.vestigingsnummer == vestigingsnummer, zdj_access_codes.c.state != "closed"
                    )
                )
            )
            why = f"vestiging gesloten / branch closed: {reason}"
            for row in open_codes:
                await self._set_state(conn, row.id, "closed", actor, why, now)
                await _event(
                    conn, "closed", actor, reason=why, code_id=row.id, vestigingsnummer=vestigingsnummer, at=now
                )
            return [r.code for r in open_codes]

    # ------------------------------------------------------------------ codes

    async def issue(self, new: NewCode, actor: str, *, letter: NewLetter | None, mail: NewMail | None) -> AccessCode:
        """Store a new code with its letter or mail, in one transaction."""
        now = utc_now()
        try:
            async with self.store._write() as conn:
                branch = (
                    await conn.execute(
                        select(zdj_branches.c.state, zdj_branches.c.kvk_number).where(
                            zdj_branches.c.vestigingsnummer == new.vestigingsnummer
                        )
                    )
                ).first()
                if branch is None:
                    raise ZdjError("unknown_branch", f"branch {new.vestigingsnummer} is not registered")
                if branch.state == "closed":
                    raise ZdjError(
                        "branch_closed",
                        f"branch {new.vestigingsnummer} is closed: no new access code can be issued for it",
                    )
                taken = await conn.scalar(
                    select(zdj_access_codes.c.id).where(
                        zdj_access_codes.c.person_key == person_key(new.holder_name, new.holder_email),
                        zdj_access_codes.c.kvk_number == branch.kvk_number,
                        zdj_access_codes.c.state != "closed",
                    )
                )
                if taken is not None:
                    raise _person_has_code(new.holder_email)
                result = await conn.execute(
                    insert(zdj_access_codes).values(
                        code=new.code,
                        vestigingsnummer=new.vestigingsnummer,
                        kvk_number=branch.kvk_number,
                        holder_name=new.holder_name,
                        holder_email=new.holder_email,
                        person_key=person_key(new.holder_name, new.holder_email),
                        password_hash=new.password_hash,
                        must_change_password=True,
                        delivery=new.delivery,
                        state="active",
                        state_at=now,
                        created_at=now,
                    )
                )
                code_id = _new_id(result)
                detail: dict[str, Any] = {"delivery": new.delivery}
                if letter is not None:
                    detail["letter_id"] = await self._add_letter(conn, "access_code", letter, code_id=code_id)
                    detail.update(dispatch_on=letter.dispatch_on, deliver_by=letter.deliver_by)
                if mail is not None:
                    detail["mail_id"] = await self._add_mail(conn, mail, code_id)
                await _event(
                    conn,
                    "issued",
                    actor,
                    code_id=code_id,
                    vestigingsnummer=new.vestigingsnummer,
                    detail=detail,
                    at=now,
                )
        except IntegrityError as exc:
            # Two applications for the same person racing: the partial unique index decides.
            if _is_unique_violation(exc, "uq_zdj_codes_person"):
                raise _person_has_code(new.holder_email) from None
            raise
        found = await self.get_by_id(code_id)
        assert found is not None
        return found

    async def code_exists(self, code: str) -> bool:
        async with self.store.engine.connect() as conn:
            return await conn.scalar(select(zdj_access_codes.c.id).where(zdj_access_codes.c.code == code)) is not None

    async def get(self, code: str) -> AccessCode | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(zdj_access_codes).where(zdj_access_codes.c.code == code))).first()
        return None if row is None else _code(row)

    async def get_by_id(self, code_id: int) -> AccessCode | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(zdj_access_codes).where(zdj_access_codes.c.id == code_id))).first()
        return None if row is None else _code(row)

    async def list_codes(self, *, state: str | None = None, kvk_number: str | None = None) -> list[AccessCode]:
        q = select(zdj_access_codes)
        if state is not None:
            q = q.where(zdj_access_codes.c.state == state)
        if kvk_number is not None:
            q = q.where(zdj_access_codes.c.kvk_number == kvk_number)
        async with self.store.engine.connect() as conn:
            return [_code(r) for r in await conn.execute(q.order_by(zdj_access_codes.c.id))]

    async def _set_state(
        self, conn: AsyncConnection, code_id: int, state: str, actor: str, reason: str, at: datetime
    ) -> None:
        await conn.execute(
            update(zdj_access_codes)
            .where(zdj_access_codes.c.id == code_id)
            .values(state=state, state_reason=reason, state_by=actor, state_at=at)
        )

    async def change_state(
        self,
        code: str,
        *,
        to: str,
        allowed_from: Sequence[str],
        action: str,
        actor: str,
        reason: str,
        detail: dict[str, Any] | None = None,
    ) -> AccessCode:
        """Move a code to ``to`` (block, unblock, close) and record it; refuses other moves."""
        now = utc_now()
        async with self.store._write() as conn:
            row = (
                await conn.execute(
                    select(zdj_access_codes.c.id, zdj_access_codes.c.state, zdj_access_codes.c.vestigingsnummer).where(
                        zdj_access_codes.c.code == code
                    )
                )
            ).first()
            if row is None:
                raise ZdjError("unknown_code", "no such access code")
            if row.state not in allowed_from:
                raise ZdjError("wrong_state", f"the access code is {row.state}; cannot {action} it")
            await self._set_state(conn, row.id, to, actor, reason, now)
            await _event(
                conn,
                action,
                actor,
                reason=reason,
                code_id=row.id,
                vestigingsnummer=row.vestigingsnummer,
                detail=detail,
                at=now,
            )
        found = await self.get(code)
        assert found is not None
        return found

    async def history(self, code_id: int) -> list[Event]:
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                select(zdj_events).where(zdj_events.c.code_id == code_id).order_by(zdj_events.c.id)
            )
            return [self._ev(r) for r in rows]

    async def events(self, *, limit: int = 100) -> list[Event]:
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(select(zdj_events).order_by(zdj_events.c.id.desc()).limit(limit))
            return [self._ev(r) for r in rows]

    @staticmethod
    def _ev(r: Row[Any]) -> Event:
        return Event(
            r.id, r.action, r.actor, r.reason, r.detail, r.at, r.code_id, r.vestigingsnummer, r.authorisation_id
        )

    async def record(self, action: str, actor: str, *, code_id: int | None = None, reason: str | None = None) -> None:
        """Record an action that changes nothing else (a log-in lock-out, say)."""
        async with self.store._write() as conn:
            await _event(conn, action, actor, code_id=code_id, reason=reason)

    async def set_password(
        self, code_id: int, password_hash: str, *, must_change: bool, actor: str, action: str, mail: NewMail | None
    ) -> None:
        async with self.store._write() as conn:
            await conn.execute(
                update(zdj_access_codes)
                .where(zdj_access_codes.c.id == code_id)
                .values(password_hash=password_hash, must_change_password=must_change)
            )
            detail = None
            if mail is not None:
                detail = {"mail_id": await self._add_mail(conn, mail, code_id)}
            await _event(conn, action, actor, code_id=code_id, detail=detail)

    # ------------------------------------------------------------------ outbox

    async def _add_mail(self, conn: AsyncConnection, mail: NewMail, code_id: int | None) -> int:
        result = await conn.execute(
            insert(zdj_outbox).values(
                code_id=code_id,
                kind=mail.kind,
                recipient=mail.recipient,
                subject=mail.subject,
                body=mail.body,
                state="pending",
                created_at=utc_now(),
            )
        )
        return _new_id(result)

    async def pending_mails(self) -> list[Mail]:
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                select(zdj_outbox).where(zdj_outbox.c.state == "pending").order_by(zdj_outbox.c.id)
            )
            return [Mail(r.id, r.kind, r.recipient, r.subject, r.body) for r in rows]

    async def claim_mail(self, mail_id: int, lease: timedelta) -> bool:
        """Take a pending mail for sending; False when another process holds it."""
        now = utc_now()
        async with self.store._write() as conn:
            taken = await conn.execute(
                update(zdj_outbox)
                .where(
                    zdj_outbox.c.id == mail_id,
                    zdj_outbox.c.state == "pending",
                    or_(zdj_outbox.c.claimed_at.is_(None), zdj_outbox.c.claimed_at < now - lease),
                )
                .values(claimed_at=now)
            )
            return taken.rowcount == 1

    async def mark_mail(self, mail_id: int, *, sent: bool, error: str | None = None) -> None:
        values: dict[str, Any] = {"attempts": zdj_outbox.c.attempts + 1, "last_error": error, "claimed_at": None}
        if sent:
            values.update(state="sent", sent_at=utc_now(), body=REDACTED)
        async with self.store._write() as conn:
            await conn.execute(
                update(zdj_outbox).where(zdj_outbox.c.id == mail_id, zdj_outbox.c.state == "pending").values(**values)
            )

    async def mails_for(self, code_id: int) -> list[Row[Any]]:
        async with self.store.engine.connect() as conn:
            return list(
                await conn.execute(select(zdj_outbox).where(zdj_outbox.c.code_id == code_id).order_by(zdj_outbox.c.id))
            )

    # ------------------------------------------------------------------ letters

    async def _add_letter(
        self,
        conn: AsyncConnection,
        kind: str,
        letter: NewLetter,
        *,
        code_id: int | None = None,
        authorisation_id: int | None = None,
    ) -> int:
        result = await conn.execute(
            insert(zdj_letters).values(
                kind=kind,
                code_id=code_id,
                authorisation_id=authorisation_id,
                recipient=letter.recipient,
                body=letter.body,
                requested_at=letter.requested_at,
                dispatch_on=letter.dispatch_on,
                deliver_by=letter.deliver_by,
                state="queued",
            )
        )
        return _new_id(result)

    async def letters(self, *, state: str | None = None) -> list[Letter]:
        q = select(zdj_letters)
        if state is not None:
            q = q.where(zdj_letters.c.state == state)
        async with self.store.engine.connect() as conn:
            return [_letter(r) for r in await conn.execute(q.order_by(zdj_letters.c.dispatch_on, zdj_letters.c.id))]

    async def get_letter(self, letter_id: int) -> Letter | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(zdj_letters).where(zdj_letters.c.id == letter_id))).first()
        return None if row is None else _letter(row)

    async def mark_printed(self, letter_id: int, actor: str, redacted_body: str) -> None:
        now = utc_now()
        async with self.store._write() as conn:
            row = (
                await conn.execute(
                    select(zdj_letters.c.state, zdj_letters.c.code_id, zdj_letters.c.authorisation_id).where(
                        zdj_letters.c.id == letter_id
                    )
                )
            ).first()
            if row is None:
                raise ZdjError("unknown_letter", f"no letter {letter_id}")
            if row.state != "queued":
                raise ZdjError("wrong_state", f"letter {letter_id} is already {row.state}")
            await conn.execute(
                update(zdj_letters)
                .where(zdj_letters.c.id == letter_id)
                .values(state="printed", printed_at=now, printed_by=actor, body=redacted_body)
            )
            await _event(
                conn,
                "letter_printed",
                actor,
                code_id=row.code_id,
                authorisation_id=row.authorisation_id,
                detail={"letter_id": letter_id},
                at=now,
            )

    # ------------------------------------------------------------------ authorisations

    def _auth_query(self) -> Any:
        return select(zdj_authorisations, companies.c.name.label("company_name")).join(
            companies, companies.c.kvk_number == zdj_authorisations.c.kvk_number, isouter=True
        )

    async def request_authorisation(self, code_id: int, kvk_number: str, letter: NewLetter) -> Authorisation:
        now = utc_now()
        try:
            async with self.store._write() as conn:
                result = await conn.execute(
                    insert(zdj_authorisations).values(
                        code_id=code_id, kvk_number=kvk_number, state="requested", requested_at=now
                    )
                )
                auth_id = _new_id(result)
                letter_id = await self._add_letter(conn, "authorisation", letter, authorisation_id=auth_id)
                await _event(
                    conn,
                    "authorisation_requested",
                    "filer",
                    code_id=code_id,
                    authorisation_id=auth_id,
                    detail={"kvk_number": kvk_number, "letter_id": letter_id},
                    at=now,
                )
        except IntegrityError as exc:
            if _is_unique_violation(exc, "uq_zdj_authorisations_open"):
                raise ZdjError("already_requested", "an authorisation for this business is already requested") from None
            raise
        found = await self.get_authorisation(auth_id)
        assert found is not None
        return found

    async def get_authorisation(self, auth_id: int) -> Authorisation | None:
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(self._auth_query().where(zdj_authorisations.c.id == auth_id))).first()
        return None if row is None else _authorisation(row)

    async def authorisations(self, *, code_id: int | None = None, state: str | None = None) -> list[Authorisation]:
        q = self._auth_query()
        if code_id is not None:
            q = q.where(zdj_authorisations.c.code_id == code_id)
        if state is not None:
            q = q.where(zdj_authorisations.c.state == state)
        async with self.store.engine.connect() as conn:
            return [_authorisation(r) for r in await conn.execute(q.order_by(zdj_authorisations.c.id))]

    async def decide_authorisation(self, auth_id: int, *, approve: bool, actor: str, note: str) -> Authorisation:
        """Record the business's answer to the letter (entered by an operator)."""
        now = utc_now()
        state = "approved" if approve else "rejected"
        async with self.store._write() as conn:
            row = (
                await conn.execute(
                    select(zdj_authorisations.c.state, zdj_authorisations.c.code_id).where(
                        zdj_authorisations.c.id == auth_id
                    )
                )
            ).first()
            if row is None:
                raise ZdjError("unknown_authorisation", f"no authorisation {auth_id}")
            if row.state != "requested":
                raise ZdjError("wrong_state", f"authorisation {auth_id} is {row.state}, not awaiting an answer")
            await conn.execute(
                update(zdj_authorisations)
                .where(zdj_authorisations.c.id == auth_id)
                .values(state=state, decided_at=now, decided_by=actor, decision_note=note)
            )
            await _event(
                conn,
                f"authorisation_{state}",
                actor,
                reason=note,
                code_id=row.code_id,
                authorisation_id=auth_id,
                at=now,
            )
        found = await self.get_authorisation(auth_id)
        assert found is not None
        return found

    async def remove_authorisation(self, code_id: int, auth_id: int) -> None:
        """The filer withdraws an authorisation ('Verwijder machtiging')."""
        now = utc_now()
        async with self.store._write() as conn:
            changed = await conn.execute(
                update(zdj_authorisations)
                .where(
                    zdj_authorisations.c.id == auth_id,
                    zdj_authorisations.c.code_id == code_id,
                    zdj_authorisations.c.state.in_(["requested", "approved"]),
                )
                .values(state="removed", removed_at=now)
            )
            if changed.rowcount != 1:
                raise ZdjError("unknown_authorisation", "no such authorisation")
            await _event(conn, "authorisation_removed", "filer", code_id=code_id, authorisation_id=auth_id, at=now)

    async def is_authorised(self, code_id: int, kvk_number: str) -> bool:
        async with self.store.engine.connect() as conn:
            found = await conn.scalar(
                select(zdj_authorisations.c.id).where(
                    zdj_authorisations.c.code_id == code_id,
                    zdj_authorisations.c.kvk_number == kvk_number,
                    zdj_authorisations.c.state == "approved",
                )
            )
        return found is not None

    # ------------------------------------------------------------------ web filings

    async def record_web_filing(self, kenmerk: str, code_id: int, kvk_number: str, bestandsnaam: str) -> None:
        async with self.store._write() as conn:
            await conn.execute(
                insert(zdj_submissions).values(
                    kenmerk=kenmerk,
                    code_id=code_id,
                    kvk_number=kvk_number,
                    bestandsnaam=bestandsnaam,
                    created_at=utc_now(),
                )
            )

    async def web_filing_owner(self, kenmerk: str) -> int | None:
        async with self.store.engine.connect() as conn:
            owner = await conn.scalar(select(zdj_submissions.c.code_id).where(zdj_submissions.c.kenmerk == kenmerk))
        return None if owner is None else int(owner)

    async def web_filings(self, code_id: int) -> list[WebFiling]:
        last = (
            select(statuses.c.code)
            .where(statuses.c.kenmerk == zdj_submissions.c.kenmerk)
            .order_by(statuses.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        q = (
            select(zdj_submissions, submissions.c.final_status, last.label("last_status"))
            .join(submissions, submissions.c.kenmerk == zdj_submissions.c.kenmerk)
            .where(zdj_submissions.c.code_id == code_id)
            .order_by(zdj_submissions.c.created_at.desc())
        )
        async with self.store.engine.connect() as conn:
            return [
                WebFiling(r.kenmerk, r.kvk_number, r.bestandsnaam, r.created_at, r.final_status, r.last_status)
                for r in await conn.execute(q)
            ]
