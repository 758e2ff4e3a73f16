"""Operators' fixtures: a gateway (SQLite and PostgreSQL) with a few finished submissions.

``filed`` is made for each test (for tests that change what they look at, e.g. by a
replay); ``shared_filed`` once per test module and database, for tests that only look."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from gateway.client import GatewayClient
from gateway.devcerts import company_oin
from tests.conftest import POSTGRES_ADMIN_URL, _pg_database, make_stack, running
from tests.support.gateway import Stack
from tests.support.pki import Pki
from tests.support.smtp import SmtpSink
from tests.support.xbrl import Statement

#: aanleverkenmerk -> KVK number; 12345678 is in the register (accepted), the others not
#: (rejected with GW-KVK-07).
FILINGS = {"JR-ACC-1": "12345678", "JR-REJ-88": "88888888", "JR-REJ-77": "77777777"}
SENDER_OIN = company_oin("12345678")


@dataclass
class Filed:
    stack: Stack
    client: GatewayClient
    #: aanleverkenmerk -> kenmerk
    kenmerken: dict[str, str]


def submit_and_wait(stack: Stack, client: GatewayClient, aanleverkenmerk: str, kvk: str) -> str:
    kenmerk = str(client.submit(Statement(kvk_number=kvk).build(), kvk, aanleverkenmerk=aanleverkenmerk).kenmerk)
    stack.wait_final(client, kenmerk)
    stack.smtp.wait_for(kenmerk)
    return kenmerk


@pytest.fixture
def filed(stack: Stack) -> Filed:
    client = stack.client(stack.pki.client("filer-a"))
    kenmerken = {ak: submit_and_wait(stack, client, ak, kvk) for ak, kvk in FILINGS.items()}
    return Filed(stack, client, kenmerken)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_filed(
    request: pytest.FixtureRequest, pki: Pki, smtp: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Filed]:
    """Like ``filed``, shared by a module's tests: they must not change it."""
    if request.param == "postgres" and not POSTGRES_ADMIN_URL:
        pytest.skip("GATEWAY_TEST_POSTGRES_URL not set")
    database = _pg_database() if request.param == "postgres" else None
    url = next(database) if database else f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('ops') / 'gateway.db'}"
    lifecycle = running(make_stack(pki, smtp, url))
    stack = next(lifecycle)
    try:
        client = stack.client(stack.pki.client("filer-a"))
        yield Filed(stack, client, {ak: submit_and_wait(stack, client, ak, kvk) for ak, kvk in FILINGS.items()})
    finally:
        next(lifecycle, None)  # stops the processes
        if database:
            next(database, None)  # drops the database
