"""The worker's jobs called directly, on a real store (SQLite and PostgreSQL) and a real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool

from gateway.domain import Sender, utc_now
from gateway.queue.checking import CheckerPool
from gateway.queue.redis_server import EmbeddedRedis
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.wus.messages import AanleverRequest, Identiteit, Part
from tests.conftest import DEFAULT_COMPANY, REDIS_URL, short_tmp
from tests.support.xbrl import Statement

SENDER = Sender("CN=Filer A,O=Test,C=NL", "00000003123456780000")


@dataclass
class Jobs:
    store: Store
    redis: ArqRedis
    settings: Settings
    checkers: CheckerPool
    extra: dict[str, Any] = field(default_factory=dict)
    kenmerken: list[str] = field(default_factory=list)

    def ctx(self, job_try: int = 1, **extra: Any) -> dict[str, Any]:
        return {
            "store": self.store,
            "redis": self.redis,
            "settings": self.settings,
            "job_try": job_try,
            "checkers": self.checkers,
            **self.extra,
            **extra,
        }

    def with_settings(self, **changes: Any) -> Jobs:
        return replace(self, settings=replace(self.settings, **changes))

    async def submit(self, instance: bytes | None = None, kvk: str = "12345678", name: str = "j.xbrl") -> str:
        kenmerk = str(uuid.uuid4())
        req = AanleverRequest(
            "Jaarverantwoording_KvK",
            Identiteit(kvk, "KvK"),
            "Bedrijf",
            [Part(0, "application/xml", name, instance if instance is not None else Statement().build())],
            aanleverkenmerk=f"seam-{kenmerk[:8]}",
        )
        await self.store.record_submission(kenmerk, req, b"<raw/>", SENDER, "filer@example.test", utc_now())
        self.kenmerken.append(kenmerk)
        return kenmerk

    async def codes(self, kenmerk: str) -> list[str]:
        return [s.code for s in await self.store.status_history(kenmerk)]


@pytest.fixture
async def jobs(database_url: str) -> AsyncIterator[Jobs]:
    store = Store.from_url(database_url)
    await store.init_schema()
    await store.upsert_company(dict(DEFAULT_COMPANY))
    embedded: EmbeddedRedis | None = None
    if REDIS_URL:
        pool = await create_pool(RedisSettings.from_dsn(REDIS_URL))
    else:
        embedded = EmbeddedRedis(short_tmp())
        embedded.start()
        pool = await create_pool(RedisSettings(unix_socket_path=str(embedded.socket)))
    queue = f"gw-seam:{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=Path(short_tmp()), database_url=database_url, queue_name=queue, job_timeout=20)
    made = Jobs(store, pool, settings, CheckerPool())
    try:
        yield made
    finally:
        for k in made.kenmerken:
            async for key in pool.scan_iter(match=f"arq:*{k}*"):
                await pool.delete(key)
        await pool.delete(queue)
        await made.checkers.close()
        await pool.aclose()
        await store.close()
        if embedded is not None:
            embedded.stop()
