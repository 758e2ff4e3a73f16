"""Fixtures for the register tests: the local KVK contract server (a stand-in for the paid
KVK API) and a store on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from gateway.register.config import RegisterConfig
from gateway.store.db import Store
from tests.support.kvk_contract import TEST_COMPANIES, TEST_KEY, KvkContractServer


@pytest.fixture
def kvk_server() -> Iterator[KvkContractServer]:
    server = KvkContractServer(extra=dict(TEST_COMPANIES)).start()
    yield server
    server.stop()


@pytest.fixture
def api_config(kvk_server: KvkContractServer) -> RegisterConfig:
    return RegisterConfig(
        source="kvk-api",
        api_url=kvk_server.base_url,
        api_key=TEST_KEY,
        timeout=2.0,
        attempts=4,
        backoff=0.05,
        deadline=5.0,
    )


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    s = Store.from_url(database_url)
    await s.init_schema()
    yield s
    await s.close()
