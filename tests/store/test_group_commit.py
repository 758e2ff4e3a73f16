"""Concurrent submissions share commits, and one that cannot be stored does not take the
others down with it."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable

import pytest
from sqlalchemy.exc import IntegrityError

from gateway.domain import utc_now
from gateway.store.db import Sender, Store
from gateway.store.ledger import Claim, ClaimState, MessageLedger
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


TTL = dt.timedelta(minutes=20)


async def test_a_messageid_is_recorded_with_its_submission_in_one_commit(database_url: str) -> None:
    store = Store.from_url(database_url)
    await store.init_schema()
    ledger = MessageLedger(store, TTL)
    try:
        now = utc_now()

        def submit(kenmerk: str, message_id: str, digest: str, at: dt.datetime = now) -> Awaitable[Claim | None]:
            claim = ledger.request(SENDER.subject, message_id, digest, kenmerk, at)
            return store.record_submission(kenmerk, _request(0), b"<raw/>", SENDER, None, at, claim=claim)

        # One group: the same message twice, and another message under that MessageID.
        first, again, replay = await asyncio.gather(
            submit("k-1", "urn:uuid:a", "sha1:A"),
            submit("k-2", "urn:uuid:a", "sha1:A"),
            submit("k-3", "urn:uuid:a", "sha1:B"),
        )
        assert first is not None and again is not None and replay is not None
        assert (first.state, again.state, replay.state) == (
            ClaimState.NEW,
            ClaimState.RETRANSMISSION,
            ClaimState.REPLAY,
        )
        assert again.kenmerk == replay.kenmerk == "k-1"
        # In a later commit, and to the ledger of the other operations: the same answers.
        later = await submit("k-4", "urn:uuid:a", "sha1:A")
        assert later is not None and (later.state, later.kenmerk) == (ClaimState.RETRANSMISSION, "k-1")
        assert (await ledger.claim(SENDER.subject, "urn:uuid:a", "sha1:B", None, now)).state is ClaimState.REPLAY
        assert [row.kenmerk for row in await store.list_submissions(limit=None)] == ["k-1"]
        # Past the Timestamp's validity the record is replaced.
        expired = await submit("k-5", "urn:uuid:a", "sha1:C", now + TTL + dt.timedelta(seconds=1))
        assert expired is not None and expired.state is ClaimState.NEW
        # A submission that cannot be stored (its kenmerk is taken) spends no MessageID.
        with pytest.raises(IntegrityError):
            await submit("k-1", "urn:uuid:b", "sha1:A")
        fresh = await submit("k-6", "urn:uuid:b", "sha1:A")
        assert fresh is not None and (fresh.state, fresh.kenmerk) == (ClaimState.NEW, "k-6")
    finally:
        await store.close()


async def test_two_processes_storing_one_messageid_at_once(database_url: str) -> None:
    stores = [Store.from_url(database_url) for _ in range(2)]
    await stores[0].init_schema()
    try:
        ledgers = [MessageLedger(s, TTL) for s in stores]
        now = utc_now()
        for i in range(10):
            claims = await asyncio.gather(
                *(
                    store.record_submission(
                        f"k-{n}-{i}",
                        _request(i),
                        b"<raw/>",
                        SENDER,
                        None,
                        now,
                        claim=ledger.request(SENDER.subject, f"urn:uuid:race-{i}", "sha1:A", f"k-{n}-{i}", now),
                    )
                    for n, (store, ledger) in enumerate(zip(stores, ledgers, strict=True))
                )
            )
            assert sorted(c.state.value for c in claims if c is not None) == ["new", "retransmission"]
            assert claims[0] is not None and claims[1] is not None and claims[0].kenmerk == claims[1].kenmerk
        assert len(await stores[0].list_submissions(limit=None)) == 10
    finally:
        for s in stores:
            await s.close()


async def test_what_a_group_commit_writes_reads_back_as_written(database_url: str) -> None:
    # On SQLite the group commit writes through the driver, not SQLAlchemy: every value must
    # read back through SQLAlchemy as given (times in UTC to the microsecond, bytes, texts).
    store = Store.from_url(database_url)
    await store.init_schema()
    ledger = MessageLedger(store, TTL)
    try:
        received = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
        request = AanleverRequest(
            "Jaarverantwoording_KvK",
            Identiteit("12345678", "KvK"),
            "Bedrijf",
            [
                Part(0, "application/xml", "jaarrekening é.xbrl", b"<x>\x00\xff</x>"),
                Part(1, "application/pdf", "b.pdf", b"%PDF"),
            ],
            aanleverkenmerk="JR-1",
            identiteit_ontvanger=Identiteit("00000001999999999000", "OIN"),
        )
        claim = ledger.request(SENDER.subject, "urn:uuid:written", "sha1:W", "k-w", received)
        await store.record_submission(
            "k-w", request, b"<raw>\xe2\x82\xac</raw>", SENDER, "a@example.test", received, claim=claim
        )
        row = await store.get_submission("k-w")
        assert row is not None
        assert (row.received_at, row.updated_at) == (received, received)
        assert (row.aanleverkenmerk, row.ontvanger_nummer, row.notify_address) == (
            "JR-1",
            "00000001999999999000",
            "a@example.test",
        )
        assert (row.sender_subject, row.sender_oin, row.state, row.run) == (SENDER.subject, SENDER.oin, "queued", 1)
        assert await store.get_raw("k-w") == b"<raw>\xe2\x82\xac</raw>"
        docs = await store.get_documents("k-w")
        assert [(d.bestandsnaam, d.content, d.size) for d in docs] == [
            ("jaarrekening é.xbrl", b"<x>\x00\xff</x>", 9),
            ("b.pdf", b"%PDF", 4),
        ]
        history = await store.status_history("k-w")
        assert [(s.code, s.created_at) for s in history] == [
            ("105", received),
            ("100", received + dt.timedelta(milliseconds=1)),
        ]
        # The MessageID record, read by the ledger of the other operations.
        again = await ledger.claim(SENDER.subject, "urn:uuid:written", "sha1:W", None, received)
        assert (again.state, again.kenmerk, again.claimed_at) == (ClaimState.RETRANSMISSION, "k-w", received)
    finally:
        await store.close()
