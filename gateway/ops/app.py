"""The operators' listener: health, readiness, metrics, dashboard, submissions and replay.

Served on its own address (loopback by default), never on the filers' port. /healthz and
/readyz answer anyone (readiness without details); everything else wants the operator token
(``Authorization: Bearer <token>``) or the browser session that ``/dashboard?token=<token>``
starts. Every state-changing request is CSRF-checked: see ``gateway.ops.auth``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from arq.connections import ArqRedis

from gateway.notify.transport import Transport
from gateway.ops import auth, dashboard, extensions, html, metrics, pages, replay, stats
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.operators import OperatorsReadModel, SubmissionQuery

log = structlog.get_logger(__name__)

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
MODEL = web.AppKey("read_model", OperatorsReadModel)
POOL = web.AppKey("pool", ArqRedis)
TRANSPORT = web.AppKey("transport", Transport)
TOKEN = auth.TOKEN
PAGE_SIZE = 50


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


@web.middleware
async def errors_as_json(request: web.Request, handler: auth.Handler) -> web.StreamResponse:
    """An operator sees what failed (database down, say), never a bare 500 page."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        log.exception("operator endpoint failed", path=request.path)
        return web.json_response({"error": f"{type(exc).__name__}: {str(exc)[:300]}"}, status=503)


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "alive"})


async def _probe(name: str, coro: Awaitable[Any]) -> tuple[str, str]:
    try:
        await asyncio.wait_for(coro, 3)
        return name, "ok"
    except Exception as exc:  # any failure makes the dependency not ready
        return name, f"error: {type(exc).__name__}: {str(exc)[:200]}"


async def readyz(request: web.Request) -> web.StreamResponse:
    """200/503 for anyone (an orchestrator's probe); which dependency failed and why only
    for operators, since error texts can name hosts and users."""
    app = request.app
    results = dict(
        await asyncio.gather(
            _probe("database", app[STORE].ping()),
            _probe("redis", app[POOL].ping()),
            _probe("smtp", app[TRANSPORT].ping()),
        )
    )
    ready = all(v == "ok" for v in results.values())
    body: dict[str, Any] = {"ready": ready, **results} if auth.is_operator(request) else {"ready": ready}
    return web.json_response(body, status=200 if ready else 503)


async def _snapshot(request: web.Request) -> stats.Snapshot:
    app = request.app
    return await stats.snapshot(app[MODEL], app[POOL], app[SETTINGS].queue_name)


async def metrics_endpoint(request: web.Request) -> web.StreamResponse:
    extra = await extensions.extra_metrics(request.app[STORE])
    body = metrics.render(await _snapshot(request), extra)
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        # The pages show filers' data: keep them out of caches and frames.
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Content-Security-Policy": _CSP},
    )


# Inline styles only; no script, no external resource, no framing.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"


async def dashboard_endpoint(request: web.Request) -> web.StreamResponse:
    app = request.app
    snap = await _snapshot(request)
    codes = await app[MODEL].foutcodes()
    tiles = await extensions.extra_tiles(app[STORE])
    return _html(dashboard.render(snap, codes, tiles))


def _query(request: web.Request) -> SubmissionQuery:
    q = request.query
    offset = q.get("offset", "0")
    return SubmissionQuery(
        text=q.get("q", "")[:200],
        status=q.get("status") or None,
        foutcode=q.get("foutcode") or None,
        offset=int(offset) if offset.isdigit() else 0,
        limit=PAGE_SIZE,
    )


async def search_endpoint(request: web.Request) -> web.StreamResponse:
    model = request.app[MODEL]
    query = _query(request)
    result = await model.search(query)
    if result.total == 1 and result.items[0].kenmerk == query.text.strip():
        # A pasted kenmerk leads straight to its page.
        raise web.HTTPSeeOther(html.submission_url(query.text.strip()))
    return _html(pages.search_page(result, await model.foutcodes()))


async def submission_endpoint(request: web.Request) -> web.StreamResponse:
    detail = await request.app[MODEL].submission(request.match_info["kenmerk"])
    if detail is None:
        return _html(html.page("Not found", "<h1>No submission with that kenmerk</h1>"), status=404)
    run = request.query.get("replayed", "")
    notice = f"Replay started as run {run}." if run.isdigit() else ""
    return _html(pages.detail_page(detail, auth.csrf_input(request), notice))


async def message_endpoint(request: web.Request) -> web.StreamResponse:
    kenmerk = request.match_info["kenmerk"]
    raw = await request.app[MODEL].raw_message(kenmerk)
    if raw is None:
        raise web.HTTPNotFound(text="no submission with that kenmerk")
    # The kenmerk is ours (hex and dashes), but keep the file name safe regardless.
    name = "".join(c for c in kenmerk if c.isalnum() or c in "-_")[:64] or "message"
    return web.Response(
        body=raw,
        headers={
            "Content-Type": "application/xml",
            "Content-Disposition": f'attachment; filename="{name}.xml"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def replay_form_endpoint(request: web.Request) -> web.StreamResponse:
    """The replay button on a submission's page (a form; CSRF-checked by the middleware)."""
    kenmerk = request.match_info["kenmerk"]
    form = await request.post()
    actor, reason = str(form.get("actor", "")).strip()[:200], str(form.get("reason", "")).strip()[:1000]
    if not actor or not reason:
        raise web.HTTPBadRequest(text="who and why are both required for a replay")
    app = request.app
    run = await replay.replay_one(app[STORE], app[POOL], app[SETTINGS].queue_name, kenmerk, actor, reason)
    if run is None:
        raise web.HTTPConflict(text="unknown kenmerk, or its current run is not finished yet")
    log.info("replay requested", actor=actor, kenmerk=kenmerk, run=run, via="dashboard")
    raise web.HTTPSeeOther(f"{html.submission_url(kenmerk)}?replayed={run}")


async def _replay_targets(app: web.Application, body: dict[str, Any]) -> list[str] | web.Response:
    if body.get("kenmerk"):
        return [str(body["kenmerk"])]
    try:
        sel = replay.Selection(
            status=body.get("status"), since=replay.parse_when(body.get("since")), foutcode=body.get("foutcode")
        )
    except (ValueError, TypeError) as exc:
        return web.json_response({"error": f"bad date: {exc}"}, status=400)
    if sel.status is None and sel.since is None and sel.foutcode is None:
        return web.json_response({"error": "give a kenmerk or at least one filter"}, status=400)
    return await replay.select(app[STORE], sel)


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
    kenmerken = await _replay_targets(app, body)
    if isinstance(kenmerken, web.Response):
        return kenmerken
    if body.get("dry_run"):
        return web.json_response({"dry_run": True, "kenmerken": kenmerken})
    started = {}
    for k in kenmerken:
        started[k] = await replay.replay_one(app[STORE], app[POOL], app[SETTINGS].queue_name, k, actor, reason)
    log.info("replay requested", actor=actor, count=len(started), via="api")
    return web.json_response(
        {
            "replayed": {k: r for k, r in started.items() if r is not None},
            "skipped": [k for k, r in started.items() if r is None],
        }
    )


async def to_dashboard(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/dashboard")


def create_ops_app(settings: Settings, store: Store, pool: ArqRedis, transport: Transport) -> web.Application:
    app = web.Application(middlewares=[errors_as_json, auth.operator_auth], client_max_size=1024 * 1024)
    app[SETTINGS] = settings
    app[STORE] = store
    app[MODEL] = OperatorsReadModel(store.engine)
    app[POOL] = pool
    app[TRANSPORT] = transport
    app[TOKEN] = ops_token(settings)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get("/dashboard", dashboard_endpoint)
    app.router.add_get("/submissions", search_endpoint)
    app.router.add_get("/submissions/{kenmerk}", submission_endpoint)
    app.router.add_get("/submissions/{kenmerk}/message", message_endpoint)
    app.router.add_post("/submissions/{kenmerk}/replay", replay_form_endpoint)
    app.router.add_get("/", to_dashboard)
    app.router.add_post("/api/replay", replay_endpoint)
    return app
