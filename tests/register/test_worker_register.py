"""The checks against the KVK API through the real gateway: ``gateway serve`` and ``gateway
worker`` processes with GATEWAY_REGISTER_SOURCE=kvk-api, talking to the local stand-in for the
paid KVK API (tests/support/kvk_contract.py). A burst of 100 filings for one company costs
one request, across two worker processes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.conftest import make_stack, running
from tests.support.gateway import FINAL, Stack
from tests.support.kvk_contract import TEST_KEY, KvkContractServer
from tests.support.outcome import file_statement
from tests.support.pki import Pki
from tests.support.smtp import SmtpSink
from tests.support.xbrl import Statement


def _api_env(kvk_server: KvkContractServer) -> dict[str, str]:
    return {
        "GATEWAY_REGISTER_SOURCE": "kvk-api",
        "GATEWAY_KVK_API_URL": kvk_server.base_url,
        "GATEWAY_KVK_API_KEY": TEST_KEY,
        "GATEWAY_LOG_LEVEL": "DEBUG",
    }


@pytest.fixture
def api_stack(pki: Pki, smtp: SmtpSink, database_url: str, kvk_server: KvkContractServer) -> Iterator[Stack]:
    yield from running(make_stack(pki, smtp, database_url, extra_env=_api_env(kvk_server)), worker=False)


@pytest.fixture
def sqlite_api_stack(pki: Pki, smtp: SmtpSink, sqlite_url: str, kvk_server: KvkContractServer) -> Iterator[Stack]:
    """SQLite only: the burst's cache and claims are tested on both databases in-process
    (test_api_source.py); through real processes once is enough for the suite's time."""
    yield from running(make_stack(pki, smtp, sqlite_url, extra_env=_api_env(kvk_server)), worker=False)


def _metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in metrics")


def test_the_checks_run_against_the_kvk_api(api_stack: Stack, kvk_server: KvkContractServer) -> None:
    stack = api_stack
    stack.start_worker()
    client = stack.client(stack.pki.client("filer-a"))
    accepted = file_statement(stack, client, Statement(kvk_number="68750110"))
    unknown = file_statement(stack, client, Statement(kvk_number="12345678"))
    sole_trader = file_statement(stack, client, Statement(kvk_number="69599084"))
    dissolved = file_statement(stack, client, Statement(kvk_number="96354429"))
    assert accepted.final == "500"
    assert (unknown.final, unknown.foutcode) == ("311", "GW-KVK-07")
    assert (sole_trader.final, sole_trader.foutcode) == ("311", "GW-KVK-09")  # an Eenmanszaak does not file
    assert (dissolved.final, dissolved.foutcode) == ("311", "GW-KVK-08")
    assert "Test Coöperatie Inactief" in dissolved.details
    assert kvk_server.requests_for("basisprofielen") == 4
    logs = stack.logs("worker")
    assert "kvk api request" in logs and TEST_KEY not in logs + stack.logs("serve")


def test_a_burst_of_100_filings_for_one_company_costs_one_request(
    sqlite_api_stack: Stack, kvk_server: KvkContractServer
) -> None:
    stack = sqlite_api_stack
    kvk_server.delay = 0.3  # a slow API: the burst's look-ups overlap the first one
    client = stack.client(stack.pki.client("filer-a"))
    statement = Statement(kvk_number="68750110", adopted=False).build()
    kenmerken = [client.submit(statement, "68750110").kenmerk for _ in range(100)]
    stack.start_worker()
    stack.start_worker()  # two processes, 16 jobs each
    deadline = time.monotonic() + 120
    finals = {}
    for kenmerk in kenmerken:
        statuses = stack.wait_final(client, kenmerk, timeout=max(1.0, deadline - time.monotonic()))
        finals[kenmerk] = statuses[-1].statuscode
    assert set(finals.values()) <= FINAL - {"321"}
    assert kvk_server.requests_for("basisprofielen") == 1
    metrics = stack.ops_get("/metrics").text
    assert _metric(metrics, 'gateway_kvk_api_requests_total{outcome="found",product="basisprofiel"}') == 1
    # Every look-up but the first is answered from the cache. There are more look-ups than
    # filings: an acceptance replaces the statement on file, and a run that finds the filings
    # on file changed since its checks saw them checks again (and looks up again).
    hits = _metric(metrics, 'gateway_kvk_cache_hits_total{product="basisprofiel"}')
    # One request on today's date, priced by the tariff in force today (or "no tariff known").
    costs = stack.cli("costs", "--json").stdout
    total = json.loads(costs)["requests"]
    assert total["api_requests"] == 1
    assert total["lookups"] >= 100 and total["cache_hits"] == total["lookups"] - 1 == hits
