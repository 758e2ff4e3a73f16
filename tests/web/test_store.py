"""The access-code rules in the store, on SQLite and on PostgreSQL, with a real SMTP server
for the mails."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.notify.transport import SmtpTransport
from gateway.store.access_codes import REDACTED, ZdjError
from gateway.web import codes
from gateway.web.service import Service
from tests.support.smtp import SmtpSink
from tests.web.conftest import BRANCH, OTHER_BRANCH

AMS = ZoneInfo("Europe/Amsterdam")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=AMS)


def _password(text: str) -> str:
    m = re.search(r"wachtwoord[^:]*: (\S+)", text)
    assert m, text
    return m.group(1)


async def test_code_goes_by_email_when_the_applicant_uses_the_registered_address(
    service: Service, smtp: SmtpSink
) -> None:
    issued = await service.issue(BRANCH, "An de Vries", " administratie@voorbeeld.TEST ", "op1", MONDAY_10)
    assert issued.delivery == "email" and issued.dispatch_on is None
    assert codes.is_well_formed(issued.code.code) and issued.code.state == "active"
    assert await service.codes.letters() == []
    pending = await service.codes.pending_mails()
    assert len(pending) == 1 and codes.display(issued.code.code) in pending[0].body
    # The stored password is an argon2 hash, never the password itself.
    password = _password(pending[0].body)
    assert password not in issued.code.password_hash
    assert codes.verify_password(issued.code.password_hash, password)

    before = len(smtp.messages)
    assert await service.send_mails(SmtpTransport(smtp.url, timeout=10), "gw@test") == 1
    mail = smtp.messages[before]
    assert mail["To"] == "administratie@voorbeeld.TEST"
    assert codes.display(issued.code.code) in mail.get_content()
    # Sent: the clear password is gone from the database.
    rows = await service.codes.mails_for(issued.code.id)
    assert rows[0].state == "sent" and rows[0].body == REDACTED
    history = await service.codes.history(issued.code.id)
    assert [(e.action, e.actor) for e in history] == [("issued", "op1")]
    assert history[0].detail == {"delivery": "email", "mail_id": rows[0].id}


async def test_code_goes_by_post_otherwise_with_the_dispatch_and_delivery_dates(service: Service) -> None:
    issued = await service.issue(
        BRANCH, "Bo Jansen", "bo@elders.test", "op1", datetime(2026, 11, 27, 15, 1, tzinfo=AMS)
    )
    assert issued.delivery == "post"
    assert (issued.dispatch_on, issued.deliver_by) == ("2026-11-30", "2026-12-07")  # Friday after 15:00
    assert await service.codes.pending_mails() == []
    [letter] = await service.codes.letters(state="queued")
    assert letter.kind == "access_code" and letter.code_id == issued.code.id
    assert "Kerkstraat 12" in letter.recipient and "1234AB Utrecht" in letter.recipient
    assert codes.display(issued.code.code) in letter.body
    password = _password(letter.body)
    await service.mark_printed(letter.id, "printer-op")
    printed = await service.codes.get_letter(letter.id)
    assert printed is not None and printed.state == "printed" and printed.printed_by == "printer-op"
    assert password not in printed.body and codes.display(issued.code.code) in printed.body
    with pytest.raises(ZdjError) as err:
        await service.mark_printed(letter.id, "printer-op")
    assert err.value.reason == "wrong_state"
    actions = [e.action for e in await service.codes.history(issued.code.id)]
    assert actions == ["issued", "letter_printed"]


async def test_one_code_per_person_per_organisation(service: Service) -> None:
    first = await service.issue(BRANCH, "An", "an@x.test", "op", MONDAY_10)
    with pytest.raises(ZdjError) as err:
        await service.issue(BRANCH, " an ", "AN@x.test", "op", MONDAY_10)
    assert err.value.reason == "person_has_code"
    # Another person behind the same (shared) mailbox gets a code of their own.
    await service.issue(BRANCH, "Bram", "an@x.test", "op", MONDAY_10)
    # "You need an access code and password for each BV": another organisation is fine.
    await service.issue(OTHER_BRANCH, "An", "an@x.test", "op", MONDAY_10)
    # Once the code is closed the person may get a new one.
    await service.close(first.code.code, "op", "lost")
    again = await service.issue(BRANCH, "An", "an@x.test", "op", MONDAY_10)
    assert again.code.code != first.code.code


async def test_closing_a_branch_closes_its_codes_and_refuses_new_ones(service: Service) -> None:
    a = await service.issue(BRANCH, "A", "a@x.test", "op", MONDAY_10)
    b = await service.issue(BRANCH, "B", "b@x.test", "op", MONDAY_10)
    await service.block(b.code.code, "unpaid_invoice", "op")
    other = await service.issue(OTHER_BRANCH, "C", "c@x.test", "op", MONDAY_10)
    closed = await service.codes.close_branch(BRANCH, "op2", "vestiging opgeheven")
    assert sorted(closed) == sorted([a.code.code, b.code.code])
    for c in (a, b):
        now = await service.codes.get(c.code.code)
        assert now is not None and now.state == "closed" and now.state_by == "op2"
        assert "vestiging opgeheven" in (now.state_reason or "")
        assert [e.action for e in await service.codes.history(c.code.id)][-1] == "closed"
    still = await service.codes.get(other.code.code)
    assert still is not None and still.state == "active"
    with pytest.raises(ZdjError) as err:
        await service.issue(BRANCH, "D", "d@x.test", "op", MONDAY_10)
    assert err.value.reason == "branch_closed"
    branch = await service.codes.get_branch(BRANCH)
    assert branch is not None and branch.state == "closed" and branch.closed_by == "op2"


async def test_block_unblock_close_with_reason_who_when_and_history(service: Service) -> None:
    issued = await service.issue(BRANCH, "A", "a@x.test", "op", MONDAY_10)
    code = codes.display(issued.code.code).lower()  # operators may type it as shown
    with pytest.raises(ZdjError):
        await service.block(code, "because", "op")
    blocked = await service.block(code, "unpaid_invoice", "debiteuren", "factuur 2026-0042")
    assert blocked.state == "blocked" and blocked.state_by == "debiteuren"
    assert "factuur 2026-0042" in (blocked.state_reason or "") and "invoice unpaid" in (blocked.state_reason or "")
    with pytest.raises(ZdjError) as err:
        await service.block(code, "on_request", "op")
    assert err.value.reason == "wrong_state"
    with pytest.raises(ZdjError):
        await service.unblock(code, "op", " ")
    active = await service.unblock(code, "debiteuren", "factuur 2026-0042 betaald op 2026-11-20")
    assert active.state == "active"
    requested = datetime(2026, 11, 27, 16, 0, tzinfo=AMS)
    await service.block(code, "on_request", "op3", requested_at=requested)
    closed = await service.close(code, "op3", "op verzoek van de houder", requested_at=requested)
    assert closed.state == "closed"
    with pytest.raises(ZdjError):
        await service.unblock(code, "op", "paid")
    history = await service.codes.history(issued.code.id)
    assert [(e.action, e.actor) for e in history] == [
        ("issued", "op"),
        ("blocked", "debiteuren"),
        ("unblocked", "debiteuren"),
        ("blocked", "op3"),
        ("closed", "op3"),
    ]
    # An on-request action records when it was asked and the one-working-day deadline.
    assert history[3].detail == {"kind": "on_request", "requested_at": requested.isoformat(), "due": "2026-11-30"}
    assert all(e.at.tzinfo is UTC for e in history)
    with pytest.raises(ZdjError) as err:
        await service.block("W-AAAA-AAAA-A", "on_request", "op")
    assert err.value.reason == "unknown_code"


async def test_replacement_password_goes_to_the_application_address_only(service: Service) -> None:
    issued = await service.issue(BRANCH, "A", "a@x.test", "op", MONDAY_10)
    letters_before = len(await service.codes.letters())
    assert not await service.replacement_password(issued.code.code, "someone@else.test")
    assert not await service.replacement_password("W-2222-2222-2", "a@x.test")
    assert await service.codes.pending_mails() == []
    assert await service.replacement_password(codes.display(issued.code.code), "A@X.test")
    [mail] = await service.codes.pending_mails()
    assert mail.recipient == "a@x.test" and mail.kind == "replacement_password"
    new = _password(mail.body)
    holder = await service.codes.get(issued.code.code)
    assert holder is not None and holder.must_change_password
    assert codes.verify_password(holder.password_hash, new)
    assert len(await service.codes.letters()) == letters_before
    await service.change_password(holder.id, "een-nieuw-lang-wachtwoord")
    holder = await service.codes.get(issued.code.code)
    assert holder is not None and not holder.must_change_password
    assert [e.action for e in await service.codes.history(holder.id)][-2:] == [
        "replacement_password",
        "password_changed",
    ]


async def test_authorisation_request_letter_decision_and_removal(service: Service) -> None:
    issued = await service.issue(BRANCH, "A", "administratie@voorbeeld.test", "op", MONDAY_10)
    holder = issued.code
    auth = await service.request_authorisation(holder, "87654321")
    assert auth.state == "requested" and auth.company_name == "Andere Zaak B.V."
    [letter] = [x for x in await service.codes.letters() if x.kind == "authorisation"]
    assert letter.authorisation_id == auth.id and "Marktplein 1" in letter.recipient
    assert "financiële administratie" in letter.recipient
    with pytest.raises(ZdjError) as err:
        await service.request_authorisation(holder, "87654321")
    assert err.value.reason == "already_requested"
    with pytest.raises(ZdjError):
        await service.request_authorisation(holder, "11111111")
    assert not await service.codes.is_authorised(holder.id, "87654321")
    approved = await service.codes.decide_authorisation(
        auth.id, approve=True, actor="op4", note="brief getekend retour"
    )
    assert approved.state == "approved" and approved.decided_by == "op4"
    assert await service.codes.is_authorised(holder.id, "87654321")
    with pytest.raises(ZdjError):
        await service.codes.decide_authorisation(auth.id, approve=False, actor="op4", note="")
    await service.codes.remove_authorisation(holder.id, auth.id)
    assert not await service.codes.is_authorised(holder.id, "87654321")
    # Rejected requests are recorded too, and a new request may follow.
    again = await service.request_authorisation(holder, "87654321")
    rejected = await service.codes.decide_authorisation(again.id, approve=False, actor="op4", note="onbekende persoon")
    assert rejected.state == "rejected"
    actions = [e.action for e in await service.codes.history(holder.id)]
    assert actions == [
        "issued",
        "authorisation_requested",
        "authorisation_approved",
        "authorisation_removed",
        "authorisation_requested",
        "authorisation_rejected",
    ]


async def test_a_refused_mail_stays_pending_and_goes_later_once(service: Service, smtp: SmtpSink) -> None:
    issued = await service.issue(BRANCH, "Kees", "administratie@voorbeeld.test", "op", MONDAY_10)
    transport = SmtpTransport(smtp.url, timeout=10)
    smtp.refuse = True
    try:
        assert await service.send_mails(transport, "gw@test") == 0
    finally:
        smtp.refuse = False
    [row] = await service.codes.mails_for(issued.code.id)
    assert row.state == "pending" and row.attempts == 1 and row.last_error
    # Two processes flushing at once: only one may take the mail.
    assert await service.codes.claim_mail(row.id, timedelta(minutes=2))
    assert not await service.codes.claim_mail(row.id, timedelta(minutes=2))
    assert await service.send_mails(transport, "gw@test") == 0  # held by the claim above
    assert await service.codes.claim_mail(row.id, timedelta(seconds=-1))  # a lapsed claim is taken over
    await service.codes.mark_mail(row.id, sent=False, error="test")
    assert await service.send_mails(transport, "gw@test") == 1
    assert await service.send_mails(transport, "gw@test") == 0
    with smtp.lock:
        mine = [m for m in smtp.messages if m["X-Gateway-Zdj"] and codes.display(issued.code.code) in m.get_content()]
    assert len(mine) == 1
