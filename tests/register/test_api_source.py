"""The KVK API register source on SQLite and PostgreSQL, against the local stand-in for the
paid KVK API: cached answers, one request for a burst, records with the tariff of their date
and place in the year's volume, and why a submission waits when the API is unreachable."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from gateway.errors import InfrastructureError
from gateway.register.api_source import KvkApiRegister
from gateway.register.config import RegisterConfig
from gateway.register.tariffs import load_tariffs
from gateway.store.db import Store
from gateway.store.kvk import KvkStore
from gateway.store.tables import kvk_requests
from tests.support.kvk_contract import TEST_KEY, KvkContractServer

TODAY = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def _records(store: Store) -> list[Any]:
    async with store.engine.connect() as conn:
        return list(await conn.execute(select(kvk_requests).order_by(kvk_requests.c.id)))


async def test_answers_are_cached_and_a_not_found_for_less_long(
    store: Store, api_config: RegisterConfig, kvk_server: KvkContractServer
) -> None:
    clock = Clock(TODAY)
    register = KvkApiRegister(store, dataclasses.replace(api_config, not_found_seconds=60), clock=clock)
    try:
        company = await register.lookup("68750110")
        assert company is not None and company.name == "Test BV Donald" and company.status == "active"
        assert await register.lookup("68750110") == company
        assert await register.lookup("12345678") is None
        assert await register.lookup("12345678") is None
        assert kvk_server.requests_for("basisprofielen") == 2
        clock.at = TODAY.replace(minute=2)  # the not-found expired, the found one did not
        assert await register.lookup("12345678") is None
        assert await register.lookup("68750110") == company
        assert kvk_server.requests_for("/12345678") == 2 and kvk_server.requests_for("/68750110") == 1
    finally:
        await register.close()
    rows = await _records(store)
    assert [(r.kvk_number, r.cache_hit, r.outcome, r.http_status) for r in rows] == [
        ("68750110", False, "found", 200),
        ("68750110", True, "cache", None),
        ("12345678", False, "not_found", 404),
        ("12345678", True, "cache", None),
        ("12345678", False, "not_found", 404),
        ("68750110", True, "cache", None),
    ]
    # Today's published price: € 0.02 per Basisprofiel request, found or not; cache hits are free.
    assert [r.price_micro for r in rows] == [20_000, 0, 20_000, 0, 20_000, 0]
    assert {r.tariff_version for r in rows if not r.cache_hit} == {"kvk-published-2026-11-24"}
    assert [r.volume for r in rows if not r.cache_hit] == [1, 2, 3]


async def test_a_burst_of_100_lookups_costs_one_request(
    store: Store, api_config: RegisterConfig, kvk_server: KvkContractServer
) -> None:
    kvk_server.delay = 0.2  # the answer takes a while, so the burst is under way meanwhile
    # Two sources are two worker processes: their own in-flight maps, one store between them.
    first = KvkApiRegister(store, api_config, clock=Clock(TODAY))
    second = KvkApiRegister(store, api_config, clock=Clock(TODAY))
    try:
        found = await asyncio.gather(*(r.lookup("68750110") for r in [first, second] * 50))
    finally:
        await first.close()
        await second.close()
    assert all(c is not None and c.kvk_number == "68750110" for c in found)
    assert kvk_server.requests_for("basisprofielen") == 1
    rows = await _records(store)
    assert len(rows) == 100 and sum(not r.cache_hit for r in rows) == 1
    assert sum(r.price_micro for r in rows) == 20_000


async def test_an_unreachable_api_makes_the_submission_wait_with_its_reason(
    store: Store, api_config: RegisterConfig, kvk_server: KvkContractServer
) -> None:
    register = KvkApiRegister(store, dataclasses.replace(api_config, attempts=2), clock=Clock(TODAY))
    waits = KvkStore(store)
    try:
        kvk_server.fail_next(2, status=503)
        with pytest.raises(InfrastructureError) as err:
            await register.lookup("68750110", kenmerk="K-WAIT-1")
        assert err.value.cause.startswith("KVK API unreachable: HTTP 503 IPD9999")
        (waiting,) = await waits.waiting()
        assert (waiting.kenmerk, waiting.reason, waiting.attempts) == ("K-WAIT-1", err.value.cause, 1)
        kvk_server.fail_next(2, status=429, retry_after=0.01)
        with pytest.raises(InfrastructureError, match="HTTP 429"):
            await register.lookup("68750110", kenmerk="K-WAIT-1")
        (waiting,) = await waits.waiting()
        assert waiting.attempts == 2 and "HTTP 429" in waiting.reason
        assert await register.lookup("68750110", kenmerk="K-WAIT-1") is not None  # the API is back
        assert await waits.waiting() == []
    finally:
        await register.close()
    rows = await _records(store)
    # Failed attempts are recorded but cost nothing; nothing was cached from them.
    assert [(r.outcome, r.charged, r.price_micro) for r in rows] == [
        ("server_error", False, 0),
        ("server_error", False, 0),
        ("rate_limited", False, 0),
        ("rate_limited", False, 0),
        ("found", True, 20_000),
    ]


@pytest.mark.parametrize(
    ("at", "price", "version"),
    [
        (datetime(2021, 6, 30, 12, 0, tzinfo=UTC), None, None),
        # 22:30 UTC on 30 June is 00:30 on 1 July in the Netherlands: the 2019 version.
        (datetime(2021, 6, 30, 22, 30, tzinfo=UTC), 16_000, "frh-2019-2021-07"),
        (datetime(2021, 7, 1, 9, 0, tzinfo=UTC), 16_000, "frh-2019-2021-07"),
        (datetime(2021, 12, 31, 22, 59, tzinfo=UTC), 16_000, "frh-2019-2021-07"),
        (datetime(2021, 12, 31, 23, 0, tzinfo=UTC), None, None),  # 2022-01-01 00:00 in NL
        (datetime(2022, 1, 1, 12, 0, tzinfo=UTC), None, None),
    ],
)
async def test_each_request_is_priced_by_the_tariff_of_its_date(
    store: Store, api_config: RegisterConfig, at: datetime, price: int | None, version: str | None
) -> None:
    register = KvkApiRegister(store, api_config, clock=Clock(at))
    try:
        await register.lookup("12345678")  # not found: under the 2019 version still a paid request
    finally:
        await register.close()
    (row,) = await _records(store)
    assert (row.charged, row.price_micro, row.tariff_version) == (True, price, version)
    if price is None:
        assert row.note.endswith(f"no tariff known for {row.tariff_date}")
    else:
        assert row.tariff_article == "Artikel 3, tweede lid, onderdeel l" and row.tariff_item == "3.2.l.basisprofiel"


async def test_the_50000th_delivery_of_a_year_moves_to_the_next_band(
    store: Store, api_config: RegisterConfig, kvk_server: KvkContractServer
) -> None:
    """Under the 2014 regulation: a year that already had 49,997 Profile deliveries."""
    at = datetime(2016, 6, 1, 10, 0, tzinfo=UTC)
    key = load_tariffs().volume_key("basisprofiel", at.date())
    assert key is not None
    records = KvkStore(store)
    await records.set_volume(2016, key, 14_997)
    register = KvkApiRegister(store, api_config, clock=Clock(at))
    try:
        for kvk in ("69599084", "12345678", "90000749", "68750110", "96354429"):
            await register.lookup(kvk)
    finally:
        await register.close()
    rows = await _records(store)
    # 2014 charges per data delivery: the 404 delivered nothing, costs nothing, does not count.
    assert [(r.kvk_number, r.volume, r.price_micro, r.band) for r in rows] == [
        ("69599084", 14_998, 230_000, "1–14,999"),
        ("12345678", None, 0, None),
        ("90000749", 14_999, 230_000, "1–14,999"),
        ("68750110", 15_000, 180_000, "15,000–34,999"),
        ("96354429", 15_001, 180_000, "15,000–34,999"),
    ]
    assert rows[0].tariff_article == "Article 3, paragraph 2, n"
    assert (await records.volumes(2016)) == {key: 15_001}


def test_the_key_comes_from_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("GATEWAY_REGISTER_SOURCE", "kvk-api")
    monkeypatch.delenv("GATEWAY_KVK_API_KEY", raising=False)
    with pytest.raises(ValueError, match="needs GATEWAY_KVK_API_KEY"):
        RegisterConfig.from_env()
    key_file = tmp_path / "kvk-key"
    key_file.write_text(TEST_KEY + "\n")
    monkeypatch.setenv("GATEWAY_KVK_API_KEY_FILE", str(key_file))
    config = RegisterConfig.from_env()
    assert config.api_key == TEST_KEY and TEST_KEY not in repr(config)
    monkeypatch.setenv("GATEWAY_REGISTER_SOURCE", "kvk")
    with pytest.raises(ValueError, match="must be one of local, kvk-api"):
        RegisterConfig.from_env()
