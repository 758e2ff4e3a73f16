"""The KVK API client against a local server that stands in for the paid KVK API: it
implements the documented contract and answers as KVK's test environment did in the
recordings (tests/support/kvk_contract.py), including its errors and rate limiting."""

from __future__ import annotations

import dataclasses
import time

import pytest
import structlog

from gateway import logs
from gateway.errors import InfrastructureError
from gateway.register.config import RegisterConfig
from gateway.register.entry import RegisterEntry
from gateway.register.kvk_api import Attempt, KvkApiClient
from tests.support.kvk_contract import TEST_KEY, KvkContractServer, basisprofiel


class Attempts(list[Attempt]):
    async def __call__(self, attempt: Attempt) -> None:
        self.append(attempt)


async def _client(config: RegisterConfig) -> tuple[KvkApiClient, Attempts]:
    seen = Attempts()
    return KvkApiClient(config, on_attempt=seen), seen


async def test_recorded_profiles_map_to_what_the_checks_need(api_config: RegisterConfig) -> None:
    client, seen = await _client(api_config)
    try:
        emz = (await client.basisprofiel("69599084")).entry
        vve = (await client.basisprofiel("90000749")).entry
        bv = (await client.basisprofiel("68750110")).entry
        gone = (await client.basisprofiel("96354429")).entry
    finally:
        await client.close()
    assert emz == RegisterEntry(
        "69599084", "Test EMZ Dagobert", "Eenmanszaak", "Eenmanszaak", "2017-01-08", None, "active"
    )
    assert vve is not None and (vve.name, vve.legal_form, vve.registered_from) == (
        "Global Conron",
        "Vereniging van Eigenaars",
        "1999-11-03",
    )
    assert bv is not None and bv.legal_form == "Besloten vennootschap met beperkte aansprakelijkheid"
    assert bv.registered_as == "Besloten vennootschap met gewone structuur"
    assert gone is not None and (gone.status, gone.registered_until) == ("dissolved", "2023-06-30")
    assert [a.outcome for a in seen] == ["found"] * 4 and all(a.http_status == 200 for a in seen)


async def test_unknown_number_is_the_recorded_404_ipd0005(
    api_config: RegisterConfig, kvk_server: KvkContractServer
) -> None:
    client, seen = await _client(api_config)
    try:
        answer = await client.basisprofiel("12345678")
    finally:
        await client.close()
    assert answer.entry is None and answer.http_status == 404 and answer.code == "IPD0005"
    assert answer.message == "Op basis van het KVK-nummer 12345678 kan het product niet worden geleverd."
    assert [(a.outcome, a.http_status, a.answered, a.delivered) for a in seen] == [("not_found", 404, True, False)]
    assert kvk_server.received == [("/test/api/v1/basisprofielen/12345678", True)]


async def test_invalid_numbers_are_400_ipd0006_and_ipd0004(api_config: RegisterConfig) -> None:
    client, seen = await _client(api_config)
    try:
        branch = await client.vestigingsprofiel("12345678")
        malformed = await client.basisprofiel("1234567x")
    finally:
        await client.close()
    assert (branch.http_status, branch.code, branch.message) == (
        400,
        "IPD0006",
        "Het vestigingsnummer 12345678 is niet valide.",
    )
    assert (malformed.entry, malformed.http_status, malformed.code) == (None, 400, "IPD0004")
    assert [a.product for a in seen] == ["vestigingsprofiel", "basisprofiel"]


async def test_rate_limiting_is_waited_out(api_config: RegisterConfig, kvk_server: KvkContractServer) -> None:
    kvk_server.fail_next(2, status=429, retry_after=0.2)
    client, seen = await _client(api_config)
    started = time.monotonic()
    try:
        answer = await client.basisprofiel("69599084")
    finally:
        await client.close()
    assert answer.entry is not None
    assert time.monotonic() - started >= 0.4  # Retry-After honoured twice
    assert [(a.outcome, a.http_status) for a in seen] == [("rate_limited", 429), ("rate_limited", 429), ("found", 200)]
    assert not seen[0].answered


async def test_the_servers_own_rate_limit_is_waited_out(
    api_config: RegisterConfig, kvk_server: KvkContractServer
) -> None:
    kvk_server.per_second = 3
    client, seen = await _client(dataclasses.replace(api_config, backoff=0.4))
    try:
        answers = [await client.basisprofiel("69599084") for _ in range(5)]
    finally:
        await client.close()
    assert all(a.entry is not None for a in answers)
    assert [a.outcome for a in seen].count("rate_limited") >= 1


async def test_server_errors_are_retried_with_backoff(
    api_config: RegisterConfig, kvk_server: KvkContractServer
) -> None:
    kvk_server.fail_next(2, status=503)
    client, seen = await _client(api_config)
    try:
        answer = await client.basisprofiel("69599084")
    finally:
        await client.close()
    assert answer.entry is not None
    assert [a.outcome for a in seen] == ["server_error", "server_error", "found"]


async def test_persistent_rate_limit_is_never_a_verdict(
    api_config: RegisterConfig, kvk_server: KvkContractServer
) -> None:
    kvk_server.fail_next(10, status=429, retry_after=0.05)
    client, seen = await _client(api_config)
    try:
        with pytest.raises(InfrastructureError) as err:
            await client.basisprofiel("69599084")
    finally:
        await client.close()
    assert err.value.cause.startswith("KVK API unreachable: HTTP 429")
    assert "after 4 attempts" in err.value.cause and len(seen) == 4


async def test_a_retry_after_beyond_the_deadline_gives_up_at_once(
    api_config: RegisterConfig, kvk_server: KvkContractServer
) -> None:
    kvk_server.fail_next(1, status=429, retry_after=60)
    client, _ = await _client(api_config)
    started = time.monotonic()
    try:
        with pytest.raises(InfrastructureError, match="HTTP 429"):
            await client.basisprofiel("69599084")
    finally:
        await client.close()
    assert time.monotonic() - started < 2


async def test_no_server_and_a_slow_server_are_unreachable(
    api_config: RegisterConfig, kvk_server: KvkContractServer
) -> None:
    kvk_server.delay = 1.0
    client, seen = await _client(dataclasses.replace(api_config, timeout=0.3, attempts=2))
    try:
        with pytest.raises(InfrastructureError, match=r"^KVK API unreachable: no answer within 0.3 s \(after 2"):
            await client.basisprofiel("69599084")
    finally:
        await client.close()
    assert [a.outcome for a in seen] == ["unreachable", "unreachable"]
    kvk_server.stop()
    client, _ = await _client(dataclasses.replace(api_config, attempts=2))
    try:
        with pytest.raises(InfrastructureError, match="KVK API unreachable: ClientConnectorError"):
            await client.basisprofiel("69599084")
    finally:
        await client.close()


async def test_a_refused_key_is_not_retried(api_config: RegisterConfig) -> None:
    client, seen = await _client(dataclasses.replace(api_config, api_key="wrong-key"))
    try:
        with pytest.raises(InfrastructureError, match=r"refused the request \(HTTP 401"):
            await client.basisprofiel("69599084")
    finally:
        await client.close()
    assert len(seen) == 1


async def test_the_api_key_is_never_logged(
    api_config: RegisterConfig, kvk_server: KvkContractServer, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("DEBUG")
    structlog.configure(cache_logger_on_first_use=False)  # log to this test's captured stderr
    try:
        kvk_server.fail_next(1, status=429, retry_after=0.01)
        kvk_server.fail_next(1, status=500)
        client, _ = await _client(api_config)
        try:
            await client.basisprofiel("69599084")
            await client.basisprofiel("12345678")
            kvk_server.fail_next(10, status=503)
            with pytest.raises(InfrastructureError) as err:
                await client.basisprofiel("68750110")
        finally:
            await client.close()
        out = capsys.readouterr()
    finally:
        structlog.reset_defaults()
    assert "kvk api request" in out.err  # the attempts were logged ...
    assert TEST_KEY not in out.err + out.out  # ... without the key
    assert TEST_KEY not in str(err.value) and TEST_KEY not in repr(api_config)
    assert all(with_key for _, with_key in kvk_server.received)  # while every request carried it


async def test_control_and_bidi_characters_from_the_api_are_neutralised(
    api_config: RegisterConfig, kvk_server: KvkContractServer
) -> None:
    kvk_server.extra["90001354"] = basisprofiel(
        "90001354", "Evil\u202eV.B\u202c\nTweede regel\x07", "Besloten\u200bVennootschap", "Besloten vennootschap"
    )
    client, _ = await _client(api_config)
    try:
        entry = (await client.basisprofiel("90001354")).entry
    finally:
        await client.close()
    assert entry is not None and entry.name == "EvilV.B Tweede regel"
    assert entry.registered_as == "Besloten vennootschap"
    assert entry.legal_form == "Besloten vennootschap met beperkte aansprakelijkheid"
