"""HTML of the operators' Zelf Deponeren page."""

from __future__ import annotations

from gateway.store.access_codes import AccessCode, Authorisation, Event, Letter
from gateway.web import codes
from gateway.web.html import csrf_field, error, esc, notice, page
from gateway.web.rules import BLOCK_REASONS
from gateway.web.service import Service

ACTOR = '<input name="actor" placeholder="your name" required>'


def _form(csrf: str, action: str, fields: str, label: str) -> str:
    """``csrf``: the hidden token field(s) every form carries."""
    return (
        f'<form class="inline" method="post" action="/zdj/action">{csrf}'
        f'<input type="hidden" name="action" value="{esc(action)}">{fields}{ACTOR}'
        f'<button type="submit" name="do" value="{esc(action)}">{esc(label)}</button></form>'
    )


def _code_actions(csrf: str, c: AccessCode) -> str:
    hidden = f'<input type="hidden" name="code" value="{esc(c.code)}">'
    if c.state == "active":
        reasons = "".join(f'<option value="{esc(r)}">{esc(r)}</option>' for r in BLOCK_REASONS)
        block = _form(csrf, "block", f'{hidden}<select name="reason">{reasons}</select><input name="note">', "block")
        return block + _form(csrf, "close", f'{hidden}<input name="note" placeholder="reason">', "close")
    if c.state == "blocked":
        return _form(csrf, "unblock", f'{hidden}<input name="note" placeholder="e.g. invoice paid">', "unblock") + (
            _form(csrf, "close", f'{hidden}<input name="note" placeholder="reason">', "close")
        )
    return ""


def _codes(csrf: str, all_codes: list[AccessCode]) -> str:
    rows = "".join(
        f"<tr id='code-{esc(c.code)}'><td>{esc(codes.display(c.code))}</td><td>{esc(c.holder_name)}</td>"
        f"<td>{esc(c.vestigingsnummer)}</td><td class=state>{esc(c.state)}</td><td>{esc(c.state_reason or '')}"
        f"<br><small>{esc(c.state_by or '')} {esc(c.state_at.isoformat(timespec='seconds'))}</small></td>"
        f"<td>{_code_actions(csrf, c)}</td></tr>"
        for c in all_codes
    )
    return (
        "<h3>Access codes</h3><table><tr><th>Code</th><th>Holder</th><th>Branch</th><th>State</th><th>Why</th>"
        f"<th></th></tr>{rows}</table>"
    )


def _auths(csrf: str, auths: list[Authorisation]) -> str:
    rows = "".join(
        f"<tr><td>{a.id}</td><td>{esc(a.kvk_number)} {esc(a.company_name or '')}</td><td>"
        + _form(
            csrf,
            "accept",
            f'<input type="hidden" name="authorisation" value="{a.id}"><input name="note" placeholder="note">',
            "accept",
        )
        + _form(
            csrf,
            "reject",
            f'<input type="hidden" name="authorisation" value="{a.id}"><input name="note" placeholder="note">',
            "reject",
        )
        + "</td></tr>"
        for a in auths
    )
    return f"<h3>Authorisations awaiting the business's answer</h3><table>{rows}</table>"


def _letters(csrf: str, letters: list[Letter]) -> str:
    rows = "".join(
        f"<tr><td>{x.id}</td><td>{esc(x.kind)}</td><td>{esc(x.dispatch_on)}</td><td>{esc(x.deliver_by)}</td>"
        f"<td><pre>{esc(x.recipient)}</pre></td><td>"
        + _form(csrf, "printed", f'<input type="hidden" name="letter" value="{x.id}">', "mark printed")
        + "</td></tr>"
        for x in letters
    )
    return (
        "<h3>Letters to print</h3><p><small>Print with <code>gateway zdj letters print ID</code>.</small></p>"
        f"<table><tr><th>#</th><th>Kind</th><th>Dispatch</th><th>Deliver by</th><th>To</th><th></th></tr>{rows}</table>"
    )


def _events(events: list[Event]) -> str:
    rows = "".join(
        f"<tr><td>{esc(e.at.isoformat(timespec='seconds'))}</td><td>{esc(e.action)}</td><td>{esc(e.actor)}</td>"
        f"<td>{esc(e.code_id or '')}</td><td>{esc(e.vestigingsnummer or '')}</td><td>{esc(e.reason or '')}</td></tr>"
        for e in events
    )
    return f"<h3>Recorded actions</h3><table>{rows}</table>"


async def dashboard(svc: Service, token: str, msg: str, err: str, extra_fields: str = "") -> str:
    """``token``: this page's double-submit token; ``extra_fields``: hidden fields the
    operators' listener wants in every form (its own CSRF token, where it has one)."""
    csrf = csrf_field(token) + extra_fields
    issue = _form(
        csrf,
        "issue",
        '<input name="branch" placeholder="vestigingsnummer"><input name="name" placeholder="holder">'
        '<input name="email" placeholder="application email">',
        "issue",
    )
    branch = _form(
        csrf, "close_branch", '<input name="branch" placeholder="vestigingsnummer"><input name="note">', "close branch"
    )
    body = (
        notice(msg)
        + error(err)
        + f"<h3>Issue a code</h3>{issue}<h3>Close a branch</h3>{branch}"
        + _codes(csrf, await svc.codes.list_codes())
        + _auths(csrf, await svc.codes.authorisations(state="requested"))
        + _letters(csrf, await svc.codes.letters(state="queued"))
        + _events(await svc.codes.events(limit=50))
    )
    return page("Zelf Deponeren – operators", body)
