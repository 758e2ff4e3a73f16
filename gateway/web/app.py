"""The ZDJ web pages: log in with access code and password, choose an authorised business,
upload a statement, follow its statuses and findings.

Served on its own HTTPS listener (``GATEWAY_WEB_PORT``), because the filers' SOAP port
demands a PKIoverheid client certificate that a browser user does not have. Every form
carries the session's CSRF token; every POST checks it.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import structlog
from aiohttp import web
from arq.connections import ArqRedis

from gateway.domain import utc_now
from gateway.notify.transport import Transport
from gateway.queue.jobs import enqueue_processing
from gateway.resources import berichtsoorten
from gateway.settings import Settings
from gateway.store.access_codes import AccessCode, ZdjError
from gateway.store.db import Sender, Store
from gateway.web import codes, views
from gateway.web.rules import accepted_extensions, login_policy, route_for
from gateway.web.service import Service
from gateway.web.sessions import COOKIE, Session, Sessions, Throttle, csrf_ok
from gateway.wus.messages import AanleverRequest, Identiteit, Part

log = structlog.get_logger(__name__)

BASE = "/zelf-deponeren"
SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
POOL = web.AppKey("pool", ArqRedis)
SERVICE = web.AppKey("service", Service)
SESSIONS = web.AppKey("sessions", Sessions)
THROTTLE = web.AppKey("throttle", Throttle)
TRANSPORT = web.AppKey("transport", Transport)
#: Tasks started beside an answer (kept referenced until done).
TASKS = web.AppKey("tasks", set[asyncio.Task[Any]])

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=31536000",
}


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every answer; a failure is a plain page, never a trace."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure_headers(exc)
        raise
    except Exception:
        log.exception("web page failed", path=request.path)
        response = views.html(views.technical_error(), status=503)
    _secure_headers(response)
    return response


def _secure_headers(response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)


def _background(app: web.Application, work: Coroutine[Any, Any, Any]) -> None:
    tasks = app[TASKS]
    task = asyncio.create_task(work)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def _set_cookie(response: web.StreamResponse, session: Session) -> None:
    response.set_cookie(COOKIE, session.id, secure=True, httponly=True, samesite="Strict", path="/")


async def _session(request: web.Request) -> Session | None:
    return await request.app[SESSIONS].get(request.cookies.get(COOKIE))


async def _anonymous(request: web.Request) -> Session:
    return await _session(request) or await request.app[SESSIONS].create(None)


async def _form(request: web.Request) -> tuple[Session, dict[str, str]]:
    """The posted form, after its CSRF token has been checked against the session."""
    session = await _session(request)
    data = await request.post()
    if not csrf_ok(session, str(data.get("csrf", ""))):
        raise views.forbidden(views.csrf_refused())
    assert session is not None
    return session, {k: v for k, v in data.items() if isinstance(v, str)}


async def _holder(request: web.Request, session: Session | None, *, allow_must_change: bool = False) -> AccessCode:
    """The logged-in access code; only an active one keeps its session."""
    if session is None or session.code_id is None:
        raise web.HTTPSeeOther(f"{BASE}/")
    holder = await request.app[SERVICE].codes.get_by_id(session.code_id)
    if holder is None or holder.state != "active":
        await request.app[SESSIONS].drop(session.id)
        raise web.HTTPSeeOther(f"{BASE}/")
    if holder.must_change_password and not allow_must_change:
        raise web.HTTPSeeOther(f"{BASE}/wachtwoord")
    return holder


async def _public_page(request: web.Request, render: Callable[[str], str]) -> web.StreamResponse:
    """A page before log-in: its forms need a session (for the CSRF token), so it gets one."""
    session = await _anonymous(request)
    response = views.html(render(session.csrf))
    _set_cookie(response, session)
    return response


# ----------------------------------------------------------------------- log-in


async def login_page(request: web.Request) -> web.StreamResponse:
    return await _public_page(request, views.login)


async def login(request: web.Request) -> web.StreamResponse:
    throttle = request.app[THROTTLE]
    if not await throttle.address_allowed(request.remote or "-"):
        return views.html(views.login("", views.TOO_MANY_FROM_ADDRESS), status=429)
    session, form = await _form(request)
    code = codes.normalise(form.get("code", ""))
    if not codes.is_well_formed(code):
        # A format check only: says nothing about which codes exist.
        return views.html(views.login(session.csrf, views.MALFORMED), status=400)
    locked = await throttle.locked_for(code)
    if locked:
        return views.html(views.login(session.csrf, views.locked(locked)), status=429)
    service = request.app[SERVICE]
    found = await service.codes.get(code)
    ok = await asyncio.to_thread(
        codes.verify_password, found.password_hash if found else None, form.get("password", "")
    )
    if not ok or found is None:
        return await _failed(request, session, code, found)
    await throttle.succeeded(code)
    if found.state != "active":
        return views.html(views.login(session.csrf, views.not_active(found)), status=403)
    # A new session id at log-in: a session fixed before log-in is worth nothing after it.
    await request.app[SESSIONS].drop(session.id)
    fresh = await request.app[SESSIONS].create(found.id)
    response = web.HTTPSeeOther(f"{BASE}/wachtwoord" if found.must_change_password else f"{BASE}/overzicht")
    _set_cookie(response, fresh)
    log.info("zdj log-in", code_id=found.id)
    return response


async def _failed(request: web.Request, session: Session, code: str, found: AccessCode | None) -> web.StreamResponse:
    if await request.app[THROTTLE].failed(code):
        if found is not None:
            # Recorded beside the answer, so that its time is the same for unknown codes.
            codes_store = request.app[SERVICE].codes
            _background(
                request.app, codes_store.record("locked_out", "system", code_id=found.id, reason="te veel pogingen")
            )
        message = views.locked(request.app[THROTTLE].policy.lock_seconds)
        return views.html(views.login(session.csrf, message), status=429)
    return views.html(views.login(session.csrf, views.WRONG), status=401)


async def logout(request: web.Request) -> web.StreamResponse:
    session, _ = await _form(request)
    await request.app[SESSIONS].drop(session.id)
    response = web.HTTPSeeOther(f"{BASE}/")
    response.del_cookie(COOKIE, path="/")
    return response


async def replacement_page(request: web.Request) -> web.StreamResponse:
    return await _public_page(request, views.replacement)


async def replacement(request: web.Request) -> web.StreamResponse:
    if not await request.app[THROTTLE].address_allowed(request.remote or "-"):
        return views.html(views.replacement("", views.TOO_MANY_FROM_ADDRESS), status=429)
    session, form = await _form(request)
    service = request.app[SERVICE]
    if await service.replacement_password(form.get("code", ""), form.get("email", "")):
        # Sent beside the answer, not before it: its time must not tell that a code matched.
        # The mail is in the outbox already; the server's flush loop retries it if this fails.
        _background(request.app, service.send_mails(request.app[TRANSPORT], request.app[SETTINGS].mail_from))
    # The same answer whether or not the code exists and the address matches.
    return views.html(views.replacement(session.csrf, sent=True))


async def application_page(request: web.Request) -> web.StreamResponse:
    return await _public_page(request, views.application)


async def apply(request: web.Request) -> web.StreamResponse:
    """A business applies for a personal access code for one branch (A: 'Voor bedrijven en
    organisaties'); it comes by email or by post as the register's address decides."""
    if not await request.app[THROTTLE].address_allowed(request.remote or "-"):
        return views.html(views.application("", views.TOO_MANY_FROM_ADDRESS), status=429)
    session, form = await _form(request)
    vestiging, name, email = (form.get(k, "").strip() for k in ("vestigingsnummer", "name", "email"))
    if not (re.fullmatch(r"\d{12}", vestiging) and name and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)):
        return views.html(views.application(session.csrf, views.INCOMPLETE), status=400)
    service = request.app[SERVICE]
    try:
        issued = await service.issue(vestiging, name[:255], email[:320], "aanvrager", utc_now())
    except ZdjError as exc:
        return views.html(views.application(session.csrf, views.application_refused(exc)), status=400)
    if issued.delivery == "email":
        await service.send_mails(request.app[TRANSPORT], request.app[SETTINGS].mail_from)
    return views.html(views.applied(issued))


async def password_page(request: web.Request) -> web.StreamResponse:
    session = await _session(request)
    holder = await _holder(request, session, allow_must_change=True)
    assert session is not None
    return views.html(views.password(session.csrf, holder))


async def change_password(request: web.Request) -> web.StreamResponse:
    session, form = await _form(request)
    holder = await _holder(request, session, allow_must_change=True)
    ok = await asyncio.to_thread(codes.verify_password, holder.password_hash, form.get("current", ""))
    if not ok:
        return views.html(views.password(session.csrf, holder, views.WRONG_CURRENT), status=400)
    if form.get("new", "") != form.get("repeat", ""):
        return views.html(views.password(session.csrf, holder, views.NO_MATCH), status=400)
    try:
        await request.app[SERVICE].change_password(holder.id, form.get("new", ""))
    except ZdjError as exc:
        return views.html(views.password(session.csrf, holder, exc.message), status=400)
    raise web.HTTPSeeOther(f"{BASE}/overzicht")


# ----------------------------------------------------------------------- businesses


async def overview(request: web.Request) -> web.StreamResponse:
    session = await _session(request)
    holder = await _holder(request, session)
    assert session is not None
    service = request.app[SERVICE]
    auths = await service.codes.authorisations(code_id=holder.id)
    filings = await service.codes.web_filings(holder.id)
    return views.html(views.overview(session.csrf, holder, auths, filings, request.query.get("melding", "")))


async def request_authorisation(request: web.Request) -> web.StreamResponse:
    session, form = await _form(request)
    holder = await _holder(request, session)
    kvk = form.get("kvk", "").strip()
    service = request.app[SERVICE]
    try:
        if not re.fullmatch(r"\d{8}", kvk):
            raise ZdjError("bad_kvk", "Een KVK-nummer bestaat uit 8 cijfers. / A KVK number has 8 digits.")
        await service.request_authorisation(holder, kvk)
    except ZdjError as exc:
        auths = await service.codes.authorisations(code_id=holder.id)
        filings = await service.codes.web_filings(holder.id)
        return views.html(views.overview(session.csrf, holder, auths, filings, "", error=exc.message), status=400)
    raise web.HTTPSeeOther(f"{BASE}/overzicht?melding=aangevraagd")


async def remove_authorisation(request: web.Request) -> web.StreamResponse:
    session, _ = await _form(request)
    holder = await _holder(request, session)
    try:
        await request.app[SERVICE].codes.remove_authorisation(holder.id, int(request.match_info["auth_id"]))
    except (ZdjError, ValueError):
        raise web.HTTPNotFound() from None
    raise web.HTTPSeeOther(f"{BASE}/overzicht?melding=verwijderd")


async def _authorised_company(request: web.Request, holder: AccessCode) -> tuple[str, str]:
    kvk = request.match_info["kvk"]
    if not re.fullmatch(r"\d{8}", kvk) or not await request.app[SERVICE].codes.is_authorised(holder.id, kvk):
        raise views.forbidden(views.not_authorised())
    company = await request.app[STORE].get_company(kvk)
    return kvk, company.name if company is not None else kvk


async def business_page(request: web.Request) -> web.StreamResponse:
    session = await _session(request)
    holder = await _holder(request, session)
    assert session is not None
    kvk, name = await _authorised_company(request, holder)
    return views.html(_upload_page(session, kvk, name))


def _safe_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    return (cleaned or "jaarrekening.xbrl")[-80:]


async def upload(request: web.Request) -> web.StreamResponse:
    session = await _session(request)
    holder = await _holder(request, session)
    assert session is not None
    kvk, name = await _authorised_company(request, holder)
    try:
        data = await request.post()
    except web.HTTPRequestEntityTooLarge:
        return views.html(_upload_page(session, kvk, name, views.too_large(request.app[SETTINGS])), status=413)
    if not csrf_ok(session, str(data.get("csrf", ""))):
        return views.html(views.csrf_refused(), status=403)
    field = data.get("jaarrekening")
    if not isinstance(field, web.FileField):
        return views.html(_upload_page(session, kvk, name, views.NO_FILE), status=400)
    content = field.file.read()
    problem = _upload_problem(field.filename or "", content)
    if problem:
        return views.html(_upload_page(session, kvk, name, problem), status=400)
    kenmerk = await _file(request, holder, kvk, field, content)
    raise web.HTTPSeeOther(f"{BASE}/deponering/{kenmerk}")


def _upload_page(session: Session, kvk: str, name: str, message: str = "") -> str:
    return views.upload(session.csrf, kvk, name, message, accepted_extensions(set(berichtsoorten())))


def _upload_problem(filename: str, content: bytes) -> str:
    if not content:
        return views.NO_FILE
    berichtsoort = route_for(filename)
    if berichtsoort is None:
        return views.WRONG_TYPE
    if berichtsoort not in berichtsoorten():
        return views.NOT_YET
    return ""


async def _file(request: web.Request, holder: AccessCode, kvk: str, field: web.FileField, content: bytes) -> str:
    """Make the upload a submission like any other: stored with 105/100, then queued."""
    app = request.app
    filename = _safe_filename(field.filename or "")
    berichtsoort = route_for(filename) or ""
    kenmerk = str(uuid.uuid4())
    req = AanleverRequest(
        berichtsoort=berichtsoort,
        identiteit_belanghebbende=Identiteit(kvk, "KvK"),
        rol_belanghebbende="Bedrijf",
        parts=(Part(0, field.content_type or "application/xml", filename, content),),
        aanleverkenmerk=f"ZDJ-{kenmerk[:8]}",
    )
    # Written first: the worker must know a web filing (for GW-ZDJ-01) before it can see it.
    await app[SERVICE].codes.record_web_filing(kenmerk, holder.id, kvk, filename)
    # The "message" of this channel is the upload itself; the sender is the code holder.
    sender = Sender(subject=f"ZDJ {holder.code}", oin=None)
    await app[STORE].record_submission(kenmerk, req, content, sender, holder.holder_email, utc_now())
    await enqueue_processing(app[POOL], kenmerk, 1, app[SETTINGS].queue_name)
    log.info("zdj submission received", kenmerk=kenmerk, code_id=holder.id, size=len(content))
    return kenmerk


async def filing(request: web.Request) -> web.StreamResponse:
    session = await _session(request)
    holder = await _holder(request, session)
    kenmerk = request.match_info["kenmerk"]
    store = request.app[STORE]
    if await request.app[SERVICE].codes.web_filing_owner(kenmerk) != holder.id:
        raise web.HTTPNotFound(text="Onbekende deponering. / Unknown filing.")
    sub = await store.get_submission(kenmerk)
    if sub is None:
        raise web.HTTPNotFound(text="Onbekende deponering. / Unknown filing.")
    history = await store.status_history(kenmerk)
    found = await store.findings_for(kenmerk, sub.run)
    mails = await store.notifications_for(kenmerk)
    return views.html(views.filing(sub, history, found, mails))


async def to_login(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"{BASE}/")


def create_web_app(settings: Settings, store: Store, pool: ArqRedis, transport: Transport) -> web.Application:
    policy = login_policy()
    # Room for one statement part plus the form around it.
    app = web.Application(middlewares=[guard], client_max_size=settings.max_part_bytes + 64 * 1024)
    app[SETTINGS] = settings
    app[STORE] = store
    app[POOL] = pool
    app[SERVICE] = Service(store)
    app[SESSIONS] = Sessions(pool, policy.session_idle_seconds)
    app[THROTTLE] = Throttle(pool, policy)
    app[TRANSPORT] = transport
    app[TASKS] = set()
    r = app.router
    r.add_get("/", to_login)
    r.add_get(f"{BASE}", to_login)
    r.add_get(f"{BASE}/", login_page)
    r.add_post(f"{BASE}/inloggen", login)
    r.add_post(f"{BASE}/uitloggen", logout)
    r.add_get(f"{BASE}/vervangend-wachtwoord", replacement_page)
    r.add_post(f"{BASE}/vervangend-wachtwoord", replacement)
    r.add_get(f"{BASE}/aanvragen", application_page)
    r.add_post(f"{BASE}/aanvragen", apply)
    r.add_get(f"{BASE}/wachtwoord", password_page)
    r.add_post(f"{BASE}/wachtwoord", change_password)
    r.add_get(f"{BASE}/overzicht", overview)
    r.add_post(f"{BASE}/machtiging", request_authorisation)
    r.add_post(f"{BASE}/machtiging/{{auth_id}}/verwijderen", remove_authorisation)
    r.add_get(f"{BASE}/bedrijf/{{kvk}}", business_page)
    r.add_post(f"{BASE}/bedrijf/{{kvk}}", upload)
    r.add_get(f"{BASE}/deponering/{{kenmerk}}", filing)
    return app
