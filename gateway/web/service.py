"""What operators and filers do with access codes, authorisations, letters and mails.

Each rule quotes seeds/kvk-access-codes.txt (A) or seeds/kvk-filing-faq.txt (F). Passwords
exist in clear only in the letter or mail that carries them, and only until it is printed
or sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import structlog

from gateway.domain import utc_now
from gateway.notify.transport import Transport
from gateway.store.access_codes import (
    REDACTED,
    AccessCode,
    AccessCodes,
    Authorisation,
    NewCode,
    NewLetter,
    NewMail,
    ZdjError,
)
from gateway.store.db import Store
from gateway.web import calendar, codes
from gateway.web.rules import BLOCK_REASONS, block_reason_text

log = structlog.get_logger(__name__)

#: How long a process may hold a mail it is sending before another may try it.
MAIL_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Issued:
    code: AccessCode
    delivery: str
    dispatch_on: str | None
    deliver_by: str | None


def _address(company: Any) -> str:
    street = " ".join(p for p in (company.street, company.house_number, company.house_number_suffix) if p)
    place = " ".join(p for p in (company.postal_code, company.city) if p)
    if not street or not place:
        raise ZdjError("no_address", f"the Business Register has no postal address for KVK {company.kvk_number}")
    return f"{company.name}\n{street}\n{place}"


def chooses_email(applicant_email: str, registered_email: str | None) -> bool:
    """A: "we check whether the email address is the same as the email address with which the
    company is listed in the Business Register. Does this check succeed? Then you will soon
    receive the access code by email. Is the check unsuccessful? Then we will send you the
    access code by post." Addresses compare without case and surrounding blanks."""
    if not registered_email:
        return False
    return applicant_email.strip().lower() == registered_email.strip().lower()


def _code_text(name: str, code: str, password: str) -> str:
    return (
        f"Beste {name},\n\n"
        f"Uw persoonlijke KVK-toegangscode: {codes.display(code)}\n"
        f"Uw wachtwoord: {password}\n\n"
        "Wijzig het wachtwoord bij de eerste keer inloggen. De toegangscode is persoonlijk: deel hem niet.\n\n"
        f"Dear {name},\n\nYour personal KVK access code: {codes.display(code)}\nYour password: {password}\n\n"
        "Change the password when you first log in. The access code is personal: do not share it.\n"
    )


class Service:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.codes = AccessCodes(store)

    async def issue(
        self, vestigingsnummer: str, holder_name: str, holder_email: str, actor: str, requested_at: datetime
    ) -> Issued:
        """Issue a personal access code for one branch, delivered by email or by post."""
        branch = await self.codes.get_branch(vestigingsnummer)
        if branch is None:
            raise ZdjError("unknown_branch", f"branch {vestigingsnummer} is not registered")
        company = await self.store.get_company(branch.kvk_number)
        if company is None:
            raise ZdjError("unknown_company", f"KVK {branch.kvk_number} is not in the Business Register")
        code = codes.new_code()
        password = codes.new_password()
        hashed = await asyncio.to_thread(codes.hash_password, password)
        new = NewCode(code, vestigingsnummer, holder_name, holder_email.strip(), hashed, "email")
        if chooses_email(holder_email, company.email):
            mail = NewMail(
                "access_code",
                new.holder_email,
                "Uw KVK-toegangscode / Your KVK access code",
                _code_text(holder_name, code, password),
            )
            issued = await self.codes.issue(new, actor, letter=None, mail=mail)
            return Issued(issued, "email", None, None)
        # A: "on a working day before 15:00 hours? Then we will send it to you the same day.
        # PostNL will deliver it within 5 working days."
        schedule = calendar.post_schedule(requested_at)
        letter = NewLetter(
            recipient=f"T.a.v. {holder_name}\n{_address(company)}",
            body=_code_text(holder_name, code, password),
            requested_at=requested_at,
            dispatch_on=schedule.dispatch_on.isoformat(),
            deliver_by=schedule.deliver_by.isoformat(),
        )
        issued = await self.codes.issue(
            NewCode(code, vestigingsnummer, holder_name, holder_email.strip(), hashed, "post"),
            actor,
            letter=letter,
            mail=None,
        )
        return Issued(issued, "post", letter.dispatch_on, letter.deliver_by)

    async def block(
        self, code: str, kind: str, actor: str, note: str = "", requested_at: datetime | None = None
    ) -> AccessCode:
        """A: unpaid invoice "even after a reminder and a summons? Then your access code is
        blocked", or on request ("You cannot block or close an access code yourself. Contact
        KVK and we will block or close the access code within one working day")."""
        if kind not in BLOCK_REASONS:
            raise ZdjError("bad_reason", f"a block needs a reason: {', '.join(BLOCK_REASONS)}")
        reason = block_reason_text(kind) + (f": {note}" if note else "")
        return await self.codes.change_state(
            codes.normalise(code),
            to="blocked",
            allowed_from=["active"],
            action="blocked",
            actor=actor,
            reason=reason,
            detail={"kind": kind, **_request_detail(requested_at)},
        )

    async def unblock(self, code: str, actor: str, note: str) -> AccessCode:
        """A: "KVK will only unblock the access code after you have paid the invoice." The
        operator states why (the payment, or the holder's request)."""
        if not note.strip():
            raise ZdjError("bad_reason", "say why the code is unblocked (e.g. the invoice paid on ...)")
        return await self.codes.change_state(
            codes.normalise(code), to="active", allowed_from=["blocked"], action="unblocked", actor=actor, reason=note
        )

    async def close(self, code: str, actor: str, reason: str, requested_at: datetime | None = None) -> AccessCode:
        if not reason.strip():
            raise ZdjError("bad_reason", "say why the code is closed")
        return await self.codes.change_state(
            codes.normalise(code),
            to="closed",
            allowed_from=["active", "blocked"],
            action="closed",
            actor=actor,
            reason=reason,
            detail=_request_detail(requested_at),
        )

    async def replacement_password(self, typed_code: str, email: str) -> bool:
        """A: "Request a replacement password and use it to log in. Use the email address you
        used when requesting the access code." True when one was queued; callers show the same
        answer either way, so nobody learns whether a code exists."""
        code = codes.normalise(typed_code)
        found = await self.codes.get(code) if codes.is_well_formed(code) else None
        password = codes.new_password()
        # Hashed either way, so that the answer takes as long whether or not the code exists.
        hashed = await asyncio.to_thread(codes.hash_password, password)
        if found is None or found.state == "closed" or not chooses_email(email, found.holder_email):
            return False
        body = (
            f"Beste {found.holder_name},\n\nUw vervangende wachtwoord voor toegangscode {codes.display(code)}: "
            f"{password}\nLog hiermee in en kies direct een nieuw wachtwoord.\n\n"
            f"Dear {found.holder_name},\n\nYour replacement password for access code {codes.display(code)}: "
            f"{password}\nLog in with it and choose a new password straight away.\n"
        )
        mail = NewMail("replacement_password", found.holder_email, "Vervangend wachtwoord / Replacement password", body)
        await self.codes.set_password(
            found.id, hashed, must_change=True, actor="holder", action="replacement_password", mail=mail
        )
        return True

    async def change_password(self, code_id: int, new_password: str) -> None:
        if len(new_password) < 12:
            raise ZdjError("weak_password", "Kies een wachtwoord van minstens 12 tekens. / At least 12 characters.")
        hashed = await asyncio.to_thread(codes.hash_password, new_password)
        await self.codes.set_password(
            code_id, hashed, must_change=False, actor="holder", action="password_changed", mail=None
        )

    async def request_authorisation(self, holder: AccessCode, kvk_number: str) -> Authorisation:
        """F: "Once authorisation for a business has been requested, the financial
        administration of that business will receive a letter. They will accept or reject the
        request." The letter goes by post to the business's registered address."""
        company = await self.store.get_company(kvk_number)
        if company is None or company.status != "active":
            raise ZdjError("unknown_company", f"KVK-nummer {kvk_number} staat niet (actief) in het Handelsregister.")
        now = utc_now()
        schedule = calendar.post_schedule(now)
        body = (
            "Aan de financiële administratie,\n\n"
            f"{holder.holder_name} (toegangscode {codes.display(holder.code)}) vraagt een machtiging om via Zelf "
            f"Deponeren Jaarrekening de jaarrekening van {company.name} (KVK {kvk_number}) te deponeren.\n"
            "Laat KVK weten of u dit verzoek accepteert of afwijst.\n\n"
            f"To the financial administration: {holder.holder_name} requests authorisation to file the financial "
            f"statements of {company.name} (KVK {kvk_number}) through Zelf Deponeren Jaarrekening. "
            "Let KVK know whether you accept or reject this request.\n"
        )
        letter = NewLetter(
            recipient=f"T.a.v. de financiële administratie\n{_address(company)}",
            body=body,
            requested_at=now,
            dispatch_on=schedule.dispatch_on.isoformat(),
            deliver_by=schedule.deliver_by.isoformat(),
        )
        return await self.codes.request_authorisation(holder.id, kvk_number, letter)

    async def mark_printed(self, letter_id: int, actor: str) -> None:
        letter = await self.codes.get_letter(letter_id)
        if letter is None:
            raise ZdjError("unknown_letter", f"no letter {letter_id}")
        body = letter.body
        if letter.kind == "access_code":
            # The password leaves the database with the printed letter.
            body = "\n".join(REDACTED if ("wachtwoord:" in ln or "password:" in ln) else ln for ln in body.splitlines())
        await self.codes.mark_printed(letter_id, actor, body)

    async def send_mails(self, transport: Transport, mail_from: str) -> int:
        """Send every pending outbox mail; a failure leaves it pending for the next round."""
        sent = 0
        for mail in await self.codes.pending_mails():
            if not await self.codes.claim_mail(mail.id, MAIL_LEASE):
                continue
            msg = EmailMessage()
            msg["From"] = mail_from
            msg["To"] = mail.recipient
            msg["Subject"] = mail.subject
            msg["X-Gateway-Zdj"] = mail.kind
            msg.set_content(mail.body)
            try:
                await transport.send(msg)
            except Exception as exc:  # any SMTP failure: stays pending, retried later
                log.warning("access-code mail not sent", mail_id=mail.id, error=type(exc).__name__)
                await self.codes.mark_mail(mail.id, sent=False, error=type(exc).__name__)
                continue
            await self.codes.mark_mail(mail.id, sent=True)
            sent += 1
        return sent


def _request_detail(requested_at: datetime | None) -> dict[str, Any]:
    if requested_at is None:
        return {}
    return {"requested_at": requested_at.isoformat(), "due": calendar.request_due(requested_at).isoformat()}
