"""Concurrent submissions share commits, and one that cannot be stored does not take the
others down with it."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.exc import IntegrityError

from gateway.domain import utc_now
from gateway.store.db import Sender, Store
from gateway.wus.messages import AanleverRequest, Identiteit, Part

SENDER = Sender("CN=Test,C=NL", "00000003123456780000")


def _request(i: int) -> AanleverRequest:
    return AanleverRequest(
        "Jaarverantwoording_KvK",
        Identiteit("12345678", "KvK"),
        "Bedrijf",
        [Part(0, "application/xml", "j.xbrl", f"<x>{i}</x>".encode())],
        aanleverkenmerk=f"g{i}",
    )


async def test_concurrent_submissions_are_all_stored_and_a_bad_one_fails_alone(database_url: str) -> None:
    store = Store.from_url(database_url)
    await store.init_schema()
    try:
        kenmerken = [str(uuid.uuid4()) for _ in range(30)]
        kenmerken[17] = kenmerken[3]  # a duplicate key: this one cannot be stored
        results = await asyncio.gather(
            *(
                store.record_submission(k, _request(i), b"<raw/>", SENDER, None, utc_now())
                for i, k in enumerate(kenmerken)
            ),
            return_exceptions=True,
        )
        failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
        assert len(failed) == 1 and failed[0] in (3, 17)
        assert isinstance(results[failed[0]], IntegrityError)
        stored = await store.list_submissions(limit=None)
        assert len(stored) == 29
        for row in stored:
            assert [s.code for s in await store.status_history(row.kenmerk)] == ["105", "100"]
    finally:
        await store.close()


async def test_a_lone_submission_is_committed_before_the_call_returns(sqlite_url: str) -> None:
    store = Store.from_url(sqlite_url)
    await store.init_schema()
    try:
        k = str(uuid.uuid4())
        await store.record_submission(k, _request(1), b"<raw/>", SENDER, None, utc_now())
        other = Store.from_url(sqlite_url)  # a second connection sees it: it is committed
        try:
            assert await other.get_submission(k) is not None
        finally:
            await other.close()
    finally:
        await store.close()
