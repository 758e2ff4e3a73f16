"""Shared fixtures: a test PKI, a real SMTP server, databases (SQLite and PostgreSQL), Redis,
and the gateway itself running as real processes.

PostgreSQL and a shared Redis are used when ``GATEWAY_TEST_POSTGRES_URL`` /
``GATEWAY_TEST_REDIS_URL`` are set (``.ci/run`` sets them); otherwise the PostgreSQL
variants are skipped and Redis is the gateway's own embedded server.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.gateway import Stack
from tests.support.pki import Pki, make_pki
from tests.support.smtp import SmtpSink

POSTGRES_ADMIN_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL")


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def _pg_database() -> Iterator[str]:
    import asyncpg

    assert POSTGRES_ADMIN_URL
    name = f"gw_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield f"{base}/{name}"
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
        return
    if not POSTGRES_ADMIN_URL:
        pytest.skip("GATEWAY_TEST_POSTGRES_URL not set")
    yield from _pg_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not POSTGRES_ADMIN_URL:
        pytest.skip("GATEWAY_TEST_POSTGRES_URL not set")
    yield from _pg_database()


def short_tmp() -> Path:
    # Unix socket paths are limited to ~107 bytes; pytest's tmp paths can be longer.
    import tempfile

    return Path(tempfile.mkdtemp(prefix="gw-"))


#: The company the default test statement is filed for.
DEFAULT_COMPANY = {
    "kvk_number": "12345678",
    "name": "Voorbeeld Handel B.V.",
    "legal_form": "Besloten vennootschap met beperkte aansprakelijkheid",
    "status": "active",
}


def seed_register(database_url: str, *companies: dict[str, str]) -> None:
    from gateway.store.db import Store

    async def run() -> None:
        store = Store.from_url(database_url)
        try:
            await store.init_schema()
            for company in companies:
                await store.upsert_company(dict(company))
        finally:
            await store.close()

    asyncio.run(run())


def make_stack(pki: Pki, smtp: SmtpSink, database_url: str, **kwargs: object) -> Stack:
    seed_register(database_url, DEFAULT_COMPANY)
    return Stack(data_dir=short_tmp(), pki=pki, smtp=smtp, database_url=database_url, redis_url=REDIS_URL, **kwargs)  # type: ignore[arg-type]


def running(s: Stack, *, worker: bool = True) -> Iterator[Stack]:
    """Start the server (and a worker), hand the stack to the test, stop everything after."""
    s.start_server()
    if worker:
        s.start_worker()
    yield s
    s.stop()


@pytest.fixture
def stack(pki: Pki, smtp: SmtpSink, database_url: str) -> Iterator[Stack]:
    """Server + one worker, on SQLite and on PostgreSQL."""
    yield from running(make_stack(pki, smtp, database_url))


@pytest.fixture
def sqlite_stack(pki: Pki, smtp: SmtpSink, sqlite_url: str) -> Iterator[Stack]:
    """Server + one worker on SQLite only, for tests whose subject is not the database."""
    yield from running(make_stack(pki, smtp, sqlite_url))


@pytest.fixture
def stack_no_worker(pki: Pki, smtp: SmtpSink, database_url: str) -> Iterator[Stack]:
    """The intake server alone, with a short job timeout; the test starts workers itself."""
    yield from running(make_stack(pki, smtp, database_url, extra_env={"GATEWAY_JOB_TIMEOUT": "4"}), worker=False)
