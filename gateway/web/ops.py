"""The operators' Zelf Deponeren page on the operators' listener (``/zdj``): issue, block,
unblock and close codes, close branches, record a business's answer to an authorisation
letter, mark letters printed, and see every recorded action.

The operators' listener authenticates with its token (cookie or bearer); forms here add a
double-submit CSRF token of their own: a random value in a SameSite=Strict, HttpOnly cookie
that every form must repeat.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import quote

from aiohttp import web

from gateway.ops import auth
from gateway.settings import Settings
from gateway.store.access_codes import ZdjError
from gateway.store.db import Store
from gateway.web import codes
from gateway.web.ops_views import dashboard
from gateway.web.service import Service

SERVICE = web.AppKey("zdj_service", Service)
SETTINGS = web.AppKey("zdj_settings", Settings)
CSRF_COOKIE = "zdj_ops_csrf"
PATH = "/zdj"

Action = Callable[[Service, dict[str, str], str], Awaitable[str]]


def _listener_csrf(request: web.Request) -> str:
    """The operators' listener's own CSRF field: its middleware checks it besides ours."""
    return auth.csrf_input(request)


async def page(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    svc = request.app[SERVICE]
    body = await dashboard(
        svc, token, request.query.get("msg", ""), request.query.get("err", ""), _listener_csrf(request)
    )
    response = web.Response(text=body, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="Strict", path=PATH)
    return response


async def _issue(svc: Service, f: dict[str, str], actor: str) -> str:
    issued = await svc.issue(f["branch"], f["name"], f["email"], actor, datetime.now(UTC))
    if issued.delivery == "post":
        return f"{codes.display(issued.code.code)} issued; letter dispatch {issued.dispatch_on}, by {issued.deliver_by}"
    return f"{codes.display(issued.code.code)} issued; sent by email"


async def _block(svc: Service, f: dict[str, str], actor: str) -> str:
    c = await svc.block(f["code"], f.get("reason", ""), actor, f.get("note", ""))
    return f"{codes.display(c.code)} blocked"


async def _unblock(svc: Service, f: dict[str, str], actor: str) -> str:
    c = await svc.unblock(f["code"], actor, f.get("note", ""))
    return f"{codes.display(c.code)} unblocked"


async def _close(svc: Service, f: dict[str, str], actor: str) -> str:
    c = await svc.close(f["code"], actor, f.get("note", ""))
    return f"{codes.display(c.code)} closed"


async def _close_branch(svc: Service, f: dict[str, str], actor: str) -> str:
    closed = await svc.codes.close_branch(f["branch"], actor, f.get("note", "") or "gesloten")
    return f"branch {f['branch']} closed with {len(closed)} access code(s)"


async def _decide(svc: Service, f: dict[str, str], actor: str, approve: bool) -> str:
    a = await svc.codes.decide_authorisation(
        int(f["authorisation"]), approve=approve, actor=actor, note=f.get("note", "")
    )
    return f"authorisation {a.id} {a.state}"


async def _accept(svc: Service, f: dict[str, str], actor: str) -> str:
    return await _decide(svc, f, actor, True)


async def _reject(svc: Service, f: dict[str, str], actor: str) -> str:
    return await _decide(svc, f, actor, False)


async def _printed(svc: Service, f: dict[str, str], actor: str) -> str:
    await svc.mark_printed(int(f["letter"]), actor)
    return f"letter {f['letter']} marked printed"


ACTIONS: dict[str, Action] = {
    "issue": _issue,
    "block": _block,
    "unblock": _unblock,
    "close": _close,
    "close_branch": _close_branch,
    "accept": _accept,
    "reject": _reject,
    "printed": _printed,
}


async def act(request: web.Request) -> web.StreamResponse:
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), form.get("csrf", "").encode()):
        return web.json_response({"error": "CSRF token missing or wrong; reload /zdj"}, status=403)
    action = ACTIONS.get(form.get("action", ""))
    actor = form.get("actor", "").strip()
    if action is None or not actor:
        raise web.HTTPSeeOther(f"{PATH}?err={quote('choose an action and say who you are (actor)')}")
    try:
        message = await action(request.app[SERVICE], form, actor)
    except (ZdjError, KeyError, ValueError) as exc:
        text = exc.message if isinstance(exc, ZdjError) else f"missing or bad field: {exc}"
        raise web.HTTPSeeOther(f"{PATH}?err={quote(text)}") from None
    raise web.HTTPSeeOther(f"{PATH}?msg={quote(message)}")


def register(app: web.Application, store: Store, settings: Settings) -> None:
    """Add the ZDJ operator page to the operators' app (called from gateway/ops/app.py)."""
    app[SERVICE] = Service(store)
    app[SETTINGS] = settings
    app.router.add_get(PATH, page)
    app.router.add_post(f"{PATH}/action", act)
