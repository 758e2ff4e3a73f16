"""Sessions, lock-out and the per-address limit against a real Redis (the shared one when
GATEWAY_TEST_REDIS_URL is set, else a private redis-server)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gateway.queue.redis_server import EmbeddedRedis
from gateway.web.rules import LoginPolicy
from gateway.web.sessions import Sessions, Throttle, csrf_ok
from tests.conftest import REDIS_URL, short_tmp

POLICY = LoginPolicy(
    max_failures=3, window_seconds=60, lock_seconds=2, per_address_per_minute=5, session_idle_seconds=2
)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    embedded = None
    if REDIS_URL:
        client = Redis.from_url(REDIS_URL)
    else:
        embedded = EmbeddedRedis(short_tmp())
        embedded.start()
        client = Redis(unix_socket_path=str(embedded.socket))
    try:
        yield client
    finally:
        await client.aclose()
        if embedded is not None:
            embedded.stop()


async def test_sessions_carry_a_csrf_token_expire_when_idle_and_can_be_dropped(redis: Redis) -> None:
    sessions = Sessions(redis, POLICY.session_idle_seconds)
    s = await sessions.create(42)
    again = await sessions.get(s.id)
    assert again == s and again.code_id == 42
    assert csrf_ok(again, s.csrf) and not csrf_ok(again, "x" + s.csrf) and not csrf_ok(again, "")
    assert not csrf_ok(None, s.csrf)
    assert await sessions.get("not-a-session") is None and await sessions.get("x" * 500) is None
    # Nothing in Redis names the session id in clear.
    assert not [k async for k in redis.scan_iter(match=f"*{s.id}*")]
    await sessions.drop(s.id)
    assert await sessions.get(s.id) is None
    idle = await sessions.create(None)
    await asyncio.sleep(2.5)
    assert await sessions.get(idle.id) is None


async def test_lock_out_after_max_failures_then_released_and_success_resets(redis: Redis) -> None:
    throttle = Throttle(redis, POLICY)
    code = f"W{uuid.uuid4().hex}"  # any typed text counts, existing or not
    assert not await throttle.failed(code)
    await throttle.succeeded(code)  # a success starts the count afresh
    assert not await throttle.failed(code)
    assert not await throttle.failed(code)
    assert await throttle.locked_for(code) == 0
    assert await throttle.failed(code)  # the third failure in the window locks
    assert 0 < await throttle.locked_for(code) <= 2
    assert not [k async for k in redis.scan_iter(match=f"*{code}*")]
    await asyncio.sleep(2.2)
    assert await throttle.locked_for(code) == 0


async def test_one_address_gets_a_limited_number_of_tries_a_minute(redis: Redis) -> None:
    throttle = Throttle(redis, POLICY)
    address = f"192.0.2.1-{uuid.uuid4().hex[:8]}"
    if time.time() % 60 > 55:  # keep the seven tries inside one minute
        await asyncio.sleep(61 - time.time() % 60)
    results = [await throttle.address_allowed(address) for _ in range(7)]
    assert results == [True] * 5 + [False] * 2
    assert await throttle.address_allowed(f"{address}-other")
