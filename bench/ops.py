"""Operators' read model under volume: how long the dashboard's queries take on a database
with many submissions.

Fills a fresh database (SQLite by default; ``--postgres URL`` for an admin URL such as
postgresql://postgres@127.0.0.1:5432/test, where a scratch database is created and dropped)
with N finished submissions (each with its five statuses, a third rejected, a thousand
received in the last hour) and times, best of 5: the overview (one page view or one
Prometheus scrape), the foutcode counts, a text search, a foutcode filter and one
submission's page. Prints each figure beside its floor, the time of a bare
``SELECT count(*)`` over the submissions on the same database.

    .venv/bin/python bench/ops.py [--submissions 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import machine  # type: ignore[import-not-found]
from sqlalchemy import func, insert, select, text

from gateway.store.db import Store
from gateway.store.operators import OperatorsReadModel, SubmissionQuery
from gateway.store.tables import statuses, submissions

BATCH = 5000


def _rows(i: int, now: datetime, recent: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    kenmerk = str(uuid.UUID(int=i))
    rejected = i % 3 == 0
    received = now - (timedelta(seconds=i * 3) if i < recent else timedelta(days=1, seconds=i))
    final = "311" if rejected else "500"
    sub = {
        "kenmerk": kenmerk,
        "berichtsoort": "Jaarverantwoording_KvK",
        "aanleverkenmerk": f"JR-{i:08d}",
        "belanghebbende_nummer": f"{10000000 + i % 90000000:08d}",
        "belanghebbende_type": "KvK",
        "rol_belanghebbende": "Bedrijf",
        "sender_subject": f"CN=Filer {i % 50}",
        "sender_oin": f"00000003{10000000 + i % 50:08d}0000",
        "received_at": received,
        "state": "done",
        "run": 1,
        "outcome": "rejected" if rejected else "accepted",
        "final_status": final,
        "kvk_number": f"{10000000 + i % 90000000:08d}",
        "check_seconds": 0.01 * (i % 50),
        "raw_sha256": "0" * 64,
        "raw_size": 10_000,
        "updated_at": received + timedelta(seconds=1),
    }
    codes = ["105", "100", "110", "200", final]
    stats = [
        {
            "kenmerk": kenmerk,
            "run": 1,
            "code": code,
            "description": code,
            "created_at": received,
            "foutcode": f"GW-KVK-0{i % 9 + 1}" if code == "311" else None,
        }
        for code in codes
    ]
    return sub, stats


async def fill(store: Store, n: int) -> None:
    now = datetime.now(UTC)
    for start in range(0, n, BATCH):
        subs, stats = [], []
        for i in range(start, min(n, start + BATCH)):
            sub, st = _rows(i, now, recent=1000)
            subs.append(sub)
            stats.extend(st)
        async with store.engine.begin() as conn:
            await conn.execute(insert(submissions), subs)
            await conn.execute(insert(statuses), stats)


async def best_of(fn: Callable[[], Awaitable[Any]], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


async def measure(url: str, n: int, analyze: bool) -> None:
    store = Store.from_url(url)
    try:
        await store.init_schema()
        started = time.perf_counter()
        await fill(store, n)
        print(f"filled {n} submissions in {time.perf_counter() - started:.1f} s")
        if analyze:
            # Planner statistics, as autovacuum keeps them on a live PostgreSQL.
            async with store.engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
        model = OperatorsReadModel(store.engine)

        async def floor() -> None:
            async with store.engine.connect() as conn:
                await conn.scalar(select(func.count()).select_from(submissions))

        floor_ms = await best_of(floor)
        one = str(uuid.UUID(int=n // 2))
        cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("overview (page view / scrape)", lambda: model.overview(datetime.now(UTC))),
            ("foutcode counts", model.foutcodes),
            ("search text 'JR-0000123'", lambda: model.search(SubmissionQuery(text="JR-0000123"))),
            ("search foutcode GW-KVK-07", lambda: model.search(SubmissionQuery(foutcode="GW-KVK-07"))),
            ("one submission's page", lambda: model.submission(one)),
        ]
        print(f"{'query':34} {'ms':>9} {'floor ms':>9} {'ratio':>6}")
        for name, fn in cases:
            ms = await best_of(fn)
            print(f"{name:34} {ms:9.1f} {floor_ms:9.1f} {ms / floor_ms:6.1f}")
    finally:
        await store.close()


async def on_postgres(admin_url: str, n: int, analyze: bool) -> None:
    import asyncpg

    name = f"gw_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        await measure(f"{base}/{name}", n, analyze)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=100_000)
    parser.add_argument("--postgres", help="admin URL; a scratch database is created and dropped")
    parser.add_argument("--no-analyze", action="store_true", help="measure without planner statistics")
    args = parser.parse_args()
    print(f"operators' read model, {args.submissions} submissions; {machine()}")
    if args.postgres:
        print("PostgreSQL")
        asyncio.run(on_postgres(args.postgres, args.submissions, not args.no_analyze))
        return
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite")
        asyncio.run(measure(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args.submissions, not args.no_analyze))


if __name__ == "__main__":
    main()
