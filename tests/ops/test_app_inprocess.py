"""The operators' app in process (aiohttp's test client against create_ops_app, a real store
on SQLite and PostgreSQL): figures and tiles other modules register appear, Redis being
unreachable is shown as such rather than as zeros, and a handler another module adds is
CSRF-protected the same way as the replay."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from arq.connections import ArqRedis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from gateway.notify.transport import MaildirTransport
from gateway.ops import auth, extensions
from gateway.ops.app import create_ops_app
from gateway.settings import Settings
from gateway.store.db import Store

TOKEN = "in-process-token"


async def _costs(store: Store) -> list[Metric]:
    return [GaugeMetricFamily("gateway_test_costs_euros", "A figure registered by another module.", value=12.5)]


async def _tile(store: Store) -> list[extensions.Tile]:
    return [extensions.Tile("test-costs", "costs, this month", "EUR 12.50")]


async def _revoke(request: web.Request) -> web.StreamResponse:
    """Stands for an action another module registers (e.g. revoking an access code)."""
    return web.json_response({"revoked": str((await request.post()).get("code"))})


async def _revoke_form(request: web.Request) -> web.StreamResponse:
    body = f'<form method="post" action="/test/revoke">{auth.csrf_input(request)}<input name="code"></form>'
    return web.Response(text=body, content_type="text/html")


@pytest.fixture
async def client(database_url: str, tmp_path: Path) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    store = Store.from_url(database_url)
    await store.init_schema()
    # Nothing listens on port 1: every Redis call fails, as when Redis is down.
    pool = ArqRedis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    settings = Settings(data_dir=tmp_path, ops_token=TOKEN, queue_name="gw-test:inprocess")
    extensions.METRIC_SOURCES.append(_costs)
    extensions.TILE_SOURCES.append(_tile)
    try:
        app = create_ops_app(settings, store, pool, MaildirTransport(tmp_path / "mail"))
        app.router.add_get("/test/revoke", _revoke_form)
        app.router.add_post("/test/revoke", _revoke)
        async with TestClient(TestServer(app)) as c:
            yield c
    finally:
        extensions.METRIC_SOURCES.remove(_costs)
        extensions.TILE_SOURCES.remove(_tile)
        await pool.aclose()
        await store.close()


BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def test_registered_figures_and_redis_down(client: TestClient[web.Request, web.Application]) -> None:
    metrics = await (await client.get("/metrics", headers=BEARER)).text()
    assert "gateway_test_costs_euros 12.5" in metrics
    assert "gateway_redis_up 0.0" in metrics
    assert not re.search(r"^gateway_queue_depth ", metrics, re.M)  # unknown, not 0
    page = await (await client.get("/dashboard", headers=BEARER)).text()
    assert 'id="test-costs">costs, this month<b>EUR 12.50</b>' in page
    assert 'id="queue-depth">jobs in queue<b>?</b><small>Redis unreachable</small>' in page
    ready = await client.get("/readyz")
    assert ready.status == 503 and await ready.json() == {"ready": False}
    detailed = await (await client.get("/readyz", headers=BEARER)).json()
    assert detailed["redis"].startswith("error") and detailed["database"] == "ok"


async def test_a_handler_added_by_another_module_is_csrf_protected(
    client: TestClient[web.Request, web.Application],
) -> None:
    login = await client.get("/dashboard", params={"token": TOKEN}, allow_redirects=False)
    assert login.status == 303 and login.headers["Location"] == "/dashboard"
    form = await (await client.get("/test/revoke")).text()
    token = re.search(r'name="csrf_token" value="(\w+)"', form)
    assert token is not None
    origin = {"Origin": str(client.make_url("")).rstrip("/")}
    refused = await client.post("/test/revoke", data={"code": "A1"}, headers=origin)
    assert refused.status == 403
    cross = await client.post(
        "/test/revoke", data={"code": "A1", "csrf_token": token.group(1)}, headers={"Origin": "http://127.0.0.1:1"}
    )
    assert cross.status == 403
    done = await client.post("/test/revoke", data={"code": "A1", "csrf_token": token.group(1)}, headers=origin)
    assert done.status == 200 and await done.json() == {"revoked": "A1"}


async def test_the_kvk_api_figures_and_this_months_costs_are_shown(
    client: TestClient[web.Request, web.Application],
) -> None:
    """The register's figures (gateway.ops.extensions' built-in sources): its counters are on
    /metrics and the current month's KVK API costs are a dashboard tile."""
    metrics = await (await client.get("/metrics", headers=BEARER)).text()
    assert "# TYPE gateway_kvk_api_requests_total counter" in metrics
    assert "gateway_submissions_waiting 0.0" in metrics
    page = await (await client.get("/dashboard", headers=BEARER)).text()
    assert re.search(r'id="kvk-costs">KVK API costs \d{4}-\d{2}<b>KVK API \d{4}-\d{2}: 0 look-ups', page), page
