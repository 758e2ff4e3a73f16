"""The worker's grouped transactions (gateway/store/runs.py): many runs claimed or finished in
one transaction, each with the outcome it would have had alone. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from gateway.domain import FilingClaim, Finding, Outcome, Sender, statuses_for, utc_now
from gateway.store.db import DuplicateAdoptedFiling, StaleClaim, Store
from gateway.store.runs import FinishedRun, Runs
from gateway.store.tables import filings
from gateway.wus.messages import AanleverRequest, Identiteit, Part
from tests.conftest import DEFAULT_COMPANY

SENDER = Sender("CN=Filer,O=Test,C=NL", "00000003123456780000")
ERROR = Finding("GW-KVK-07", "error", "Onbekend KVK-nummer", "Unknown KVK number", None)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    s = Store.from_url(database_url)
    await s.init_schema()
    await s.upsert_company(dict(DEFAULT_COMPANY))
    yield s
    await s.close()


async def _submit(store: Store, kvk: str = "12345678", address: str | None = "filer@example.test") -> str:
    k = str(uuid.uuid4())
    req = AanleverRequest(
        "Jaarverantwoording_KvK",
        Identiteit(kvk, "KvK"),
        "Bedrijf",
        [Part(0, "application/xml", "j.xbrl", b"<x/>"), Part(1, "application/pdf", "b.pdf", b"%PDF")],
    )
    await store.record_submission(k, req, b"<raw/>", SENDER, address, utc_now())
    return k


def _accepted(k: str, claim: FilingClaim | None) -> FinishedRun:
    entries = tuple(statuses_for(Outcome.ACCEPTED, []))
    return FinishedRun(k, 1, str(Outcome.ACCEPTED), entries, (), claim, "12345678", 2024)


def _rejected(k: str) -> FinishedRun:
    entries = tuple(statuses_for(Outcome.REJECTED, [ERROR], "details"))
    return FinishedRun(k, 1, str(Outcome.REJECTED), entries, (ERROR,), None, "12345678", 2024)


async def _active(store: Store) -> list[tuple[str, bool]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(filings.c.kenmerk, filings.c.adopted).where(filings.c.active.is_(True)).order_by(filings.c.id)
        )
        return [(r.kenmerk, r.adopted) for r in rows]


async def test_a_claim_records_110_once_and_loads_what_the_checks_read(store: Store) -> None:
    a, b, other = await _submit(store), await _submit(store), await _submit(store, kvk="87654321")
    runs = Runs(store)
    assert await runs.finish([_accepted(a, FilingClaim("12345678", 2024, adopted=True))]) == [True]
    claimed = await runs.claim([(a, 1), (b, 1), (b, 2), (other, 1)], with_company=True)
    assert claimed[0] is None  # finished already
    assert claimed[2] is None  # not the current run
    mine, theirs = claimed[1], claimed[3]
    assert mine is not None and theirs is not None
    assert [d.position for d in mine.documents] == [0, 1] and mine.documents[0].content == b"<x/>"
    assert mine.documents[1].content is None and mine.documents[1].size == 4  # a bijlage is not read
    assert not mine.web_filing and mine.belanghebbende_nummer == "12345678"
    assert [(f.kenmerk, f.financial_year, f.adopted) for f in mine.on_file] == [(a, 2024, True)]
    assert mine.company is not None and mine.company.name == DEFAULT_COMPANY["name"]
    assert theirs.company is None and theirs.on_file == ()  # not in the register, nothing on file
    again = await runs.claim([(b, 1)])
    assert again[0] is not None and again[0].company is None  # not asked for
    assert [s.code for s in await store.status_history(b)] == ["105", "100", "110"]


async def test_a_batch_of_outcomes_is_written_as_each_would_be_alone(store: Store) -> None:
    first, second, rejected = await _submit(store), await _submit(store), await _submit(store, address=None)
    runs = Runs(store)
    await runs.claim([(first, 1), (second, 1), (rejected, 1)])
    # Both saw nothing on file and claim the adopted statement of 2024: the first in the
    # batch registers it, the second is stale (its checks must see the first's).
    claim = FilingClaim("12345678", 2024, adopted=True)
    results = await runs.finish([_accepted(first, claim), _accepted(second, claim), _rejected(rejected)])
    assert results[0] is True  # a mail waits
    assert isinstance(results[1], StaleClaim)
    assert results[2] is False  # no address: nothing to mail
    assert await _active(store) == [(first, True)]
    assert [s.code for s in await store.status_history(first)][-1] == "500"
    assert [s.code for s in await store.status_history(second)] == ["105", "100", "110"]  # nothing written
    history = await store.status_history(rejected)
    assert [s.code for s in history] == ["105", "100", "110", "200", "311"]
    assert history[-1].foutcode == "GW-KVK-07" and history[-1].created_at > history[-2].created_at
    assert [f.code for f in await store.findings_for(rejected, 1)] == ["GW-KVK-07"]
    note = await store.get_notification(first, 1)
    assert note is not None and note.state == "pending" and note.recipient == "filer@example.test"
    assert (await store.get_notification(rejected, 1)).state == "skipped"  # type: ignore[union-attr]
    # The same outcomes again (a job that ran twice): nothing is written twice.
    assert await runs.finish([_accepted(first, claim), _rejected(rejected)]) == [False, False]
    assert len(await store.findings_for(rejected)) == 1


async def test_the_run_that_loses_the_adopted_filing_race_alone_gets_the_duplicate(store: Store) -> None:
    on_file, loser, bystander = await _submit(store), await _submit(store), await _submit(store)
    runs = Runs(store)
    await runs.finish([_accepted(on_file, FilingClaim("12345678", 2024, adopted=True))])
    [existing] = [f.id for f in await store.filings_on_file("12345678", 2024)]
    # Saw the adopted one on file but does not replace it: the unique index refuses it.
    wrong = FilingClaim("12345678", 2024, adopted=True, seen=(existing,))
    results = await runs.finish([_accepted(loser, wrong), _rejected(bystander)])
    assert isinstance(results[0], DuplicateAdoptedFiling)
    assert results[1] is True
    assert [s.code for s in await store.status_history(bystander)][-1] == "311"
    assert (await store.get_submission(loser)).state != "done"  # type: ignore[union-attr]
    assert await _active(store) == [(on_file, True)]
