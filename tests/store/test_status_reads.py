"""What a sender may read of its statuses, and what getNieuweStatussenProces marks as read."""

from __future__ import annotations

import uuid

from gateway.domain import Sender, utc_now
from gateway.store.db import Store
from gateway.store.runs import Runs
from gateway.wus.messages import AanleverRequest, Identiteit, Part

OWNER = Sender("CN=Owner,O=Test,C=NL", "00000003123456780000")
OTHER = Sender("CN=Other,O=Test,C=NL", "00000003876543210000")


async def test_reading_statuses_marks_only_what_the_new_statuses_call_hands_out(database_url: str) -> None:
    store = Store.from_url(database_url)
    await store.init_schema()
    try:
        k = str(uuid.uuid4())
        req = AanleverRequest(
            "Jaarverantwoording_KvK",
            Identiteit("12345678", "KvK"),
            "Bedrijf",
            [Part(0, "application/xml", "j", b"<x/>")],
        )
        await store.record_submission(k, req, b"<raw/>", OWNER, None, utc_now())
        assert await store.statuses_for_sender(k, OTHER) is None  # not theirs: as if unknown
        assert await store.take_new_statuses_for_sender(k, OTHER) is None
        everything = await store.statuses_for_sender(k, OWNER)
        assert [r.code for r in everything or []] == ["105", "100"]
        assert all(r.fetched_at is None for r in everything or [])  # reading marks nothing
        assert [r.code for r in await store.take_new_statuses_for_sender(k, OWNER) or []] == ["105", "100"]
        assert await store.take_new_statuses_for_sender(k, OWNER) == []
        assert (await Runs(store).claim([(k, 1)]))[0] is not None
        assert [r.code for r in await store.take_new_statuses_for_sender(k, OWNER) or []] == ["110"]
        assert [r.code for r in await store.statuses_for_sender(k, OWNER) or []] == ["105", "100", "110"]
    finally:
        await store.close()
