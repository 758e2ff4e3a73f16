"""A year-end burst: N submissions of a 50 KB statement queued as fast as they come, then
drained by 1, 2 and 4 `gateway worker` processes. Prints per worker count the time to the
last final status and jobs/s (final statuses per second, from the first pick-up, so that a
worker's start-up is not counted), when the last mail was out, the speed-up over one worker,
and checks that every submission reached a final status with exactly one mail.

Beside it, measured in the same run: the floor, the in-process check rate on the same
statement (message + register checks, one core, CPU time; aim: one worker drains at least
half that rate), and, for one worker, where a job's wall time goes: checking (the
in-process check time per job) against everything else, and the CPU per job of the worker
process and of its checking processes (from /proc, over the drain); with --profile a py-spy
summary of both by cause (database, Redis and arq, mail, hand-off to the checking
processes, the checks, ...) in ms of CPU per job.

Submissions are stored and queued through the same store and queue calls the intake uses
(the HTTP layer is measured by bench/intake.py); mails go to a real SMTP server in this
process. Uses PostgreSQL + Redis when reachable (workers scale there), else the embedded
default. Only the `gateway worker` command, the store's tables (statuses 110,
submissions.state 'done' and updated_at, notifications.state 'sent' and sent_at) and
record_submission/enqueue_processing are relied on, so the benchmark drives whichever
worker the tree has.

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
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from common import (  # type: ignore[import-not-found]
    ROOT,
    cpu_per_call,
    machine,
    process_family,
    start_profiler,
    statement_of_size,
    stop_profiler,
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


@dataclass
class Progress:
    done: int
    sent: int
    #: Database times (the workers' clock, this machine's): the first status 110, the last
    #: final status, the last mail sent.
    first_pickup: datetime | None
    last_final: datetime | None
    last_mail: datetime | None


async def progress(store: Store) -> Progress:
    from sqlalchemy import func, select

    from gateway.store.tables import notifications, statuses, submissions

    done = submissions.c.state == "done"
    sent = notifications.c.state == "sent"
    async with store.engine.connect() as conn:
        n_done, last_final = (
            await conn.execute(select(func.count(), func.max(submissions.c.updated_at)).where(done))
        ).one()
        n_sent, last_mail = (
            await conn.execute(select(func.count(), func.max(notifications.c.sent_at)).where(sent))
        ).one()
        first = await conn.scalar(select(func.min(statuses.c.created_at)).where(statuses.c.code == "110"))
    return Progress(int(n_done), int(n_sent), first, last_final, last_mail)


@dataclass
class Drained:
    #: Seconds from starting the workers to the first pick-up (start-up), from the first
    #: pick-up to the last final status, and to the last mail.
    start: float
    final: float
    mailed: float
    #: CPU seconds over the drain (from the first pick-up): the worker processes themselves,
    #: and their checking processes (living and reaped).
    worker_cpu: float
    checker_cpu: float
    #: The first worker's process id (the one profiled).
    pid: int
    #: CPU seconds over the drain elsewhere (``machine_cpu``).
    elsewhere: dict[str, float]


class Family:
    """The CPU of worker processes and of their descendants, split."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids

    def read(self) -> tuple[float, float]:
        own = sum(_stat_cpu(pid)[0] for pid in self.pids)
        return own, sum(family_cpu_seconds(pid) for pid in self.pids) - own


def _stat_cpu(pid: int) -> tuple[float, float]:
    """(utime + stime, cutime + cstime) of a process, in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def family_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its descendants, those still living and those that
    ended and were reaped (a checking process is replaced every few hundred statements)."""
    family = process_family(pid)
    total = 0.0
    for member in family:
        try:
            own, reaped = _stat_cpu(member)
        except OSError:  # ended meanwhile
            continue
        total += own + reaped
    return total


def machine_cpu() -> dict[str, float]:
    """CPU seconds used so far: the whole machine (busy time of all cores), the PostgreSQL and
    Redis servers' processes, and this script (the SMTP server the mails go to, the polling)."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat", encoding="ascii") as fh:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fh.readline().split()[1:9])
    out = {"machine": (user + nice + system + irq + softirq + steal) / tick, "PostgreSQL": 0.0, "Redis": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        group = "PostgreSQL" if comm.startswith("postgres") else "Redis" if comm.startswith("redis-server") else None
        if group:
            fields = text.rsplit(")", 1)[1].split()
            out[group] += (int(fields[11]) + int(fields[12])) / tick
    times = os.times()
    out["this script (SMTP server, polling)"] = times.user + times.system
    return out


def drain(
    settings: Settings, env: dict[str, str], workers: int, count: int, profile: Path | None, timeout: float
) -> Drained:
    return asyncio.run(_drain(settings, env, workers, count, profile, timeout))


async def _drain(
    settings: Settings, env: dict[str, str], workers: int, count: int, profile: Path | None, timeout: float
) -> Drained:
    store = Store.from_url(settings.effective_database_url)
    launched = time.time()
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
    family = Family([p.pid for p in procs])
    spy = None
    cpu_at_start: tuple[float, float] | None = None
    machine_at_start: dict[str, float] = {}
    try:
        while True:
            p = await progress(store)
            if p.first_pickup is not None and cpu_at_start is None:
                # Processing has begun: CPU and the profile from here on (not the start-up).
                cpu_at_start = family.read()
                machine_at_start = machine_cpu()
                spy = start_profiler(procs[0].pid, profile, children=True) if profile is not None else None
            # CPU read while the processes live (a child's CPU reaches its parent's account
            # only once it is reaped).
            cpu = family.read()
            if p.done >= count and p.sent >= count:
                machine_at_end = machine_cpu()
                break
            if time.time() - launched > timeout:
                raise SystemExit(f"drain did not finish in {timeout:.0f} s: {p.done} done, {p.sent} mailed of {count}")
            if any(proc.poll() is not None for proc in procs):
                raise SystemExit("a worker exited during the drain")
            await asyncio.sleep(0.25 if cpu_at_start else 0.02)
    finally:
        if spy is not None:
            stop_profiler(spy)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        await store.close()
    assert p.first_pickup and p.last_final and p.last_mail and cpu_at_start
    first = p.first_pickup.timestamp()
    return Drained(
        start=first - launched,
        final=p.last_final.timestamp() - first,
        mailed=p.last_mail.timestamp() - first,
        worker_cpu=cpu[0] - cpu_at_start[0],
        checker_cpu=cpu[1] - cpu_at_start[1],
        pid=procs[0].pid,
        elsewhere={k: machine_at_end[k] - machine_at_start[k] for k in machine_at_end},
    )


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
    if args.concurrency:
        env["GATEWAY_WORKER_CONCURRENCY"] = str(args.concurrency)
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


#: Causes of a busy py-spy sample, by the innermost frame that names one (first match wins
#: within a frame; frames are read from the innermost outwards).
CAUSES = (
    ("the checks (gateway/checks)", ("gateway/checks/",)),
    (
        "database (SQLAlchemy, asyncpg, aiosqlite, gateway/store)",
        ("sqlalchemy/", "asyncpg/", "aiosqlite/", "gateway/store/"),
    ),
    ("Redis and arq (queue)", ("arq/", "redis/", "gateway/queue/jobs.py", "gateway/queue/heartbeat.py")),
    ("mail: SMTP client", ("aiosmtplib/", "gateway/notify/transport.py")),
    ("mail: building it (email, notice)", ("email/", "gateway/notify/message.py", "gateway/notice.py")),
    ("hand-off to the checking processes (pickle, pipe, /proc)", ("gateway/queue/checking.py", "multiprocessing/")),
    ("logging", ("structlog/", "logging/")),
    ("the worker's own code", ("gateway/",)),
)
OTHER = "event loop, sockets, interpreter (no library or gateway frame)"


#: Where the event loop hands control to a callback or task: frames further out (the loop,
#: the command that started it) are the same for everything and name no cause.
LOOP = ("Handle._run (", "BaseEventLoop._run_once (")


def _cause(frames: list[str]) -> str:
    for frame in reversed(frames):
        if frame.startswith(LOOP):
            break
        where = frame.partition(" (")[2]
        for label, fragments in CAUSES:
            if any(f in where for f in fragments) and "gateway/store/commands.py" not in where:
                return label
    return OTHER


def profile_by_cause(path: Path, worker_pid: int) -> tuple[Counter[str], Counter[str]]:
    """Busy samples by cause: (the worker process, its checking processes)."""
    from common import _idle  # type: ignore[import-not-found]

    main: Counter[str] = Counter()
    children: Counter[str] = Counter()
    if not path.exists():
        return main, children
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        if _idle(frames[-1]) or not frames[0].startswith(f"process {worker_pid}:"):
            continue
        # A child's stack names the worker, then the child: "process <pid>:...;process <pid>:..."
        if len(frames) > 1 and frames[1].startswith("process "):
            children[_child_cause(frames[2:])] += int(count)
        else:
            main[_cause(frames[1:])] += int(count)
    return main, children


STARTING = "start-up of a checking process (spawn, imports, warm-up)"


def _child_cause(frames: list[str]) -> str:
    """A checking process replaced after MAX_TASKS_PER_CHILD statements starts afresh."""
    for f in frames:
        if f.startswith(("_warm_up (", "prepare (multiprocessing/spawn")) or (
            f.startswith("<module> (") and not f.startswith("<module> (<string>")
        ):
            return STARTING
    return _cause(frames)


def print_profile(path: Path, worker_pid: int, worker_ms: float, checker_ms: float) -> None:
    """The py-spy samples of each process group, spread over its measured CPU per job."""
    main, children = profile_by_cause(path, worker_pid)
    print("where one job's CPU goes, one worker (py-spy, all threads; ms of CPU per job; the worker process's")
    print("event loop runs everything but the checks, one thing at a time):")
    for title, samples, ms in (
        ("the worker process", main, worker_ms),
        ("its checking processes", children, checker_ms),
    ):
        total = sum(samples.values())
        print(f"  {title}: {ms:.2f} ms" + ("" if total else " (no samples)"))
        for label, n in samples.most_common():
            print(f"    {ms * n / total:6.2f} ms  {100 * n / total:5.1f} %  {label}")


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
    ap.add_argument("--concurrency", type=int, help="GATEWAY_WORKER_CONCURRENCY (default: the gateway's)")
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
    print(
        f"{'workers':>7} {'queue s':>8} {'start s':>8} {'final s':>8} {'jobs/s':>7} {'mailed s':>8} "
        f"{'speed-up':>8} {'of checks':>9}  check"
    )
    first: float | None = None
    one_worker: Drained | None = None
    worker_pid = 0
    profile: Path | None = None
    for workers in args.workers:
        env, settings, work = environment(args, smtp)
        before = len(smtp.messages)
        queued = asyncio.run(fill(settings, args.count, instance))
        profile = work / "profile.txt" if args.profile and workers == 1 else profile
        drained = drain(settings, env, workers, args.count, profile if workers == 1 else None, args.timeout)
        time.sleep(1)
        mails = smtp.messages[before:]
        per = Counter(m["X-Gateway-Kenmerk"] for m in mails)
        ok = len(per) == args.count and all(v == 1 for v in per.values())
        first = first or drained.final
        jobs = args.count / drained.final
        if workers == 1:
            one_worker, worker_pid = drained, drained.pid
        print(
            f"{workers:>7} {queued:>8.1f} {drained.start:>8.1f} {drained.final:>8.1f} {jobs:>7.1f} "
            f"{drained.mailed:>8.1f} {first / drained.final:>7.2f}x {jobs / rate:>8.1%}  "
            f"{'every one final, exactly one mail each' if ok else f'MISMATCH: {len(per)} kenmerken mailed'}"
        )
        if settings.redis_url is None:
            from gateway.queue.redis_server import EmbeddedRedis

            EmbeddedRedis(work).stop()
        if "GATEWAY_DATABASE_URL" in env:
            drop_database(args.postgres, env["GATEWAY_DATABASE_URL"].rsplit("/", 1)[1])
    smtp.stop()
    print(
        '("start": from starting the workers to the first pick-up; "final": from there to the last final status; '
        '"mailed": to the last mail; jobs/s = final statuses per second; "of checks" = jobs/s ÷ the in-process '
        "check rate)"
    )
    if one_worker is not None:
        report_one_worker(one_worker, args.count, rate, profile, worker_pid)


def report_one_worker(d: Drained, count: int, rate: float, profile: Path | None, worker_pid: int) -> None:
    wall, mailed = d.final / count, d.mailed / count
    check = 1 / rate
    own, checkers = d.worker_cpu / count, d.checker_cpu / count
    print(
        f"one worker, per job: {wall * 1e3:.1f} ms wall to its final status ({mailed * 1e3:.1f} ms to the last mail); "
        f"checking {check * 1e3:.1f} ms ({check / wall:.1%} of the wall time), everything else "
        f"{(wall - check) * 1e3:.1f} ms ({1 - check / wall:.1%})"
    )
    others = {k: v / count for k, v in d.elsewhere.items() if k != "machine"}
    rest = d.elsewhere["machine"] / count - own - checkers - sum(others.values())
    print(
        f"CPU per job, from the first pick-up to the last mail: the worker process {own * 1e3:.2f} ms "
        f"(one event loop: at most {1 / own:.0f} jobs/s with their mails), its checking processes "
        f"{checkers * 1e3:.2f} ms, "
        + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in others.items())
        + f", the rest of the machine (other users) {max(0.0, rest) * 1e3:.2f} ms; "
        f"cores busy on average: {d.elsewhere['machine'] / d.mailed:.2f} of {os.cpu_count()}"
    )
    print(
        f"aim (half the check rate): <= {2 * check * 1e3:.1f} ms of wall time per job; "
        f"{'met' if wall <= 2 * check else f'NOT met, {(wall - 2 * check) * 1e3:.1f} ms per job over'}"
    )
    if profile is not None:
        print_profile(profile, worker_pid, own * 1e3, checkers * 1e3)


if __name__ == "__main__":
    main()
