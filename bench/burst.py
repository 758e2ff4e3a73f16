"""A year-end burst: N submissions of a 50 KB statement queued as fast as they come, then
drained by 1, 2 and 4 `gateway worker` processes. Prints per worker count the drain time,
jobs/s, the speed-up over one worker, and checks that every submission reached a final
status with exactly one mail.

Beside it, measured in the same run: the floor, the in-process check rate on the same
statement (message + register checks, one core, CPU time; aim: one worker drains at least
half that rate), and, for one worker, where a job's wall time goes: checking (the
in-process check time per job) against everything else, the worker processes' own CPU per
job (from /proc, with any child processes), and with --profile a py-spy summary of the
worker (and its children) by the gateway's functions.

Submissions are stored and queued through the same store and queue calls the intake uses
(the HTTP layer is measured by bench/intake.py); mails go to a real SMTP server in this
process. Uses PostgreSQL + Redis when reachable (workers scale there), else the embedded
default. Only the `gateway worker` command, the store's tables (submissions.state 'done',
notifications.state 'sent') and record_submission/enqueue_processing are relied on, so the
benchmark drives whichever worker the tree has.

    .venv/bin/python bench/burst.py [--count 2000] [--workers 1 2 4] [--profile] [--smoke]
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
from dataclasses import dataclass
from pathlib import Path

from common import (  # type: ignore[import-not-found]
    ROOT,
    cpu_per_call,
    machine,
    profile_summary,
    start_profiler,
    statement_of_size,
    stop_profiler,
    tree_cpu_seconds,
)

from gateway.domain import utc_now
from gateway.queue.connections import start_and_connect
from gateway.queue.jobs import enqueue_processing
from gateway.settings import Settings
from gateway.store.db import Sender, Store
from gateway.wus.messages import AanleverRequest, Identiteit, Part
from tests.conftest import DEFAULT_COMPANY
from tests.support.smtp import SmtpSink


async def fill(settings: Settings, count: int, instance: bytes) -> float:
    store = Store.from_url(settings.effective_database_url)
    await store.init_schema()
    await store.upsert_company(dict(DEFAULT_COMPANY))
    pool = await start_and_connect(settings)
    sender = Sender("CN=Bench,O=Bench,C=NL", "00000003123456780000")
    start = time.perf_counter()
    sem = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with sem:
            req = AanleverRequest(
                "Jaarverantwoording_KvK",
                Identiteit("12345678", "KvK"),
                "Bedrijf",
                (Part(0, "application/xml", "jaarrekening.xbrl", instance),),
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


@dataclass
class Drained:
    seconds: float
    worker_cpu: float


def drain(
    settings: Settings, env: dict[str, str], workers: int, count: int, profile: Path | None, timeout: float
) -> Drained:
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
    spy = start_profiler(procs[0].pid, profile, children=True) if profile is not None else None
    start = time.perf_counter()
    cpu = 0.0
    try:
        while True:
            done, _total, sent = asyncio.run(progress(settings))
            # CPU of the workers and their children, read while they live (a child's CPU
            # reaches its parent's account only once it is reaped).
            cpu = sum(tree_cpu_seconds(p.pid) for p in procs)
            if done >= count and sent >= count:
                return Drained(time.perf_counter() - start, cpu)
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"drain did not finish in {timeout:.0f} s: {done} done, {sent} mailed of {count}")
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker exited during the drain")
            time.sleep(0.2)
    finally:
        if spy is not None:
            stop_profiler(spy)
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def check_rate(instance: bytes, seconds: float) -> float:
    """Checks per CPU second in this process: message and register checks, as bench/checks.py."""
    from checks import run_checks  # type: ignore[import-not-found]

    return 1 / cpu_per_call(lambda: run_checks(instance), seconds)


def drop_database(admin_url: str, name: str) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


def environment(args: argparse.Namespace, smtp: SmtpSink) -> tuple[dict[str, str], Settings, Path]:
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
    return env, settings, work


def postgres_reachable(url: str) -> bool:
    try:
        import asyncpg

        async def ping() -> None:
            conn = await asyncpg.connect(url, timeout=3)
            await conn.close()

        asyncio.run(ping())
        return True
    except Exception:
        return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=2_000)
    ap.add_argument("--size", type=int, default=50_000, help="statement size in bytes")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument(
        "--postgres", default=os.environ.get("GATEWAY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis", default=os.environ.get("GATEWAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"))
    ap.add_argument("--embedded", action="store_true", help="use SQLite and the private Redis")
    ap.add_argument("--profile", action="store_true", help="py-spy the one-worker drain and summarise")
    ap.add_argument("--smoke", action="store_true", help="one small run (CI: the script still works)")
    ap.add_argument("--timeout", type=float, default=3600, help="give up a drain after this many seconds")
    args = ap.parse_args()
    if args.smoke:
        args.count, args.size, args.workers, args.timeout = 16, 20_000, [1], 120
    if not args.embedded and not postgres_reachable(args.postgres):
        args.embedded = True
    instance = statement_of_size(args.size)
    rate = check_rate(instance, 0.3 if args.smoke else 3.0)
    smtp = SmtpSink()
    smtp.start()
    store = "SQLite + private Redis" if args.embedded else "PostgreSQL + Redis"
    print(f"# year-end burst of {args.count} submissions of {len(instance) / 1e3:.0f} KB, {store} — {machine()}")
    print(
        f"# floor: in-process checks of the same statement, this run: {rate:.1f}/s per core (CPU time); "
        "aim: 1 worker >= half"
    )
    print(f"{'workers':>7} {'queue s':>8} {'drain s':>8} {'jobs/s':>7} {'speed-up':>8} {'of checks':>9}  check")
    first: float | None = None
    one_worker: tuple[Drained, float] | None = None
    profile: Path | None = None
    for workers in args.workers:
        env, settings, work = environment(args, smtp)
        before = len(smtp.messages)
        queued = asyncio.run(fill(settings, args.count, instance))
        profile = work / "profile.txt" if args.profile and workers == 1 else profile
        drained = drain(settings, env, workers, args.count, profile if workers == 1 else None, args.timeout)
        time.sleep(1)
        mails = smtp.messages[before:]
        per: dict[str, int] = {}
        for m in mails:
            per[m["X-Gateway-Kenmerk"]] = per.get(m["X-Gateway-Kenmerk"], 0) + 1
        ok = len(per) == args.count and all(v == 1 for v in per.values())
        elapsed = drained.seconds
        first = first or elapsed
        jobs = args.count / elapsed
        if workers == 1:
            one_worker = (drained, jobs)
        print(
            f"{workers:>7} {queued:>8.1f} {elapsed:>8.1f} {jobs:>7.1f} {first / elapsed:>7.2f}x {jobs / rate:>8.1%}  "
            f"{'every one final, exactly one mail each' if ok else f'MISMATCH: {len(per)} kenmerken mailed'}"
        )
        if settings.redis_url is None:
            from gateway.queue.redis_server import EmbeddedRedis

            EmbeddedRedis(work).stop()
        if "GATEWAY_DATABASE_URL" in env:
            drop_database(args.postgres, env["GATEWAY_DATABASE_URL"].rsplit("/", 1)[1])
    smtp.stop()
    if one_worker is not None:
        drained, jobs = one_worker
        wall = drained.seconds / args.count
        check = 1 / rate
        cpu = drained.worker_cpu / args.count
        print(
            f"one worker, per job: {wall * 1e3:.1f} ms wall; checking {check * 1e3:.1f} ms "
            f"({check / wall:.1%} of the wall time), everything else {(wall - check) * 1e3:.1f} ms "
            f"({1 - check / wall:.1%}); the worker's own CPU "
            f"{cpu * 1e3:.1f} ms per job ({cpu / wall:.1%} of the wall time; the rest is waiting: database, Redis, "
            f"SMTP, polls, and the other processes on these cores)"
        )
        if profile is not None:
            print("where the one worker's CPU goes (py-spy, worker and its children, all threads):")
            profile_summary(profile, groups={"checking (gateway/checks)": "gateway/checks/"})


if __name__ == "__main__":
    main()
