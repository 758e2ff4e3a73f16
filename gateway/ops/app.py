"""The operators' listener: health, readiness, metrics, dashboard and replay.

Served on its own address (loopback by default), never on the filers' port, and every
endpoint but /healthz wants the operator token: ``Authorization: Bearer <token>``, or the
cookie that ``/dashboard?token=<token>`` sets for a browser.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from arq.connections import ArqRedis

from gateway.notify.transport import Transport
from gateway.ops import dashboard, metrics, replay, stats
from gateway.settings import Settings
from gateway.store.db import Store

log = structlog.get_logger(__name__)
COOKIE = "gateway_ops"

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
POOL = web.AppKey("pool", ArqRedis)
TRANSPORT = web.AppKey("transport", Transport)
TOKEN = web.AppKey("token", str)


def ops_token(settings: Settings) -> str:
    """The configured token, or one generated once and kept in the data folder (0600)."""
    if settings.ops_token:
        return settings.ops_token
    path: Path = settings.data_dir / "ops-token"
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    log.warning("generated an operator token", file=str(path))
    return token


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An operator sees what failed (database down, say), never a bare 500 page."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        log.exception("operator endpoint failed", path=request.path)
        return web.json_response({"error": f"{type(exc).__name__}: {str(exc)[:300]}"}, status=503)


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == "/healthz":
        return await handler(request)
    token = request.app[TOKEN]
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or request.cookies.get(COOKIE, "")
    if given and hmac.compare_digest(given.encode(), token.encode()):
        return await handler(request)
    query = request.query.get("token", "")
    if query and request.method == "GET" and hmac.compare_digest(query.encode(), token.encode()):
        # Trade the token in the URL for a cookie, and drop it from the address bar.
        response = web.HTTPFound(request.path)
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
        raise response
    return web.json_response({"error": "operator token required"}, status=401)


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "alive"})


async def _probe(name: str, coro: Awaitable[Any]) -> tuple[str, str]:
    try:
        await asyncio.wait_for(coro, 3)
        return name, "ok"
    except Exception as exc:  # any failure makes the dependency not ready
        return name, f"error: {type(exc).__name__}: {str(exc)[:200]}"


async def readyz(request: web.Request) -> web.StreamResponse:
    app = request.app
    results = dict(
        await asyncio.gather(
            _probe("database", app[STORE].ping()),
            _probe("redis", app[POOL].ping()),
            _probe("smtp", app[TRANSPORT].ping()),
        )
    )
    ready = all(v == "ok" for v in results.values())
    return web.json_response({"ready": ready, **results}, status=200 if ready else 503)


async def _snapshot(request: web.Request) -> stats.Snapshot:
    app = request.app
    return await stats.snapshot(app[STORE], app[POOL], app[SETTINGS].queue_name)


async def metrics_endpoint(request: web.Request) -> web.StreamResponse:
    body = metrics.render(await _snapshot(request))
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def dashboard_endpoint(request: web.Request) -> web.StreamResponse:
    return web.Response(text=dashboard.render(await _snapshot(request)), content_type="text/html")


async def replay_endpoint(request: web.Request) -> web.StreamResponse:
    """POST {"kenmerk": ...} or {"status": "311", "since": ..., "foutcode": ...}, with
    "reason" and "actor"; "dry_run": true lists what would be replayed."""
    try:
        body = await request.json()
        reason = str(body["reason"])
        actor = str(body.get("actor") or "ops-api")
    except (json.JSONDecodeError, KeyError, TypeError):
        return web.json_response({"error": "JSON body with at least 'reason' required"}, status=400)
    app = request.app
    if body.get("kenmerk"):
        kenmerken = [str(body["kenmerk"])]
    else:
        try:
            sel = replay.Selection(
                status=body.get("status"), since=replay.parse_when(body.get("since")), foutcode=body.get("foutcode")
            )
        except ValueError as exc:
            return web.json_response({"error": f"bad date: {exc}"}, status=400)
        if sel.status is None and sel.since is None and sel.foutcode is None:
            return web.json_response({"error": "give a kenmerk or at least one filter"}, status=400)
        kenmerken = await replay.select(app[STORE], sel)
    if body.get("dry_run"):
        return web.json_response({"dry_run": True, "kenmerken": kenmerken})
    started = {}
    for k in kenmerken:
        run = await replay.replay_one(app[STORE], app[POOL], app[SETTINGS].queue_name, k, actor, reason)
        started[k] = run
    log.info("replay requested", actor=actor, count=len(started))
    return web.json_response(
        {
            "replayed": {k: r for k, r in started.items() if r is not None},
            "skipped": [k for k, r in started.items() if r is None],
        }
    )


async def to_dashboard(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/dashboard")


def create_ops_app(settings: Settings, store: Store, pool: ArqRedis, transport: Transport) -> web.Application:
    app = web.Application(middlewares=[errors_as_json, require_token], client_max_size=1024 * 1024)
    app[SETTINGS] = settings
    app[STORE] = store
    app[POOL] = pool
    app[TRANSPORT] = transport
    app[TOKEN] = ops_token(settings)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get("/dashboard", dashboard_endpoint)
    app.router.add_get("/", to_dashboard)
    app.router.add_post("/api/replay", replay_endpoint)
    return app
