"""Sessions, CSRF tokens and log-in throttling for the ZDJ pages, kept in Redis.

A session is a random id in a ``__Host-`` cookie (Secure, HttpOnly, SameSite=Strict, Path=/)
pointing at a small JSON record with its synchronizer CSRF token. Log-in failures are counted
per typed code, whether or not it exists, so lock-outs never tell which codes are real.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from gateway.web.rules import LoginPolicy

COOKIE = "__Host-zdj"
PREFIX = "gateway:zdj"


@dataclass(frozen=True)
class Session:
    id: str
    csrf: str
    code_id: int | None


def _key(kind: str, value: str) -> str:
    # Hashed, so that typed codes (and guesses) never sit in Redis in clear.
    return f"{PREFIX}:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


class Sessions:
    def __init__(self, redis: Redis, idle_seconds: int) -> None:
        self.redis = redis
        self.idle = idle_seconds

    async def create(self, code_id: int | None) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), code_id)
        await self.redis.set(
            _key("session", session.id),
            json.dumps({"csrf": session.csrf, "code_id": code_id, "at": time.time()}),
            ex=self.idle,
        )
        return session

    async def get(self, session_id: str | None) -> Session | None:
        if not session_id or len(session_id) > 100:
            return None
        key = _key("session", session_id)
        raw = await self.redis.get(key)
        if raw is None:
            return None
        await self.redis.expire(key, self.idle)
        data = json.loads(raw)
        return Session(session_id, str(data["csrf"]), data.get("code_id"))

    async def drop(self, session_id: str) -> None:
        await self.redis.delete(_key("session", session_id))


def csrf_ok(session: Session | None, given: str | None) -> bool:
    return session is not None and bool(given) and hmac.compare_digest(session.csrf.encode(), str(given).encode())


class Throttle:
    """Per-address rate limit and per-code lock-out."""

    def __init__(self, redis: Redis, policy: LoginPolicy) -> None:
        self.redis = redis
        self.policy = policy

    async def address_allowed(self, address: str) -> bool:
        key = _key("addr", f"{address}:{int(time.time() // 60)}")
        count = int(await self.redis.incr(key))
        if count == 1:
            await self.redis.expire(key, 61)
        return count <= self.policy.per_address_per_minute

    async def locked_for(self, code: str) -> int:
        """Seconds the code stays locked (0: not locked)."""
        ttl = int(await self.redis.ttl(_key("lock", code)))
        return max(ttl, 0)

    async def failed(self, code: str) -> bool:
        """Count a failure; True when it locks the code."""
        key = _key("fail", code)
        count = int(await self.redis.incr(key))
        if count == 1:
            await self.redis.expire(key, self.policy.window_seconds)
        if count >= self.policy.max_failures:
            await self.redis.set(_key("lock", code), "1", ex=self.policy.lock_seconds)
            await self.redis.delete(key)
            return True
        return False

    async def succeeded(self, code: str) -> None:
        await self.redis.delete(_key("fail", code))
