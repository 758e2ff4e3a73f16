"""MessageID claims: the rows behind the ledger (ledger.py). The intake's group commit
(db.py) writes them too, so that a submission and its MessageID are committed together.

For one sender and one MessageID, within the message's Timestamp validity:
- the first message is new;
- the identical message again (same digest of the signed Body) is a retransmission: for
  aanleveren it gets the kenmerk given out the first time;
- another message under that MessageID is a replay.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from gateway.store.statements import Statements
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


@dataclass(frozen=True)
class ClaimRequest:
    """A MessageID to record for a sender (``key``), with what was signed (``digest``)."""

    key: str
    digest: str
    kenmerk: str | None
    now: datetime
    ttl: timedelta


def claim_key(sender_subject: str, message_id: str) -> str:
    return hashlib.sha256(f"{sender_subject}\n{message_id}".encode()).hexdigest()


async def claim_rows(sql: Statements, requests: Sequence[ClaimRequest]) -> list[Claim]:
    """Record each MessageID in the caller's transaction, or say what it was recorded as;
    a MessageID twice among ``requests`` is judged against the first. One SELECT for all,
    then at most one DELETE (expired records) and one INSERT. On PostgreSQL a record
    committed meanwhile by another process fails the INSERT (IntegrityError): the caller
    runs the claim again, and this SELECT then finds it."""
    found = await sql.select_in(message_ids, "key", {r.key for r in requests})
    rows = {row["key"]: row for row in found}
    # What each key is recorded as: (digest, kenmerk, claimed_at).
    live: dict[str, tuple[str, str | None, datetime]] = {}
    expired: list[str] = []
    new_rows: list[dict[str, object]] = []
    claims: list[Claim] = []
    for r in requests:
        row = rows.pop(r.key, None)
        if row is not None and row["expires_at"] < r.now:
            expired.append(r.key)
        elif row is not None:
            live[r.key] = (row["digest"], row["kenmerk"], row["claimed_at"])
        seen = live.get(r.key)
        if seen is None:
            live[r.key] = (r.digest, r.kenmerk, r.now)
            new_rows.append(
                {
                    "key": r.key,
                    "digest": r.digest,
                    "kenmerk": r.kenmerk,
                    "claimed_at": r.now,
                    "expires_at": r.now + r.ttl,
                }
            )
            claims.append(Claim(ClaimState.NEW, r.kenmerk, r.now))
        else:
            digest, kenmerk, claimed_at = seen
            state = ClaimState.RETRANSMISSION if digest == r.digest else ClaimState.REPLAY
            claims.append(Claim(state, kenmerk, claimed_at))
    if expired:
        await sql.delete_in(message_ids, "key", expired)
    if new_rows:
        await sql.insert_many(message_ids, new_rows)
    return claims
