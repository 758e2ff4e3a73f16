"""Runs that register filings for the same company and year, finishing at the same moment
(issue 11 item 4): no deadlock, and never two active filings where one must replace the
other. On SQLite and PostgreSQL, through the store's own calls."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from gateway.domain import FilingClaim, Outcome, Sender, statuses_for, utc_now
from gateway.store.db import StaleClaim, Store
from gateway.store.runs import FinishedRun, Runs
from gateway.store.tables import filings
from gateway.wus.messages import AanleverRequest, Identiteit, Part

SENDER = Sender("CN=Filer,O=Test,C=NL", "00000003123456780000")


async def _submitted(store: Store, n: int) -> list[str]:
    out = []
    for i in range(n):
        k = str(uuid.uuid4())
        req = AanleverRequest(
            "Jaarverantwoording_KvK",
            Identiteit("12345678", "KvK"),
            "Bedrijf",
            [Part(0, "application/xml", "j.xbrl", b"<x/>")],
        )
        await store.record_submission(k, req, f"<raw{i}/>".encode(), SENDER, None, utc_now())
        assert (await Runs(store).claim([(k, 1)]))[0] is not None
        out.append(k)
    return out


async def _active(store: Store) -> list[int]:
    async with store.engine.connect() as conn:
        return list(await conn.scalars(select(filings.c.id).where(filings.c.active.is_(True)).order_by(filings.c.id)))


async def _finish(store: Store, kenmerk: str, seen: tuple[int, ...]) -> str:
    """What the worker does: accept, replacing what the checks saw on file; on a stale
    decision, look again (as the checks would) and retry."""
    for _ in range(50):
        claim = FilingClaim("12345678", 2024, adopted=False, supersedes=seen, seen=seen)
        result = FinishedRun(
            kenmerk,
            1,
            outcome=Outcome.ACCEPTED,
            entries=tuple(statuses_for(Outcome.ACCEPTED, [])),
            found=(),
            claim=claim,
            kvk_number="12345678",
            financial_year=2024,
        )
        [finished] = await Runs(store).finish([result])
        if isinstance(finished, StaleClaim):
            seen = tuple(r.id for r in await store.filings_on_file("12345678", 2024))
            continue
        if isinstance(finished, Exception):
            raise finished
        assert finished is False  # no notification address: nothing to mail
        return "accepted"
    raise AssertionError("never got through")


@pytest.mark.parametrize("racers", [8])
async def test_acceptances_for_one_company_and_year_replace_each_other_without_deadlock(
    database_url: str, racers: int
) -> None:
    store = Store.from_url(database_url)
    await store.init_schema()
    try:
        first, *others = await _submitted(store, racers + 1)
        assert await _finish(store, first, ()) == "accepted"
        on_file = tuple(await _active(store))
        # Every racer saw the same filing on file and replaces it.
        results = await asyncio.gather(*(_finish(store, k, on_file) for k in others), return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
        active = await _active(store)
        assert len(active) == 1, f"{len(active)} active filings for one company and year"
        for k in others:
            assert (await store.get_submission(k)).final_status == "500"  # type: ignore[union-attr]
    finally:
        await store.close()
