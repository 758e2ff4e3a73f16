"""``gateway zdj``: the operators' commands for branches, access codes, letters,
authorisations and the access-code mails. Every command that changes something asks who
(``--actor``, or ``GATEWAY_OPERATOR``) and records it with the time and the reason."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

import click

from gateway.notify.transport import make_transport
from gateway.settings import Settings
from gateway.store.access_codes import AccessCode, ZdjError
from gateway.store.db import Store
from gateway.web import codes
from gateway.web.rules import BLOCK_REASONS
from gateway.web.service import Service

actor_option = click.option("--actor", envvar="GATEWAY_OPERATOR", required=True, help="Who does this (recorded).")


def _with_service(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        settings = Settings.from_env()

        async def main() -> Any:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            store = Store.from_url(settings.effective_database_url)
            try:
                await store.init_schema()
                return await fn(Service(store), settings, *args, **kwargs)
            except ZdjError as exc:
                raise click.ClickException(exc.message) from None
            finally:
                await store.close()

        return asyncio.run(main())

    return wrapper


def _when(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO date-time: {value}") from None
    if parsed.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-11-24T14:30+01:00")
    return parsed


def _code_json(c: AccessCode) -> dict[str, Any]:
    return {
        "code": codes.display(c.code),
        "branch": c.vestigingsnummer,
        "kvk_number": c.kvk_number,
        "holder": c.holder_name,
        "email": c.holder_email,
        "delivery": c.delivery,
        "state": c.state,
        "reason": c.state_reason,
        "by": c.state_by,
        "at": c.state_at.isoformat(),
    }


def _echo_code(c: AccessCode) -> None:
    click.echo(f"{codes.display(c.code)}  {c.state}  branch {c.vestigingsnummer}  {c.holder_name} <{c.holder_email}>")
    if c.state != "active" or c.state_reason:
        click.echo(f"  {c.state} by {c.state_by} at {c.state_at.isoformat()}: {c.state_reason}")


@click.group()
def zdj() -> None:
    """Zelf Deponeren: access codes, branches, letters, authorisations."""


# ----------------------------------------------------------------------- branches


@zdj.group()
def branch() -> None:
    """Branches (vestigingen) that access codes belong to."""


@branch.command("add")
@click.argument("vestigingsnummer")
@click.option("--kvk", "kvk_number", required=True)
@click.option("--name", required=True)
@actor_option
@_with_service
async def branch_add(
    svc: Service, settings: Settings, vestigingsnummer: str, kvk_number: str, name: str, actor: str
) -> None:
    if not (vestigingsnummer.isdigit() and len(vestigingsnummer) == 12):
        raise click.BadParameter("a vestigingsnummer has 12 digits")
    if await svc.store.get_company(kvk_number) is None:
        raise click.ClickException(f"KVK {kvk_number} is not in the register (gateway register import)")
    await svc.codes.add_branch(vestigingsnummer, kvk_number, name, actor)
    click.echo(f"branch {vestigingsnummer} of KVK {kvk_number} added")


@branch.command("close")
@click.argument("vestigingsnummer")
@click.option("--reason", required=True)
@actor_option
@_with_service
async def branch_close(svc: Service, settings: Settings, vestigingsnummer: str, reason: str, actor: str) -> None:
    """Close a branch: its access codes are closed and it gets no new ones."""
    closed = await svc.codes.close_branch(vestigingsnummer, actor, reason)
    click.echo(f"branch {vestigingsnummer} closed; access codes closed: {len(closed)}")
    for c in closed:
        click.echo(f"  {codes.display(c)}")


# ----------------------------------------------------------------------- codes


@zdj.group()
def code() -> None:
    """Access codes."""


@code.command("issue")
@click.option("--branch", "vestigingsnummer", required=True)
@click.option("--name", required=True, help="The person the code is for (one code per person).")
@click.option("--email", required=True, help="The email address given in the application.")
@click.option("--requested-at", help="When the application came in (ISO with zone); default now.")
@actor_option
@_with_service
async def code_issue(
    svc: Service, settings: Settings, vestigingsnummer: str, name: str, email: str, requested_at: str | None, actor: str
) -> None:
    """Issue a code: by email when the address is the company's registered one, else by post."""
    issued = await svc.issue(vestigingsnummer, name, email, actor, _when(requested_at))
    click.echo(f"issued {codes.display(issued.code.code)} to {name}, delivery: {issued.delivery}")
    if issued.delivery == "post":
        click.echo(f"letter queued for printing: dispatch on {issued.dispatch_on}, delivered by {issued.deliver_by}")
    else:
        sent = await svc.send_mails(make_transport(settings.smtp_url, settings.maildir, timeout=10), settings.mail_from)
        click.echo("mail sent" if sent else "mail queued (the mail server did not take it yet; retried)")


@code.command("block")
@click.argument("access_code")
@click.option("--reason", type=click.Choice(BLOCK_REASONS), required=True)
@click.option("--note", default="", help="E.g. the invoice number.")
@click.option("--requested-at", help="For --reason on_request: when the holder asked (ISO with zone).")
@actor_option
@_with_service
async def code_block(
    svc: Service, settings: Settings, access_code: str, reason: str, note: str, requested_at: str | None, actor: str
) -> None:
    when = _when(requested_at) if requested_at else None
    _echo_code(await svc.block(access_code, reason, actor, note, requested_at=when))


@code.command("unblock")
@click.argument("access_code")
@click.option("--note", required=True, help="Why: e.g. 'invoice 2026-0042 paid on 2026-11-20'.")
@actor_option
@_with_service
async def code_unblock(svc: Service, settings: Settings, access_code: str, note: str, actor: str) -> None:
    _echo_code(await svc.unblock(access_code, actor, note))


@code.command("close")
@click.argument("access_code")
@click.option("--reason", required=True)
@click.option("--requested-at", help="When the holder asked (ISO with zone).")
@actor_option
@_with_service
async def code_close(
    svc: Service, settings: Settings, access_code: str, reason: str, requested_at: str | None, actor: str
) -> None:
    when = _when(requested_at) if requested_at else None
    _echo_code(await svc.close(access_code, actor, reason, requested_at=when))


@code.command("show")
@click.argument("access_code")
@click.option("--json", "as_json", is_flag=True)
@_with_service
async def code_show(svc: Service, settings: Settings, access_code: str, as_json: bool) -> None:
    """A code, its state and its whole history."""
    found = await svc.codes.get(codes.normalise(access_code))
    if found is None:
        raise click.ClickException("no such access code")
    history = await svc.codes.history(found.id)
    if as_json:
        events = [
            {"action": e.action, "actor": e.actor, "reason": e.reason, "at": e.at.isoformat(), "detail": e.detail}
            for e in history
        ]
        click.echo(json.dumps({**_code_json(found), "history": events}, indent=2))
        return
    _echo_code(found)
    for e in history:
        click.echo(f"  {e.at.isoformat()}  {e.action:<24} {e.actor}  {e.reason or ''}")


@code.command("list")
@click.option("--state", type=click.Choice(["active", "blocked", "closed"]))
@click.option("--kvk", "kvk_number")
@click.option("--json", "as_json", is_flag=True)
@_with_service
async def code_list(svc: Service, settings: Settings, state: str | None, kvk_number: str | None, as_json: bool) -> None:
    found = await svc.codes.list_codes(state=state, kvk_number=kvk_number)
    if as_json:
        click.echo(json.dumps([_code_json(c) for c in found], indent=2))
        return
    for c in found:
        _echo_code(c)


# ----------------------------------------------------------------------- letters


@zdj.group()
def letters() -> None:
    """Letters queued for printing (access codes by post, authorisation requests)."""


@letters.command("list")
@click.option("--state", type=click.Choice(["queued", "printed"]), default="queued", show_default=True)
@_with_service
async def letters_list(svc: Service, settings: Settings, state: str) -> None:
    for x in await svc.codes.letters(state=state):
        first = x.recipient.splitlines()[0]
        click.echo(f"{x.id:>5}  {x.kind:<14} dispatch {x.dispatch_on}  deliver by {x.deliver_by}  {first}")


@letters.command("print")
@click.argument("letter_id", type=int)
@actor_option
@_with_service
async def letters_print(svc: Service, settings: Settings, letter_id: int, actor: str) -> None:
    """Write the letter to stdout for the printer and mark it printed (its password is then
    removed from the database)."""
    letter = await svc.codes.get_letter(letter_id)
    if letter is None:
        raise click.ClickException(f"no letter {letter_id}")
    if letter.state != "queued":
        raise click.ClickException(f"letter {letter_id} is already {letter.state}")
    sys.stdout.write(f"{letter.recipient}\n\n{letter.body}\n")
    sys.stdout.flush()
    await svc.mark_printed(letter_id, actor)


# ----------------------------------------------------------------------- authorisations


@zdj.group()
def auth() -> None:
    """Authorisations to file for a business; record the business's answer to the letter."""


@auth.command("list")
@click.option("--state", type=click.Choice(["requested", "approved", "rejected", "removed"]))
@_with_service
async def auth_list(svc: Service, settings: Settings, state: str | None) -> None:
    for a in await svc.codes.authorisations(state=state):
        holder = await svc.codes.get_by_id(a.code_id)
        who = codes.display(holder.code) if holder else "?"
        click.echo(f"{a.id:>5}  {a.state:<9} KVK {a.kvk_number} {a.company_name or ''}  requested by {who}")


def _decide(approve: bool) -> Callable[..., Any]:
    @click.argument("authorisation_id", type=int)
    @click.option("--note", required=True, help="E.g. 'signed reply received 2026-11-23'.")
    @actor_option
    @_with_service
    async def decide(svc: Service, settings: Settings, authorisation_id: int, note: str, actor: str) -> None:
        a = await svc.codes.decide_authorisation(authorisation_id, approve=approve, actor=actor, note=note)
        click.echo(f"authorisation {a.id} for KVK {a.kvk_number}: {a.state}")

    return decide


auth.command("accept", help="Record that the business accepted the request.")(_decide(True))
auth.command("reject", help="Record that the business rejected the request.")(_decide(False))


@zdj.command("send-mails")
@_with_service
async def send_mails(svc: Service, settings: Settings) -> None:
    """Send access-code and replacement-password mails still waiting (after an SMTP failure)."""
    sent = await svc.send_mails(make_transport(settings.smtp_url, settings.maildir, timeout=10), settings.mail_from)
    left = len(await svc.codes.pending_mails())
    click.echo(f"sent {sent}; still waiting {left}")
    if left:
        sys.exit(1)
