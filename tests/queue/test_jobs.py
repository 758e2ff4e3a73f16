"""The worker's jobs on a real store and Redis: outcomes, and what is never a verdict."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time

import pytest
from arq import Retry

from gateway.checks import Company
from gateway.errors import InfrastructureError
from gateway.queue.checking import CheckCrashed, CheckerPool, CheckRequest, CheckResult, Lookup
from gateway.queue.worker import process_submission, reconcile
from gateway.register import StoreRegister
from tests.queue.conftest import Jobs
from tests.support.smtp import SmtpSink
from tests.support.xbrl import Statement, padded


async def test_a_valid_statement_is_accepted_and_its_mail_queued(jobs: Jobs) -> None:
    k = await jobs.submit()
    assert await process_submission(jobs.ctx(), k, 1) == "accepted"
    assert await jobs.codes(k) == ["105", "100", "110", "200", "301", "405", "400", "500"]
    note = await jobs.store.get_notification(k, 1)  # in the outbox, for the postman
    assert note is not None and note.state == "pending" and note.recipient == "filer@example.test"
    assert await process_submission(jobs.ctx(), k, 1) == "skipped"  # idempotent
    assert len(await jobs.store.notifications_for(k)) == 1


async def test_a_statement_for_an_unknown_company_is_rejected(jobs: Jobs) -> None:
    k = await jobs.submit(Statement(kvk_number="87654321").build(), kvk="87654321")
    assert await process_submission(jobs.ctx(), k, 1) == "rejected"
    history = await jobs.store.status_history(k)
    assert history[-1].code == "311" and history[-1].foutcode == "GW-KVK-07"


class _DownRegister:
    """A register backend that is unreachable (as the KVK API can be)."""

    def __init__(self) -> None:
        self.calls = 0

    async def lookup(self, kvk_number: str, *, kenmerk: str | None = None) -> Company | None:
        self.calls += 1
        raise InfrastructureError("KVK API unreachable (timeout)")


async def test_an_unreachable_register_is_retried_never_a_verdict(jobs: Jobs) -> None:
    k = await jobs.submit()
    down = _DownRegister()
    for attempt in (1, 2, 3, 4):
        with pytest.raises(Retry) as retry:
            await process_submission(jobs.ctx(job_try=attempt, register=down), k, 1)
        assert retry.value.defer_score is not None and retry.value.defer_score > 0  # with backoff
    assert down.calls == 4
    sub = await jobs.store.get_submission(k)
    assert sub is not None and sub.state != "done" and sub.final_status is None
    assert "321" not in await jobs.codes(k)
    assert await jobs.store.check_failures(k, 1) == 0  # an outage is not counted against it
    # Once the register answers again, the same run gets its real outcome.
    assert await process_submission(jobs.ctx(job_try=5), k, 1) == "accepted"
    assert (await jobs.codes(k))[-1] == "500"


class _SlowRegister:
    """A register that takes its time (a slow database or KVK API)."""

    def __init__(self, jobs: Jobs, seconds: float) -> None:
        self.inner = StoreRegister(jobs.store)
        self.seconds = seconds

    async def lookup(self, kvk_number: str, *, kenmerk: str | None = None) -> Company | None:
        await asyncio.sleep(self.seconds)
        return await self.inner.lookup(kvk_number)


async def test_a_slow_register_does_not_count_against_the_checks_budget(jobs: Jobs) -> None:
    fast = jobs.with_settings(check_timeout=1.0)
    k = await fast.submit()
    assert await process_submission(fast.ctx(register=_SlowRegister(jobs, 1.5)), k, 1) == "accepted"


async def test_checks_without_an_answer_in_the_jobs_time_are_retried_not_counted(jobs: Jobs) -> None:
    hurried = jobs.with_settings(job_timeout=2)  # 1.6 s of wall time for checks and look-ups
    k = await hurried.submit()
    with pytest.raises(Retry):
        await process_submission(hurried.ctx(register=_SlowRegister(jobs, 3.0)), k, 1)
    assert await jobs.store.check_failures(k, 1) == 0
    assert "321" not in await jobs.codes(k)


async def test_a_statement_whose_checks_overrun_gets_a_final_status_after_three_tries(jobs: Jobs) -> None:
    budget = 0.05
    slow = jobs.with_settings(check_timeout=budget)
    k = await slow.submit(padded(Statement().build(), 8_000_000))
    started = time.monotonic()
    for attempt in (1, 2):
        with pytest.raises(Retry):
            await process_submission(slow.ctx(job_try=attempt), k, 1)
        # The overrunning child was killed; only idle ones are left.
        idle = {c.proc.pid for c in slow.checkers._idle}
        assert {p.pid for p in multiprocessing.active_children() if p.name == "gateway-checks"} <= idle
    assert await process_submission(slow.ctx(job_try=3), k, 1) == "error"
    assert time.monotonic() - started < 10
    history = await slow.store.status_history(k)
    assert [s.code for s in history][-2:] == ["200", "321"]
    assert history[-1].foutcode == "VAS400" and "3 keer" in (history[-1].foutbeschrijving or "")
    assert [f.code for f in await slow.store.findings_for(k)] == ["GW-TECH-02"]
    # Final: the reconciler leaves it for an operator, and a replay starts afresh.
    await reconcile(slow.ctx())
    assert not await slow.redis.exists(f"arq:job:process:{k}:1")
    run = await slow.store.start_replay(k, "test", "after the fix")
    assert run == 2
    assert await process_submission(jobs.ctx(), k, 2) == "accepted"


async def test_the_event_loop_keeps_answering_while_a_big_statement_is_checked(jobs: Jobs) -> None:
    k = await jobs.submit(padded(Statement().build(), 3_000_000))
    job = asyncio.create_task(process_submission(jobs.ctx(), k, 1))
    gaps: list[float] = []
    while not job.done():
        t = time.monotonic()
        await asyncio.sleep(0.01)
        gaps.append(time.monotonic() - t)
    assert job.result() == "accepted"
    assert max(gaps) < 0.5, f"the event loop stalled for {max(gaps):.2f} s"


async def test_a_database_connection_killed_during_the_register_lookup_is_retried(jobs: Jobs) -> None:
    """The blip of issue 11 item 1, made exact: the worker's backend is terminated
    (pg_terminate_backend, AdminShutdownError) while it waits inside the register look-up."""
    import asyncpg

    if jobs.store.engine.dialect.name != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    url = str(jobs.settings.database_url).replace("postgresql+asyncpg://", "postgresql://")
    k = await jobs.submit()
    admin = await asyncpg.connect(url)
    watcher = await asyncpg.connect(url)
    try:
        tx = admin.transaction()
        await tx.start()
        await admin.execute("LOCK TABLE companies IN ACCESS EXCLUSIVE MODE")
        job = asyncio.create_task(process_submission(jobs.ctx(), k, 1))
        deadline = time.monotonic() + 20
        terminated = 0
        while not terminated:
            assert time.monotonic() < deadline and not job.done(), "the look-up never waited on the lock"
            # From another connection: pg_stat_activity is frozen within a transaction.
            terminated = await watcher.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query ILIKE '%companies%'"
            )
            await asyncio.sleep(0.02)
        await tx.rollback()
        with pytest.raises(Retry):
            await job
    finally:
        await admin.close()
        await watcher.close()
    assert "321" not in await jobs.codes(k)
    assert await jobs.store.check_failures(k, 1) == 0
    assert await process_submission(jobs.ctx(job_try=2), k, 1) == "accepted"
    assert (await jobs.codes(k))[-1] == "500"


async def test_a_cancelled_job_kills_its_checking_process_at_once(jobs: Jobs) -> None:
    """What SIGTERM does to a worker: its jobs are cancelled; a check in progress must stop
    with them, not run on in a thread."""
    from gateway.queue.checking import cpu_seconds

    await jobs.checkers.start()
    before = {c.proc.pid: cpu_seconds(c.proc.pid or 0) or 0.0 for c in jobs.checkers._idle}
    k = await jobs.submit(padded(Statement().build(), 30_000_000))
    job = asyncio.create_task(process_submission(jobs.ctx(), k, 1))
    deadline = time.monotonic() + 30
    busy = None
    while busy is None:  # wait until a checking process is at work on it
        assert time.monotonic() < deadline and not job.done()
        idle = {c.proc.pid for c in jobs.checkers._idle}
        for p in multiprocessing.active_children():
            if p.pid in before and p.pid not in idle and (cpu_seconds(p.pid or 0) or 0) - before[p.pid] > 0.1:
                busy = p
        await asyncio.sleep(0.01)
    pid = busy.pid or 0
    job.cancel()
    stopped = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert time.monotonic() - stopped < 2
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(pid, 0)
    assert "321" not in await jobs.codes(k)


async def test_the_outcome_mail_is_sent_once_and_retried_while_smtp_is_down(jobs: Jobs, smtp: SmtpSink) -> None:
    from gateway.notify.transport import make_transport
    from gateway.queue.worker import send_notification

    k = await jobs.submit()
    assert await process_submission(jobs.ctx(), k, 1) == "accepted"
    transport = make_transport(smtp.url, jobs.settings.maildir, timeout=5)
    smtp.refuse = True
    try:
        with pytest.raises(Retry):
            await send_notification(jobs.ctx(transport=transport), k, 1)
    finally:
        smtp.refuse = False
    note = await jobs.store.get_notification(k, 1)
    assert note is not None and note.state == "pending" and note.attempts == 1
    assert await send_notification(jobs.ctx(job_try=2, transport=transport), k, 1) == "sent"
    assert await send_notification(jobs.ctx(job_try=3, transport=transport), k, 1) == "nothing to send"
    assert len(smtp.for_kenmerk(k)) == 1


async def test_a_checking_process_serves_on_until_its_memory_grows(jobs: Jobs, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.queue import checking

    await jobs.checkers.start()
    ready = {c.proc.pid for c in jobs.checkers._idle}
    assert await process_submission(jobs.ctx(), await jobs.submit(Statement(adopted=False).build()), 1) == "accepted"
    assert {c.proc.pid for c in jobs.checkers._idle} == ready  # kept: starting one costs a second of CPU
    monkeypatch.setattr(checking, "MAX_GROWTH", -1)  # as if it had grown
    assert await process_submission(jobs.ctx(), await jobs.submit(Statement(adopted=False).build()), 1) == "accepted"
    left = {c.proc.pid for c in jobs.checkers._idle}
    assert left < ready and len(left) == len(ready) - 1  # the one that served was replaced


class _Gated:
    """The checking processes, reached only once the gate opens."""

    def __init__(self, inner: CheckerPool, gate: asyncio.Event) -> None:
        self.inner, self.gate = inner, gate

    async def run(self, req: CheckRequest, lookup: Lookup, wall: float) -> CheckResult | CheckCrashed:
        await self.gate.wait()
        return await self.inner.run(req, lookup, wall)


async def test_filings_accepted_after_a_claim_read_them_make_the_checks_run_again(jobs: Jobs) -> None:
    """The claim reads the filings on file for the checks; one accepted meanwhile makes that
    stale: the finish refuses it and the checks run again on what is on file now."""
    first, second = await jobs.submit(), await jobs.submit()
    gate = asyncio.Event()
    late = asyncio.create_task(process_submission(jobs.ctx(checkers=_Gated(jobs.checkers, gate)), second, 1))
    while "110" not in await jobs.codes(second):  # claimed: it read that nothing is on file
        await asyncio.sleep(0.01)
    assert await process_submission(jobs.ctx(), first, 1) == "accepted"
    gate.set()
    assert await late == "rejected"
    history = await jobs.store.status_history(second)
    assert history[-1].foutcode == "GW-KVK-DUP"
    assert [f.kenmerk for f in await jobs.store.filings_on_file("12345678", 2024)] == [first]
