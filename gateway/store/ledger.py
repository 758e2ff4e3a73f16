"""The MessageID ledger: which signed messages intake has accepted, kept in the database.

Every intake process shares the database (it needs it to store submissions anyway), so a
MessageID accepted by one process is known to all, with or without Redis. For one sender
and one MessageID, within the message's Timestamp validity:
- the first message is new;
- the identical message again (same digest of the signed Body) is a retransmission: for
  aanleveren it gets the kenmerk given out the first time;
- another message under that MessageID is a replay.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from gateway.store.db import Store
from gateway.store.tables import message_ids


class ClaimState(Enum):
    NEW = "new"
    RETRANSMISSION = "retransmission"
    REPLAY = "replay"


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    #: The kenmerk recorded with the MessageID (aanleveren), for a retransmission.
    kenmerk: str | None
    claimed_at: datetime


def _key(sender_subject: str, message_id: str) -> str:
    return hashlib.sha256(f"{sender_subject}\n{message_id}".encode()).hexdigest()


class MessageLedger:
    #: Expired rows are deleted at most this often (seconds) by each process.
    PURGE_EVERY = 60.0

    def __init__(self, store: Store, ttl: timedelta) -> None:
        self.store = store
        self.ttl = ttl
        self._last_purge = 0.0

    async def claim(
        self, sender_subject: str, message_id: str, digest: str, kenmerk: str | None, now: datetime
    ) -> Claim:
        """Record this MessageID for the sender, or say what it was recorded as before."""
        await self._purge(now)
        key = _key(sender_subject, message_id)
        for _ in range(2):  # a concurrent first claim (PostgreSQL): read what it recorded
            try:
                return await self._claim(key, digest, kenmerk, now)
            except IntegrityError:
                continue
        raise RuntimeError("MessageID claim kept conflicting")

    async def _claim(self, key: str, digest: str, kenmerk: str | None, now: datetime) -> Claim:
        async with self.store._write() as conn:
            row = (await conn.execute(select(message_ids).where(message_ids.c.key == key))).first()
            if row is not None and row.expires_at < now:
                await conn.execute(delete(message_ids).where(message_ids.c.key == key))
                row = None
            if row is None:
                await conn.execute(
                    insert(message_ids).values(
                        key=key, digest=digest, kenmerk=kenmerk, claimed_at=now, expires_at=now + self.ttl
                    )
                )
                return Claim(ClaimState.NEW, kenmerk, now)
            state = ClaimState.RETRANSMISSION if row.digest == digest else ClaimState.REPLAY
            return Claim(state, row.kenmerk, row.claimed_at)

    async def release(self, sender_subject: str, message_id: str) -> None:
        """Forget a MessageID whose message was not accepted after all (a technical failure),
        so that the sender may send the very same message again."""
        async with self.store._write() as conn:
            await conn.execute(delete(message_ids).where(message_ids.c.key == _key(sender_subject, message_id)))

    async def _purge(self, now: datetime) -> None:
        if time.monotonic() - self._last_purge < self.PURGE_EVERY:
            return
        self._last_purge = time.monotonic()
        async with self.store._write() as conn:
            await conn.execute(delete(message_ids).where(message_ids.c.expires_at < now))
