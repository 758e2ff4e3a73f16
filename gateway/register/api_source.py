"""The register behind the KVK API: cached in the store, one request per company per burst,
every look-up and request recorded with its price.

A burst of filings for one company costs one request: look-ups in this process that arrive
while one is under way share its answer, and processes share the answer through the store's
cache, with a claim row so that only one of them asks the API while the others wait for the
cache to fill. An unreachable API raises ``InfrastructureError``; the submission on whose
behalf it was asked gets a waiting reason that operators can read (``KvkStore.waiting``).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from gateway.domain import Company, utc_now
from gateway.errors import InfrastructureError
from gateway.register.config import RegisterConfig
from gateway.register.entry import RegisterEntry, dutch_date
from gateway.register.kvk_api import Attempt, KvkApiClient
from gateway.register.tariffs import Charge, Tariffs, load_tariffs
from gateway.store.db import Store
from gateway.store.kvk import KvkStore, Pricing, RequestRecord

PRODUCT = "basisprofiel"
#: How often a process waiting for another one's request looks at the cache.
POLL_SECONDS = 0.05


def pricing_for(tariffs: Tariffs, product: str, at: datetime) -> Callable[[int], Pricing]:
    """The cost engine as the recorder calls it: a request's place in the year -> its price."""
    day = dutch_date(at)

    def price(volume: int) -> Pricing:
        charge = tariffs.price(product, day, volume)
        if not isinstance(charge, Charge):
            return Pricing(None, volume=volume, note=charge.reason)
        return Pricing(charge.micro_euros, charge.version, charge.item, charge.article, charge.band, volume)

    return price


class KvkApiRegister:
    def __init__(
        self,
        store: Store,
        config: RegisterConfig,
        *,
        tariffs: Tariffs | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.records = KvkStore(store)
        self.config = config
        self.tariffs = tariffs or load_tariffs()
        self.clock = clock
        self.client = KvkApiClient(config, on_attempt=self._record_attempt, clock=clock)
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._inflight: dict[str, asyncio.Future[RegisterEntry | None]] = {}

    async def close(self) -> None:
        await self.client.close()

    async def lookup(self, kvk_number: str, *, kenmerk: str | None = None) -> Company | None:
        try:
            entry = await self.entry(kvk_number)
        except InfrastructureError as exc:
            if kenmerk:
                await self.records.set_waiting(kenmerk, exc.cause)
            raise
        if kenmerk:
            await self.records.clear_waiting(kenmerk)
        return entry.to_company() if entry else None

    async def entry(self, kvk_number: str) -> RegisterEntry | None:
        shared = self._inflight.get(kvk_number)
        if shared is not None:
            result = await asyncio.shield(shared)
            await self._record_hit(kvk_number, "answer shared with a look-up under way")
            return result
        future: asyncio.Future[RegisterEntry | None] = asyncio.get_running_loop().create_future()
        self._inflight[kvk_number] = future
        try:
            result = await self._resolve(kvk_number)
        except BaseException as exc:
            # Look-ups sharing this one must not be cancelled with it (its job timed out,
            # say): to them it is an infrastructure failure, retried like any other.
            shared_exc = (
                exc
                if isinstance(exc, Exception)
                else InfrastructureError(f"KVK API unreachable: the look-up of {kvk_number} was interrupted")
            )
            future.set_exception(shared_exc)
            future.exception()  # retrieved: nobody may be waiting for it
            raise
        finally:
            del self._inflight[kvk_number]
        future.set_result(result)
        return result

    async def _resolve(self, kvk_number: str) -> RegisterEntry | None:
        lease = self.config.deadline + 5
        give_up = time.monotonic() + lease + 5
        while True:
            hit = await self._cached(kvk_number)
            if hit is not None:
                return hit[0]
            if await self.records.claim(kvk_number, self.owner, lease):
                try:
                    hit = await self._cached(kvk_number)  # filled between our look and our claim?
                    return hit[0] if hit is not None else await self._fetch(kvk_number)
                finally:
                    await self.records.release(kvk_number, self.owner)
            if time.monotonic() > give_up:
                cause = f"KVK API unreachable: another worker's look-up of {kvk_number} did not finish"
                raise InfrastructureError(cause)
            await asyncio.sleep(POLL_SECONDS)

    async def _cached(self, kvk_number: str) -> tuple[RegisterEntry | None] | None:
        answer = await self.records.cached(kvk_number, self.clock())
        if answer is None:
            return None
        await self._record_hit(kvk_number, None)
        return (RegisterEntry.from_json(answer.entry) if answer.found and answer.entry else None,)

    async def _fetch(self, kvk_number: str) -> RegisterEntry | None:
        answer = await self.client.basisprofiel(kvk_number)
        ttl = self.config.cache_seconds if answer.entry is not None else self.config.not_found_seconds
        await self.records.remember(kvk_number, answer.entry.as_json() if answer.entry else None, ttl, self.clock())
        return answer.entry

    async def _record_hit(self, kvk_number: str, note: str | None) -> None:
        at = self.clock()
        rec = RequestRecord(at, dutch_date(at), PRODUCT, kvk_number, True, "cache", False, note=note)
        await self.records.record(rec)

    async def _record_attempt(self, attempt: Attempt) -> None:
        day = dutch_date(attempt.at)
        # What a request is charged for depends on the version in force; on a date no
        # version covers, an answered request is recorded as charged at "no tariff known".
        per = self.tariffs.charged_per(day)
        charged = attempt.delivered if per == "delivery" else attempt.answered
        rec = RequestRecord(
            attempt.at,
            day,
            attempt.product,
            attempt.kvk_number,
            False,
            attempt.outcome,
            charged,
            http_status=attempt.http_status,
            note=attempt.note,
        )
        key = self.tariffs.volume_key(attempt.product, day)
        await self.records.record(rec, key, pricing_for(self.tariffs, attempt.product, attempt.at))
