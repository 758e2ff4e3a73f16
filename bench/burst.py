"""A year-end burst: N submissions queued as fast as they come, then drained by 1, 2 and 4
worker processes. Prints the drain time per worker count (with the speed-up over one
worker) and checks that every submission reached a final status with exactly one mail.

Submissions are stored and queued through the same store and queue calls the intake uses
(the HTTP layer is measured by bench/intake.py); mails go to a real SMTP server in this
process. Uses PostgreSQL + Redis when reachable (workers scale there), else the embedded
default.

    .venv/bin/python bench/burst.py [--count 20000] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import ROOT, machine, statement_of_size  # type: ignore[import-not-found]

from gateway.queue.connections import connect
from gateway.queue.jobs import enqueue_processing
from gateway.settings import Settings
from gateway.store.db import Sender, Store
from gateway.wus.envelope import utc_now
from gateway.wus.messages import AanleverRequest, Identiteit, Part
from tests.conftest import DEFAULT_COMPANY
from tests.support.smtp import SmtpSink


async def fill(settings: Settings, count: int) -> float:
    store = Store.from_url(settings.effective_database_url)
    await store.init_schema()
    await store.upsert_company(dict(DEFAULT_COMPANY))
    pool = await connect(settings)
    instance = statement_of_size(20_000)
    sender = Sender("CN=Bench,O=Bench,C=NL", "00000003123456780000")
    start = time.perf_counter()
    sem = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with sem:
            req = AanleverRequest(
                "Jaarverantwoording_KvK",
                Identiteit("12345678", "KvK"),
                "Bedrijf",
                [Part(0, "application/xml", "jaarrekening.xbrl", instance)],
                aanleverkenmerk=f"burst-{i}",
            )
            kenmerk = str(uuid.uuid4())
            await store.record_submission(kenmerk, req, instance, sender, "bench@example.test", utc_now())
            await enqueue_processing(pool, kenmerk, 1, settings.queue_name)

    await asyncio.gather(*(one(i) for i in range(count)))
    elapsed = time.perf_counter() - start
    await pool.aclose()
    await store.close()
    return elapsed


async def progress(settings: Settings) -> tuple[int, int, int]:
    from sqlalchemy import func, select

    from gateway.store.tables import notifications, submissions

    store = Store.from_url(settings.effective_database_url)
    try:
        async with store.engine.connect() as conn:
            done = await conn.scalar(select(func.count()).select_from(submissions).where(submissions.c.state == "done"))
            total = await conn.scalar(select(func.count()).select_from(submissions))
            sent = await conn.scalar(
                select(func.count()).select_from(notifications).where(notifications.c.state == "sent")
            )
        return int(done or 0), int(total or 0), int(sent or 0)
    finally:
        await store.close()


def drain(settings: Settings, env: dict[str, str], workers: int, count: int, smtp: SmtpSink) -> float:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "--log-level", "WARNING", "worker"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    start = time.perf_counter()
    try:
        while True:
            done, _total, sent = asyncio.run(progress(settings))
            if done >= count and sent >= count:
                return time.perf_counter() - start
            time.sleep(0.5)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument(
        "--postgres", default=os.environ.get("GATEWAY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis", default=os.environ.get("GATEWAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"))
    ap.add_argument("--embedded", action="store_true", help="use SQLite and the private Redis")
    args = ap.parse_args()
    smtp = SmtpSink()
    smtp.start()
    print(f"# year-end burst of {args.count} submissions — {machine()}")
    print(f"{'workers':>7} {'queue s':>8} {'drain s':>8} {'per s':>7} {'speed-up':>8}  check")
    first: float | None = None
    for workers in args.workers:
        work = Path(tempfile.mkdtemp(prefix="gw-burst-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env.update(
            GATEWAY_DATA_DIR=str(work),
            GATEWAY_SMTP_URL=smtp.url,
            GATEWAY_QUEUE_NAME=f"burst:{uuid.uuid4().hex[:6]}",
            GATEWAY_DEFAULT_NOTIFY_ADDRESS="bench@example.test",
        )
        if not args.embedded:
            import asyncpg

            name = f"gw_burst_{uuid.uuid4().hex[:8]}"

            async def create(name: str = name) -> None:
                conn = await asyncpg.connect(args.postgres)
                await conn.execute(f'CREATE DATABASE "{name}"')
                await conn.close()

            asyncio.run(create())
            base = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            env.update(GATEWAY_DATABASE_URL=f"{base}/{name}", GATEWAY_REDIS_URL=args.redis)
        os.environ.update({k: v for k, v in env.items() if k.startswith("GATEWAY_")})
        settings = Settings.from_env()
        for k in list(os.environ):
            if k.startswith("GATEWAY_"):
                del os.environ[k]
        before = len(smtp.messages)
        queued = asyncio.run(fill(settings, args.count))
        elapsed = drain(settings, env, workers, args.count, smtp)
        time.sleep(2)
        mails = smtp.messages[before:]
        per = {}
        for m in mails:
            per[m["X-Gateway-Kenmerk"]] = per.get(m["X-Gateway-Kenmerk"], 0) + 1
        ok = len(per) == args.count and all(v == 1 for v in per.values())
        first = first or elapsed
        print(
            f"{workers:>7} {queued:>8.1f} {elapsed:>8.1f} {args.count / elapsed:>7.1f} {first / elapsed:>7.2f}x  "
            f"{'every one final, exactly one mail each' if ok else f'MISMATCH: {len(per)} kenmerken mailed'}"
        )
        if settings.redis_url is None:
            from gateway.queue.redis_server import EmbeddedRedis

            EmbeddedRedis(work).stop()
    smtp.stop()


if __name__ == "__main__":
    main()
