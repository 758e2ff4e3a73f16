"""The MessageID ledger: which signed messages intake has accepted, kept in the database.

Every intake process shares the database (it needs it to store submissions anyway), so a
MessageID accepted by one process is known to all, with or without Redis. What a claim
answers (new, retransmission, replay) is in claims.py; aanleveren's claims are written in
the group commit that stores the submission (Store.record_submission), the other
operations' here.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from gateway.store.claims import Claim, ClaimRequest, ClaimState, claim_key, claim_rows
from gateway.store.db import Store
from gateway.store.statements import statements
from gateway.store.tables import message_ids

__all__ = ["Claim", "ClaimRequest", "ClaimState", "MessageLedger"]


class MessageLedger:
    #: Expired rows are deleted at most this often (seconds) by each process.
    PURGE_EVERY = 60.0

    def __init__(self, store: Store, ttl: timedelta) -> None:
        self.store = store
        self.ttl = ttl
        self._last_purge = 0.0

    def request(
        self, sender_subject: str, message_id: str, digest: str, kenmerk: str | None, now: datetime
    ) -> ClaimRequest:
        """A claim of this MessageID for the sender, to be recorded (here or with a submission)."""
        return ClaimRequest(claim_key(sender_subject, message_id), digest, kenmerk, now, self.ttl)

    async def claim(
        self, sender_subject: str, message_id: str, digest: str, kenmerk: str | None, now: datetime
    ) -> Claim:
        """Record this MessageID for the sender, or say what it was recorded as before."""
        await self.purge(now)
        request = self.request(sender_subject, message_id, digest, kenmerk, now)
        for _ in range(2):  # a concurrent first claim (PostgreSQL): read what it recorded
            try:
                async with self.store._write() as conn:
                    return (await claim_rows(statements(conn), [request]))[0]
            except IntegrityError:
                continue
        raise RuntimeError("MessageID claim kept conflicting")

    async def release(self, sender_subject: str, message_id: str) -> None:
        """Forget a MessageID whose message was not accepted after all (a technical failure),
        so that the sender may send the very same message again."""
        async with self.store._write() as conn:
            await conn.execute(delete(message_ids).where(message_ids.c.key == claim_key(sender_subject, message_id)))

    async def purge(self, now: datetime) -> None:
        """Delete expired records, at most every PURGE_EVERY seconds."""
        if time.monotonic() - self._last_purge < self.PURGE_EVERY:
            return
        self._last_purge = time.monotonic()
        async with self.store._write() as conn:
            await conn.execute(delete(message_ids).where(message_ids.c.expires_at < now))
