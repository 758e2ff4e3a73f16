"""The operators' read model in process, on SQLite and PostgreSQL, at its edges: search text
is literal (no LIKE wildcards), a submission being replayed counts as pending and waits since
its replay, filters and counts agree."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from gateway.store.db import Store
from gateway.store.operators import OperatorsReadModel, SubmissionQuery
from gateway.store.tables import statuses, submissions

NOW = datetime(2026, 3, 2, 12, 30, 30, tzinfo=UTC)


def _submission(kenmerk: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "kenmerk": kenmerk,
        "berichtsoort": "Jaarverantwoording_KvK",
        "aanleverkenmerk": f"AK-{kenmerk}",
        "belanghebbende_nummer": "12345678",
        "belanghebbende_type": "KvK",
        "rol_belanghebbende": "Bedrijf",
        "sender_subject": "CN=Filer a",
        "sender_oin": "00000003123456780000",
        "received_at": NOW - timedelta(minutes=5),
        "state": "done",
        "run": 1,
        "outcome": None,
        "final_status": None,
        "kvk_number": None,
        "check_seconds": None,
        "raw_sha256": "0" * 64,
        "raw_size": 1,
        "updated_at": NOW - timedelta(minutes=4),
    }
    row.update(values)
    return row


def _status(kenmerk: str, run: int, code: str, foutcode: str | None = None) -> dict[str, object]:
    return {
        "kenmerk": kenmerk,
        "run": run,
        "code": code,
        "description": code,
        "created_at": NOW - timedelta(minutes=4),
        "foutcode": foutcode,
    }


@pytest.fixture
async def model(database_url: str) -> AsyncIterator[OperatorsReadModel]:
    store = Store.from_url(database_url)
    try:
        await _fill(store)
        yield OperatorsReadModel(store.engine)
    finally:
        await store.close()


async def _fill(store: Store) -> None:
    await store.init_schema()
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(submissions),
            [
                _submission("k-ok", outcome="accepted", final_status="500", kvk_number="12345678", check_seconds=0.2),
                _submission(
                    "k-rej", outcome="rejected", final_status="311", aanleverkenmerk="100%_sure", check_seconds=3.0
                ),
                # Rejected in run 1, replayed an hour after receipt: now run 2, not finished.
                _submission(
                    "k-replay",
                    outcome="rejected",
                    final_status="311",
                    run=2,
                    state="queued",
                    received_at=NOW - timedelta(hours=3),
                    updated_at=NOW - timedelta(seconds=30),
                ),
            ],
        )
        await conn.execute(
            insert(statuses),
            [
                _status("k-ok", 1, "500"),
                _status("k-rej", 1, "311", "GW-KVK-07"),
                _status("k-replay", 1, "311", "GW-KVK-07"),
            ],
        )


async def test_overview_counts_a_replay_as_pending_waiting_since_the_replay(model: OperatorsReadModel) -> None:
    o = await model.overview(NOW)
    assert (o.outcome_total("accepted"), o.outcome_total("rejected"), o.outcome_total("pending")) == (1, 1, 1)
    assert o.unfinished == 1 and o.received_total == 3
    assert o.oldest_unfinished_seconds == 30  # not three hours: it was queued again 30 s ago
    assert [(c.code, c.count) for c in o.rejections] == [("GW-KVK-07", 2)]  # runs, a counter
    assert [r.kenmerk for r in o.recent_failures] == ["k-rej"]  # only finished ones
    assert o.received_in_window == 2 and len(o.minutes) == 60
    assert o.minutes[-1].minute == NOW.replace(second=0)
    buckets = dict(o.durations.buckets)
    assert (o.durations.count, o.durations.total_seconds) == (2, pytest.approx(3.2))
    assert (buckets[0.1], buckets[0.25], buckets[2.5], buckets[5.0], buckets[60.0]) == (0, 1, 1, 2, 2)


async def test_search_is_literal_and_filters_agree_with_counts(model: OperatorsReadModel) -> None:
    async def found(**kw: object) -> list[str]:
        return sorted(s.kenmerk for s in (await model.search(SubmissionQuery(**kw))).items)  # type: ignore[arg-type]

    assert await found(text="%") == ["k-rej"]  # "100%_sure", not everything
    assert await found(text="_") == ["k-rej"]
    assert await found(text="ak-K-OK") == ["k-ok"]
    assert await found(text="12345678") == ["k-ok", "k-rej", "k-replay"]
    assert await found(status="open") == ["k-replay"]
    assert await found(status="311") == ["k-rej"]  # the replayed one is open, not 311
    assert await found(foutcode="GW-KVK-07") == ["k-rej"]
    assert [(c.code, c.count) for c in await model.foutcodes()] == [("GW-KVK-07", 1)]
    page = await model.search(SubmissionQuery(limit=2))
    assert page.total == 3 and len(page.items) == 2
    rest = await model.search(SubmissionQuery(limit=2, offset=2))
    assert {s.kenmerk for s in page.items + rest.items} == {"k-ok", "k-rej", "k-replay"}
    replayed = next(s for s in rest.items + page.items if s.kenmerk == "k-replay")
    assert replayed.foutcode is None and replayed.state == "queued"
