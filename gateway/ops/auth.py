"""Who may use the operators' listener, and CSRF protection of every state-changing request.

Authentication (``operator_auth`` middleware):

- ``Authorization: Bearer <token>`` for scripts and Prometheus. A browser never adds this
  header on its own, and a cross-site page cannot add it without a CORS preflight this
  listener never grants, so such requests need no CSRF token.
- A session cookie for browsers. ``GET /dashboard?token=<token>`` is the only place a token
  in a URL is accepted: it sets the cookie and redirects to the clean URL, so the token does
  not stay in the address bar or history. The cookie is ``<issued>.<nonce>.<mac>`` with
  ``mac = HMAC-SHA256(token, issued.nonce)``: not the token itself, useless without it, valid
  for ``SESSION_SECONDS`` and void as soon as the token changes.

CSRF, for every request with a method other than GET/HEAD/OPTIONS that is authenticated by
the cookie (``SameSite`` does not separate ports of one host, so it is not enough):

1. ``Origin`` (or, without it, ``Referer``) must be this listener's own origin; and
2. the request carries the session's CSRF token, as form field ``csrf_token`` or header
   ``X-CSRF-Token``, or it is JSON (``Content-Type: application/json``, which a cross-site
   form cannot send and cross-site script only after a preflight that is refused).

The middleware applies to every route of the operators' app, so a new state-changing handler
is protected by registering it there. A form in a page it renders includes
``csrf_input(request)``::

    f'<form method="post" action="/access-codes/revoke">{csrf_input(request)} ... </form>'

Handlers that need to know whether the caller is an operator (``/readyz`` shows details
only then) call ``is_operator(request)``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

SESSION_COOKIE = "gateway_ops_session"
SESSION_SECONDS = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Answered without a token (readiness shows details only to operators).
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})
#: The one page that trades ``?token=`` for a session cookie.
LOGIN_PATH = "/dashboard"

TOKEN = web.AppKey("operator_token", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _mac(token: str, message: str) -> str:
    return hmac.new(token.encode(), message.encode(), hashlib.sha256).hexdigest()


def new_session(token: str, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    body = f"{issued}.{secrets.token_urlsafe(16)}"
    return f"{body}.{_mac(token, 'session:' + body)}"


def session_nonce(token: str, cookie: str, now: float | None = None) -> str | None:
    """The nonce of a valid, unexpired session cookie, else None."""
    issued, _, rest = cookie.partition(".")
    nonce, _, mac = rest.partition(".")
    if not (issued.isascii() and issued.isdigit() and nonce and mac):
        return None
    # Bytes: compare_digest refuses non-ASCII str, and a cookie is the client's text.
    if not hmac.compare_digest(mac.encode(), _mac(token, f"session:{issued}.{nonce}").encode()):
        return None
    age = (time.time() if now is None else now) - int(issued)
    return nonce if 0 <= age <= SESSION_SECONDS else None


def csrf_token(request: web.Request) -> str:
    """The CSRF token of the request's session ("" for bearer callers, who need none)."""
    nonce = _identify(request)[1]
    return _mac(request.app[TOKEN], f"csrf:{nonce}") if nonce else ""


def csrf_input(request: web.Request) -> str:
    """A hidden form field with the session's CSRF token, for forms that POST."""
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{csrf_token(request)}">'


def is_operator(request: web.Request) -> bool:
    return _identify(request)[0] is not None


def _bearer_ok(request: web.Request, token: str) -> bool:
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer "):
        return False
    return hmac.compare_digest(given.removeprefix("Bearer ").strip().encode(), token.encode())


def _identify(request: web.Request) -> tuple[str | None, str | None]:
    """("bearer", None), ("session", nonce) or (None, None). Recomputed where needed (two
    HMACs) rather than stored on the request, which newer aiohttp wants typed keys for."""
    token = request.app[TOKEN]
    if _bearer_ok(request, token):
        return "bearer", None
    nonce = session_nonce(token, request.cookies.get(SESSION_COOKIE, ""))
    return ("session", nonce) if nonce is not None else (None, None)


def _same_origin(request: web.Request) -> bool:
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    parts = urlsplit(source)
    return bool(parts.scheme in ("http", "https") and parts.netloc) and parts.netloc == request.host


async def _csrf_ok(request: web.Request) -> bool:
    if not _same_origin(request):
        return False
    if request.content_type == "application/json":
        return True
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        given = str((await request.post()).get(CSRF_FIELD, ""))
    expected = csrf_token(request)
    return bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())


def _login(request: web.Request) -> web.HTTPSeeOther | None:
    """Trade ``/dashboard?token=`` for a session cookie (a redirect for the caller to raise);
    None if this is no such request."""
    given = request.query.get("token", "")
    if not given or request.method != "GET" or request.path != LOGIN_PATH:
        return None
    token = request.app[TOKEN]
    if not hmac.compare_digest(given.encode(), token.encode()):
        return None
    response = web.HTTPSeeOther(LOGIN_PATH)
    response.set_cookie(
        SESSION_COOKIE,
        new_session(token),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        path="/",
    )
    return response


def _refused(request: web.Request, status: int, message: str) -> web.StreamResponse:
    if "text/html" in request.headers.get("Accept", ""):
        body = f"<!doctype html><title>{status}</title><p>{message}</p>"
        return web.Response(status=status, text=body, content_type="text/html")
    return web.json_response({"error": message}, status=status)


@web.middleware
async def operator_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate every request and enforce CSRF on state-changing ones (see module doc)."""
    if request.path in PUBLIC_PATHS:
        return await handler(request)
    login = _login(request)
    if login is not None:
        raise login
    kind = _identify(request)[0]
    if kind is None:
        return _refused(
            request, 401, "operator token required (Authorization: Bearer, or open /dashboard?token=... once)"
        )
    if request.method not in SAFE_METHODS and kind == "session" and not await _csrf_ok(request):
        return _refused(request, 403, "cross-site request refused: same-origin form with its CSRF token, or JSON")
    return await handler(request)
