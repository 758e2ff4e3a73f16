"""``gateway costs`` through the real CLI, on SQLite and PostgreSQL, over requests made through
the register source against the local stand-in for the paid KVK API at chosen dates; the
figures are worked out by hand from the two regulations and today's published price."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from gateway.register import metrics as kvk_metrics
from gateway.register.api_source import KvkApiRegister
from gateway.register.config import RegisterConfig
from gateway.register.costs import costs_this_month
from gateway.register.tariffs import load_tariffs
from gateway.store.db import Store
from gateway.store.kvk import KvkStore
from tests.support.kvk_contract import TEST_KEY, KvkContractServer


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2016, 6, 1, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


async def _history(store: Store, config: RegisterConfig) -> None:
    """2016-06: two Profile deliveries at the 14,999th and 15,000th place (€ 0.23 + € 0.18) and
    a 404 (no delivery, free). 2021-06-30: no tariff known. 2021-07-01: two requests at
    € 0.016 and a cache hit, plus the month's € 5.15. 2022-01-01: no tariff known."""
    clock = Clock()
    key = load_tariffs().volume_key("basisprofiel", clock.at.date())
    assert key is not None
    await KvkStore(store).set_volume(2016, key, 14_998)
    register = KvkApiRegister(store, config, clock=clock)
    plan = [
        (datetime(2016, 6, 1, 10, 0, tzinfo=UTC), ["69599084", "90000749", "12345678"]),
        (datetime(2021, 6, 30, 12, 0, tzinfo=UTC), ["68750110"]),
        (datetime(2021, 7, 1, 9, 0, tzinfo=UTC), ["12345678", "68750110", "69599084"]),
        (datetime(2022, 1, 1, 12, 0, tzinfo=UTC), ["90000749"]),
    ]
    try:
        for at, numbers in plan:
            clock.at = at
            for kvk in numbers:
                await register.lookup(kvk)
    finally:
        await register.close()


def _gateway(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    environ.update(GATEWAY_DATABASE_URL=database_url, **env)
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], env=environ, capture_output=True, text=True, timeout=60
    )


async def _cli_json(database_url: str, *args: str) -> dict[str, Any]:
    result = await asyncio.to_thread(_gateway, database_url, "costs", *args, "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


async def test_costs_by_month_product_and_tariff(
    store: Store, database_url: str, api_config: RegisterConfig, kvk_server: KvkContractServer
) -> None:
    await _history(store, api_config)
    by_month = await _cli_json(database_url, "--from", "2016-01-01", "--to", "2022-12-31", "--by", "month")
    rows = {r["key"]: r for r in by_month["rows"]}
    assert list(rows) == ["2016-06", "2021-06", "2021-07", "2022-01"]
    assert rows["2016-06"] | {} == {
        "key": "2016-06",
        "lookups": 3,
        "cache_hits": 0,
        "api_requests": 3,
        "charged": 2,
        "no_tariff_known": 0,
        "euros": "0.41",
    }
    assert (rows["2021-06"]["charged"], rows["2021-06"]["no_tariff_known"], rows["2021-06"]["euros"]) == (1, 1, "0")
    assert (rows["2021-07"]["lookups"], rows["2021-07"]["cache_hits"], rows["2021-07"]["euros"]) == (3, 1, "0.032")
    assert rows["2022-01"]["no_tariff_known"] == 1
    fees = {f["month"]: f for f in by_month["monthly_fees"]}
    assert fees["2021-07"]["euros"] == "5.15" and fees["2021-07"]["article"] == "Artikel 3, tweede lid, onderdeel l"
    assert fees["2021-06"]["euros"] is None and fees["2021-06"]["note"] == "no tariff known for 2021-06-30"
    assert fees["2022-01"]["note"] == "no tariff known for 2022-01-01"
    assert fees["2016-06"]["note"] == "frh-2014 has no monthly fee for the API"
    assert Decimal(by_month["requests"]["euros"]) == Decimal("0.442")
    assert Decimal(by_month["euros"]) == Decimal("5.592")

    by_product = await _cli_json(database_url, "--from", "2016-01-01", "--to", "2022-12-31", "--by", "product")
    assert [(r["key"], r["lookups"], r["euros"]) for r in by_product["rows"]] == [("basisprofiel", 8, "0.442")]

    july = await _cli_json(database_url, "--from", "2021-07-01", "--to", "2021-07-31")
    assert {r["key"]: (r["lookups"], r["euros"]) for r in july["rows"]} == {
        "frh-2019-2021-07 3.2.l.basisprofiel (Artikel 3, tweede lid, onderdeel l) at € 0.016": (2, "0.032"),
        "cache hits (free)": (1, "0"),
    }
    assert july["euros"] == "5.182"

    by_tariff = await _cli_json(database_url, "--from", "2016-06-01", "--to", "2016-06-30")
    assert {r["key"]: r["euros"] for r in by_tariff["rows"]} == {
        "frh-2014 3.2.n (Article 3, paragraph 2, n, band 1–14,999) at € 0.23": "0.23",
        "frh-2014 3.2.n (Article 3, paragraph 2, n, band 15,000–34,999) at € 0.18": "0.18",
        "not charged (no answer, or no data delivered)": "0",
    }

    text = await asyncio.to_thread(_gateway, database_url, "costs", "--from", "2021-06-01", "--to", "2021-07-31")
    assert text.returncode == 0, text.stderr
    assert "monthly fee 2021-07: EUR 5.15 (frh-2019-2021-07, Artikel 3, tweede lid, onderdeel l)" in text.stdout
    assert "monthly fee 2021-06: no tariff known for 2021-06-30" in text.stdout
    assert "total EUR 5.182" in text.stdout
    assert "1 charged request(s) fall on dates no known tariff covers" in text.stdout

    bad = await asyncio.to_thread(_gateway, database_url, "costs", "--from", "2021-08-01", "--to", "2021-07-01")
    assert bad.returncode == 2 and "is after" in bad.stderr and "Traceback" not in bad.stderr
    bad = await asyncio.to_thread(_gateway, database_url, "costs", "--from", "yesterday")
    assert bad.returncode == 2 and "is not a date (YYYY-MM-DD)" in bad.stderr


async def test_this_month_and_the_prometheus_counters(
    store: Store, api_config: RegisterConfig, kvk_server: KvkContractServer
) -> None:
    await _history(store, api_config)
    month = await costs_this_month(store, datetime(2021, 7, 20, tzinfo=UTC))
    assert (month.month, month.lookups, month.cache_hits, month.api_requests) == ("2021-07", 3, 1, 2)
    assert (month.requests_euros, month.monthly_fee_euros, month.euros) == (
        Decimal("0.032"),
        Decimal("5.15"),
        Decimal("5.182"),
    )
    assert month.summary() == (
        "KVK API 2021-07: 3 look-ups, 1 from the cache, 2 requests: EUR 0.032 + monthly fee EUR 5.15 = EUR 5.182"
    )
    text = await _exposition(store)
    assert 'gateway_kvk_api_requests_total{outcome="found",product="basisprofiel"} 5.0' in text
    assert 'gateway_kvk_api_requests_total{outcome="not_found",product="basisprofiel"} 2.0' in text
    assert 'gateway_kvk_cache_hits_total{product="basisprofiel"} 1.0' in text
    assert 'gateway_kvk_api_cost_euros_total{product="basisprofiel"} 0.442' in text
    assert 'gateway_kvk_api_unpriced_requests_total{product="basisprofiel"} 2.0' in text
    assert "gateway_submissions_waiting 0.0" in text


async def test_register_lookup_and_waiting_through_the_cli(sqlite_url: str, kvk_server: KvkContractServer) -> None:
    """SQLite only: the store side of this is tested on both databases above and in
    test_api_source.py; this is about the commands."""
    database_url = sqlite_url
    store = Store.from_url(database_url)
    await store.init_schema()
    env = {
        "GATEWAY_REGISTER_SOURCE": "kvk-api",
        "GATEWAY_KVK_API_URL": kvk_server.base_url,
        "GATEWAY_KVK_API_KEY": TEST_KEY,
        "GATEWAY_KVK_API_ATTEMPTS": "1",
        "GATEWAY_LOG_LEVEL": "DEBUG",
    }
    found = await asyncio.to_thread(_gateway, database_url, "register", "lookup", "68750110", **env)
    assert found.returncode == 0, found.stderr
    assert "Test BV Donald" in found.stdout and "Besloten vennootschap met beperkte aansprakelijkheid" in found.stdout
    missing = await asyncio.to_thread(_gateway, database_url, "register", "lookup", "12345678", **env)
    assert missing.returncode == 1 and "KVK number 12345678 is not in the register" in missing.stderr
    kvk_server.fail_next(1, status=503)
    down = await asyncio.to_thread(_gateway, database_url, "register", "lookup", "69599084", **env)
    assert down.returncode == 1 and "KVK API unreachable: HTTP 503" in down.stderr and "Traceback" not in down.stderr
    for result in (found, missing, down):
        assert "kvk api request" in result.stderr and TEST_KEY not in result.stderr + result.stdout
    no_key = await asyncio.to_thread(
        _gateway, database_url, "register", "lookup", "68750110", GATEWAY_REGISTER_SOURCE="kvk-api"
    )
    assert no_key.returncode == 1 and "needs GATEWAY_KVK_API_KEY" in no_key.stderr

    try:
        await KvkStore(store).set_waiting("K-1", "KVK API unreachable: HTTP 503")
    finally:
        await store.close()
    waiting = await asyncio.to_thread(_gateway, database_url, "register", "waiting", "--json")
    assert json.loads(waiting.stdout)["reason"] == "KVK API unreachable: HTTP 503"


@pytest.fixture
def api_config(kvk_server: KvkContractServer) -> RegisterConfig:
    return RegisterConfig(source="kvk-api", api_url=kvk_server.base_url, api_key=TEST_KEY, timeout=2.0, backoff=0.05)


async def _exposition(store: Store) -> str:
    """The KVK families as /metrics writes them (the ops app adds them as an extension source)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.registry import Collector

    families = await kvk_metrics.kvk_metrics(store)

    class Families(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            return iter(families)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families())
    return generate_latest(registry).decode()
