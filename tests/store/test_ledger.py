"""The MessageID ledger on SQLite and PostgreSQL: new, retransmission, replay, release and
expiry; two processes claiming the same MessageID at once get one answer between them."""

from __future__ import annotations

import asyncio
import datetime as dt

from gateway.store.db import Store
from gateway.store.ledger import ClaimState, MessageLedger

TTL = dt.timedelta(minutes=20)


async def test_claims(database_url: str) -> None:
    store = Store.from_url(database_url)
    await store.init_schema()
    try:
        ledger = MessageLedger(store, TTL)
        now = dt.datetime.now(dt.UTC)
        first = await ledger.claim("CN=a", "urn:uuid:1", "sha1:AAA", "k-1", now)
        assert (first.state, first.kenmerk) == (ClaimState.NEW, "k-1")
        again = await ledger.claim("CN=a", "urn:uuid:1", "sha1:AAA", "k-2", now)
        assert (again.state, again.kenmerk) == (ClaimState.RETRANSMISSION, "k-1")
        other = await ledger.claim("CN=a", "urn:uuid:1", "sha1:BBB", "k-3", now)
        assert other.state is ClaimState.REPLAY
        # Per sender: another sender's MessageID is its own.
        assert (await ledger.claim("CN=b", "urn:uuid:1", "sha1:BBB", "k-4", now)).state is ClaimState.NEW
        # Released (the message was not stored after all): the next copy is new.
        await ledger.release("CN=a", "urn:uuid:1")
        assert (await ledger.claim("CN=a", "urn:uuid:1", "sha1:AAA", "k-5", now)).state is ClaimState.NEW
        # Past the Timestamp's validity the record is gone.
        later = now + TTL + dt.timedelta(seconds=1)
        assert (await ledger.claim("CN=a", "urn:uuid:1", "sha1:CCC", "k-6", later)).state is ClaimState.NEW
    finally:
        await store.close()


async def test_two_processes_claiming_at_once(database_url: str) -> None:
    stores = [Store.from_url(database_url) for _ in range(2)]
    await stores[0].init_schema()
    try:
        ledgers = [MessageLedger(s, TTL) for s in stores]
        now = dt.datetime.now(dt.UTC)
        for i in range(10):
            claims = await asyncio.gather(
                *(
                    ledger.claim("CN=a", f"urn:uuid:race-{i}", "sha1:AAA", f"k-{n}-{i}", now)
                    for n, ledger in enumerate(ledgers)
                )
            )
            states = sorted(c.state.value for c in claims)
            assert states == ["new", "retransmission"], states
            assert claims[0].kenmerk == claims[1].kenmerk
    finally:
        for s in stores:
            await s.close()
