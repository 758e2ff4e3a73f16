"""The KVK API's tables: the answer cache, fetch claims, request records with their prices,
the yearly volumes that decide bands, and why a submission waits. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain import utc_now
from gateway.store.db import Store
from gateway.store.tables import (
    kvk_cache,
    kvk_fetches,
    kvk_requests,
    kvk_volumes,
    submission_waits,
    submissions,
)


@dataclass(frozen=True)
class CachedAnswer:
    found: bool
    entry: dict[str, Any] | None
    fetched_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class RequestRecord:
    """One look-up or HTTP attempt, before pricing. ``charged``: the tariff counts it."""

    requested_at: datetime
    tariff_date: date
    product: str
    kvk_number: str
    cache_hit: bool
    outcome: str
    charged: bool
    http_status: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class Pricing:
    """What the cost engine said about a charged request (price None: no tariff known)."""

    price_micro: int | None
    version: str | None = None
    item: str | None = None
    article: str | None = None
    band: str | None = None
    volume: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class Waiting:
    kenmerk: str
    reason: str
    since: datetime
    attempts: int


class KvkStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ cache

    async def cached(self, kvk_number: str, now: datetime | None = None) -> CachedAnswer | None:
        """A cached answer that has not expired."""
        now = now or utc_now()
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(select(kvk_cache).where(kvk_cache.c.kvk_number == kvk_number))).first()
        if row is None or row.expires_at <= now:
            return None
        return CachedAnswer(bool(row.found), row.entry, row.fetched_at, row.expires_at)

    async def remember(
        self, kvk_number: str, entry: dict[str, Any] | None, ttl: float, now: datetime | None = None
    ) -> None:
        now = now or utc_now()
        values = {
            "found": entry is not None,
            "entry": entry,
            "fetched_at": now,
            "expires_at": now + timedelta(seconds=ttl),
        }
        async with self.store._write() as conn:
            maker = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            stmt = maker(kvk_cache).values(kvk_number=kvk_number, **values)
            await conn.execute(stmt.on_conflict_do_update(index_elements=[kvk_cache.c.kvk_number], set_=values))

    async def forget(self, kvk_number: str) -> None:
        async with self.store._write() as conn:
            await conn.execute(delete(kvk_cache).where(kvk_cache.c.kvk_number == kvk_number))

    # ------------------------------------------------------------------ fetch claims

    async def claim(self, kvk_number: str, owner: str, lease: float) -> bool:
        """True if this owner may ask the API now: nobody else is, or their lease ran out."""
        now = utc_now()
        try:
            async with self.store._write() as conn:
                row = (await conn.execute(select(kvk_fetches).where(kvk_fetches.c.kvk_number == kvk_number))).first()
                if row is None:
                    await conn.execute(insert(kvk_fetches).values(kvk_number=kvk_number, owner=owner, claimed_at=now))
                    return True
                if row.claimed_at > now - timedelta(seconds=lease):
                    return False
                # Take over a stale claim only if nobody else did in between.
                taken = await conn.execute(
                    update(kvk_fetches)
                    .where(kvk_fetches.c.kvk_number == kvk_number, kvk_fetches.c.claimed_at == row.claimed_at)
                    .values(owner=owner, claimed_at=now)
                )
                return bool(taken.rowcount == 1)
        except IntegrityError:
            return False  # another process inserted its claim first

    async def release(self, kvk_number: str, owner: str) -> None:
        async with self.store._write() as conn:
            await conn.execute(
                delete(kvk_fetches).where(kvk_fetches.c.kvk_number == kvk_number, kvk_fetches.c.owner == owner)
            )

    # ------------------------------------------------------------------ records

    async def record(
        self,
        rec: RequestRecord,
        volume_key: str | None = None,
        price: Callable[[int], Pricing] | None = None,
    ) -> Pricing | None:
        """Record a look-up or attempt. A charged one with a ``volume_key`` moves that tariff
        item's yearly counter on by one and is priced by ``price(its place in the year)``,
        in the same transaction; a charged one without is recorded as "no tariff known"."""
        async with self.store._write() as conn:
            pricing: Pricing | None = None
            if rec.charged:
                if volume_key is None or price is None:
                    pricing = Pricing(None, note=f"no tariff known for {rec.tariff_date.isoformat()}")
                else:
                    pricing = price(await _next_volume(conn, rec.tariff_date.year, volume_key))
            await conn.execute(insert(kvk_requests).values(**_record_values(rec, pricing)))
            return pricing

    async def records(self, start: date, end: date) -> list[Any]:
        """Records whose Dutch tariff date is within [start, end], oldest first."""
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                select(kvk_requests)
                .where(kvk_requests.c.tariff_date >= start.isoformat(), kvk_requests.c.tariff_date <= end.isoformat())
                .order_by(kvk_requests.c.id)
            )
            return list(rows)

    async def set_volume(self, year: int, volume_key: str, count: int) -> None:
        """Set a year's running volume (operators: a year that began before this gateway counted)."""
        async with self.store._write() as conn:
            await _ensure_counter(conn, year, volume_key)
            await conn.execute(
                update(kvk_volumes)
                .where(kvk_volumes.c.year == year, kvk_volumes.c.volume_key == volume_key)
                .values(count=count)
            )

    async def volumes(self, year: int) -> dict[str, int]:
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(select(kvk_volumes).where(kvk_volumes.c.year == year))
            return {r.volume_key: int(r._mapping["count"]) for r in rows}

    # ------------------------------------------------------------------ waits

    async def set_waiting(self, kenmerk: str, reason: str) -> None:
        now = utc_now()
        async with self.store._write() as conn:
            done = await conn.execute(
                update(submission_waits)
                .where(submission_waits.c.kenmerk == kenmerk)
                .values(reason=reason, updated_at=now, attempts=submission_waits.c.attempts + 1)
            )
            if done.rowcount == 0:
                row = {"kenmerk": kenmerk, "reason": reason, "since": now, "updated_at": now, "attempts": 1}
                await conn.execute(insert(submission_waits).values(**row))

    async def clear_waiting(self, kenmerk: str) -> None:
        async with self.store.engine.connect() as conn:  # most look-ups never waited: read first
            waited = await conn.scalar(select(submission_waits.c.kenmerk).where(submission_waits.c.kenmerk == kenmerk))
        if waited is None:
            return
        async with self.store._write() as conn:
            await conn.execute(delete(submission_waits).where(submission_waits.c.kenmerk == kenmerk))

    async def waiting(self) -> list[Waiting]:
        """Unfinished submissions that wait on the infrastructure, and why (oldest first)."""
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                select(submission_waits)
                .join(submissions, submissions.c.kenmerk == submission_waits.c.kenmerk, isouter=True)
                .where((submissions.c.state.is_(None)) | (submissions.c.state != "done"))
                .order_by(submission_waits.c.since)
            )
            return [Waiting(r.kenmerk, r.reason, r.since, int(r.attempts)) for r in rows]


async def _next_volume(conn: AsyncConnection, year: int, volume_key: str) -> int:
    """This request's place in the year for its tariff item."""
    await _ensure_counter(conn, year, volume_key)
    # The UPDATE takes the row lock (PostgreSQL) / the write lock (SQLite) before the read,
    # so the count read back is this request's own place.
    where = (kvk_volumes.c.year == year, kvk_volumes.c.volume_key == volume_key)
    await conn.execute(update(kvk_volumes).where(*where).values(count=kvk_volumes.c.count + 1))
    return int(await conn.scalar(select(kvk_volumes.c.count).where(*where)) or 0)


async def _ensure_counter(conn: AsyncConnection, year: int, volume_key: str) -> None:
    dialect = conn.dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = maker(kvk_volumes).values(year=year, volume_key=volume_key, count=0).on_conflict_do_nothing()
    await conn.execute(stmt)


def _record_values(rec: RequestRecord, pricing: Pricing | None) -> dict[str, Any]:
    notes = [n for n in (rec.note, pricing.note if pricing else None) if n]
    return {
        "requested_at": rec.requested_at,
        "tariff_date": rec.tariff_date.isoformat(),
        "product": rec.product,
        "kvk_number": rec.kvk_number,
        "cache_hit": rec.cache_hit,
        "http_status": rec.http_status,
        "outcome": rec.outcome,
        "charged": rec.charged,
        "price_micro": pricing.price_micro if pricing else 0,
        "tariff_version": pricing.version if pricing else None,
        "tariff_item": pricing.item if pricing else None,
        "tariff_article": pricing.article if pricing else None,
        "band": pricing.band if pricing else None,
        "volume": pricing.volume if pricing else None,
        "note": "; ".join(notes)[:300] or None,
    }
