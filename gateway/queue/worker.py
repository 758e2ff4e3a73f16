"""The worker: arq jobs that check a submission and reconcile; its postman mails outcomes.

Every job is idempotent. The store decides whether work is still needed (a run that is
already finished is not finished again; a mail already sent is not sent again), so a job
that runs twice, after a crash or a Redis restart, does no harm. The outcome mails are not
jobs: each worker's postman sends them from the outbox (gateway/queue/postman.py says why).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import structlog
from arq import Retry, cron
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker, func

from gateway.checks import FilingOnFile, finding
from gateway.checks.report import statusdetails
from gateway.domain import FilingClaim, Finding, Outcome, outcome_of, statuses_for
from gateway.notify.transport import Transport, make_transport
from gateway.queue.batching import Grouped
from gateway.queue.checking import (
    CheckCrashed,
    CheckDied,
    CheckerPool,
    CheckOverran,
    CheckRequest,
    CheckResult,
    KnownRegister,
    Lookup,
    Needs,
    Part,
    RegisterData,
)
from gateway.queue.failures import backoff, is_infrastructure
from gateway.queue.heartbeat import beat_forever
from gateway.queue.jobs import enqueue_processing
from gateway.queue.pickup import PromptWorker
from gateway.queue.postman import Postman, Undelivered, postman_of
from gateway.register import RegisterSource, StoreRegister, make_register
from gateway.register.source import company_from_row
from gateway.settings import Settings
from gateway.store.db import DuplicateAdoptedFiling, StaleClaim, Store
from gateway.store.outbox import Letter
from gateway.store.runs import ClaimedRun, FinishedRun, RunKey, Runs

log = structlog.get_logger(__name__)

#: How often one job runs the checks again because the filings on file changed meanwhile.
STALE_ROUNDS = 3


# ----------------------------------------------------------------------- checking


class Drain:
    """What the jobs of one worker share: the grouped transactions that claim and finish
    runs (gateway/queue/batching.py), and the register the checks consult."""

    def __init__(self, store: Store, register: RegisterSource) -> None:
        self.store = store
        self.register = register
        self.runs = Runs(store)
        #: The local table is read in the claim's transaction; the KVK API source keeps its
        #: own cache, prices and waiting reasons, so it is always asked.
        self.local_register = isinstance(register, StoreRegister)
        self.claim: Grouped[RunKey, ClaimedRun | None] = Grouped(self._claim)
        self.finish: Grouped[FinishedRun, bool] = Grouped(self.runs.finish)

    async def _claim(self, keys: list[RunKey]) -> list[ClaimedRun | None]:
        return await self.runs.claim(keys, with_company=self.local_register)


def _drain(ctx: dict[str, Any]) -> Drain:
    drain: Drain | None = ctx.get("drain")
    if drain is None:  # a job called on its own (tests): a drain of its own
        drain = Drain(ctx["store"], ctx.get("register") or StoreRegister(ctx["store"]))
    return drain


def _request(drain: Drain, c: ClaimedRun, cpu_budget: float) -> CheckRequest:
    return CheckRequest(
        berichtsoort=c.berichtsoort,
        belanghebbende_nummer=c.belanghebbende_nummer,
        belanghebbende_type=c.belanghebbende_type,
        filed_at=c.received_at,
        parts=tuple(Part(d.position, d.mime_type, d.bestandsnaam, d.size) for d in c.documents),
        raw_instance=c.documents[0].content,
        cpu_budget=cpu_budget,
        # A channel's own rules (web filing: micro and small only) run with the checks.
        channel="zdj" if c.web_filing else None,
        known=_known(c) if drain.local_register else None,
    )


def _known(c: ClaimedRun) -> KnownRegister:
    """What the claim read of the company named as belanghebbende (the local register's row,
    the filings on file), for the checks when they are about that company, as they are
    unless the statement names another."""
    return KnownRegister(
        kvk_number=c.belanghebbende_nummer,
        company=company_from_row(c.company) if c.company is not None else None,
        filings=tuple((f.financial_year, FilingOnFile(f.id, f.kenmerk, f.adopted)) for f in c.on_file),
    )


def _lookup(drain: Drain, kenmerk: str, claimed: ClaimedRun | None) -> Lookup:
    """What the checks ask for: from what the claim read when they ask about the company
    named as belanghebbende (as they do unless the statement names another), else from
    the register and the store. ``claimed`` None: read afresh (the filings on file changed
    since the claim)."""

    async def lookup(needs: Needs) -> RegisterData:
        if claimed is None or needs.kvk_number != claimed.belanghebbende_nummer:
            return await _look_up(drain, kenmerk, needs)
        if drain.local_register:
            company = company_from_row(claimed.company) if claimed.company is not None else None
        else:
            company = await drain.register.lookup(needs.kvk_number, kenmerk=kenmerk)
        year = needs.financial_year
        on_file = tuple(FilingOnFile(f.id, f.kenmerk, f.adopted) for f in claimed.on_file if f.financial_year == year)
        return RegisterData(company, on_file)

    return lookup


async def _look_up(drain: Drain, kenmerk: str, needs: Needs) -> RegisterData:
    # The kenmerk lets a source that can wait (the KVK API) record why this one waits.
    company = await drain.register.lookup(needs.kvk_number, kenmerk=kenmerk)
    on_file: tuple[FilingOnFile, ...] = ()
    if needs.financial_year is not None:
        rows = await drain.store.filings_on_file(needs.kvk_number, needs.financial_year)
        on_file = tuple(FilingOnFile(r.id, r.kenmerk, r.adopted) for r in rows)
    return RegisterData(company, on_file)


def _letter(c: ClaimedRun, r: FinishedRun) -> Letter:
    """The mail of a run just finished, from what its claim read and its outcome."""
    assert c.notify_address is not None  # a mail is pending only with an address
    return Letter(
        kenmerk=r.kenmerk,
        run=r.run,
        outcome=r.outcome,
        recipient=c.notify_address,
        aanleverkenmerk=c.aanleverkenmerk,
        kvk_number=r.kvk_number or c.belanghebbende_nummer,
        final_status=r.entries[-1].code,
        findings=r.found,
        attempts=0,
    )


class _Run:
    """One attempt at one run of one submission."""

    def __init__(self, ctx: dict[str, Any], kenmerk: str, run: int) -> None:
        self.ctx = ctx
        self.store: Store = ctx["store"]
        self.settings: Settings = ctx["settings"]
        self.drain = _drain(ctx)
        #: What the claim read (None until then).
        self.claimed: ClaimedRun | None = None
        self.kenmerk = kenmerk
        self.run = run
        self.started = time.monotonic()
        self.log = log.bind(kenmerk=kenmerk, run=run, job_try=ctx.get("job_try"))

    async def finish(
        self,
        outcome: Outcome,
        found: list[Finding],
        claim: FilingClaim | None = None,
        kvk: str | None = None,
        fy: int | None = None,
    ) -> str:
        postman: Postman | None = self.ctx.get("postman")
        # With what the claim read, the mail can be handed to our postman: lease it to it.
        lease = postman.lease() if postman is not None and self.claimed is not None else None
        result = FinishedRun(
            self.kenmerk,
            self.run,
            outcome=str(outcome),
            entries=tuple(statuses_for(outcome, found, statusdetails(found))),
            found=tuple(found),
            claim=claim,
            kvk_number=kvk,
            financial_year=fy,
            check_seconds=time.monotonic() - self.started,
            mail_lease=lease,
        )
        try:
            mail = await self.drain.finish(result)
        except DuplicateAdoptedFiling:
            # Another adopted statement for this year was accepted while we checked.
            found = [finding("GW-KVK-DUP", kvk_number=kvk, year=fy), *found]
            return await self.finish(Outcome.REJECTED, found, None, kvk, fy)
        self.log.info("submission checked", outcome=str(outcome), findings=len(found))
        if mail and postman is not None:
            # The mail is in the outbox, committed with the outcome.
            if lease is not None and self.claimed is not None:
                postman.hand(_letter(self.claimed, result))
            else:
                postman.nudge()
        return str(outcome)

    async def conclude(self, verdict: CheckResult | CheckCrashed) -> str:
        if isinstance(verdict, CheckCrashed):
            # A check raised on this statement: a bug, and the same next time. 321, and a
            # developer replays it after the fix.
            self.log.error("a check failed", error=verdict.error)
            return await self.finish(Outcome.ERROR, [finding("GW-TECH-01")])
        found = list(verdict.found)
        outcome = outcome_of(found)
        claim = verdict.claim if outcome is Outcome.ACCEPTED else None
        return await self.finish(outcome, found, claim, verdict.kvk_number, verdict.financial_year)

    async def failed(self, error: str, code: str, **params: Any) -> str:
        """A failure that is neither the infrastructure's nor a verdict: try again a few
        times, then give the run a final technical status that waits for an operator."""
        failures = await self.store.record_check_failure(self.kenmerk, self.run, error)
        limit = self.settings.max_check_attempts
        if failures < limit:
            self.log.warning("checking failed; will try again", error=error, failures=failures, limit=limit)
            raise Retry(defer=backoff(failures, cap=10))
        self.log.error("checking failed too often; final status, waits for an operator", error=error, failures=failures)
        return await self.finish(Outcome.ERROR, [finding(code, attempts=failures, **params)])


async def _process(r: _Run) -> str:
    claimed = r.claimed = await r.drain.claim((r.kenmerk, r.run))
    if claimed is None:
        r.log.info("run already finished or superseded")
        return "skipped"
    budget = r.settings.check_budget
    req = _request(r.drain, claimed, budget)
    checkers: CheckerPool = r.ctx["checkers"]
    lookup = _lookup(r.drain, r.kenmerk, claimed)
    for _ in range(STALE_ROUNDS):
        try:
            verdict = await checkers.run(req, lookup, r.settings.check_wall_seconds)
        except (CheckOverran, CheckDied) as exc:
            return await r.failed(str(exc), "GW-TECH-02", seconds=f"{budget:g}")
        try:
            return await r.conclude(verdict)
        except StaleClaim:
            r.log.info("filings on file changed while checking; checking again")
            req, lookup = replace(req, known=None), _lookup(r.drain, r.kenmerk, None)  # read afresh
    raise Retry(defer=1)


# ----------------------------------------------------------------------- jobs


async def process_submission(ctx: dict[str, Any], kenmerk: str, run: int) -> str:
    r = _Run(ctx, kenmerk, run)
    try:
        return await _process(r)
    except Retry:
        raise
    except Exception as exc:
        if is_infrastructure(exc):
            delay = backoff(int(ctx.get("job_try", 1)))
            r.log.warning("infrastructure failure; will retry", error=f"{type(exc).__name__}: {exc}", retry_in=delay)
            raise Retry(defer=delay) from None
        r.log.exception("checking pipeline failed")
        return await r.failed(f"{type(exc).__name__}: {exc}", "GW-TECH-01")


async def send_notification(ctx: dict[str, Any], kenmerk: str, run: int) -> str:
    """One outcome mail, now. The postman sends mails without jobs; this job remains for mail
    jobs an older gateway queued, and sends through the same outbox (lease, record)."""
    try:
        sent = await postman_of(ctx).deliver_one((kenmerk, run))
    except Undelivered as exc:
        raise Retry(defer=exc.retry_in) from None
    except Exception as exc:
        if not is_infrastructure(exc):
            raise
        delay = backoff(int(ctx.get("job_try", 1)))
        log.warning("infrastructure failure; mail will retry", kenmerk=kenmerk, run=run, error=str(exc), retry_in=delay)
        raise Retry(defer=delay) from None
    return "sent" if sent else "nothing to send"


async def reconcile(ctx: dict[str, Any]) -> dict[str, int]:
    """Queue again whatever the database says is unfinished: Redis may have lost it. (Mails
    need no queue: the postmen read the outbox.)"""
    store: Store = ctx["store"]
    settings: Settings = ctx["settings"]
    pool: ArqRedis = ctx["redis"]
    queued = 0
    for row in await store.unfinished():
        if await enqueue_processing(pool, row.kenmerk, row.run, settings.queue_name):
            queued += 1
    mails = len(await store.pending_notifications())
    if mails and (postman := ctx.get("postman")) is not None:
        postman.nudge()
    log.info("reconciled", submissions=queued, pending_mails=mails)
    return {"submissions": queued, "notifications": mails}


# ----------------------------------------------------------------------- wiring


def make_worker(
    settings: Settings,
    redis: RedisSettings,
    *,
    store: Store | None = None,
    transport: Transport | None = None,
    burst: bool = False,
    handle_signals: bool = True,
    max_jobs: int | None = None,
) -> Worker:
    own_store = store is None
    worker: Worker | None = None

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        ctx["store"] = store or Store.from_url(settings.effective_database_url)
        ctx["heartbeat"] = asyncio.create_task(beat_forever(ctx["redis"], settings.queue_name, worker))
        ctx["register"] = make_register(settings, ctx["store"])
        ctx["drain"] = Drain(ctx["store"], ctx["register"])
        ctx["checkers"] = CheckerPool()
        await ctx["checkers"].start()
        ctx["transport"] = transport or make_transport(
            settings.smtp_url,
            settings.maildir,
            timeout=max(1.0, min(30.0, settings.job_timeout - 2)),
            keep_open=True,
        )
        ctx["postman"] = Postman(ctx["store"], ctx["transport"], settings)
        ctx["postman_task"] = asyncio.create_task(ctx["postman"].run_forever())

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "heartbeat" in ctx:
            ctx["heartbeat"].cancel()
        if "postman_task" in ctx:
            ctx["postman_task"].cancel()
            await asyncio.gather(ctx["postman_task"], return_exceptions=True)
            if burst:  # the queue is empty: send what is due before going
                await ctx["postman"].flush()
        if "checkers" in ctx:
            await ctx["checkers"].close()
        if "register" in ctx:
            await ctx["register"].close()
        if transport is None and "transport" in ctx:
            await ctx["transport"].close()
        if own_store and "store" in ctx:
            await ctx["store"].close()

    worker = PromptWorker(
        functions=[
            # Outages are retried with backoff; past max_tries the reconciler queues it again.
            func(process_submission, name="process_submission", timeout=settings.job_timeout, max_tries=25),
            # Mail jobs queued by an older gateway (the postman needs none).
            func(
                send_notification,
                name="send_notification",
                timeout=settings.job_timeout,
                max_tries=settings.mail_max_tries,
            ),
        ],
        cron_jobs=[
            cron(
                reconcile,
                name="reconcile",
                second={0, 30},
                unique=True,
                run_at_startup=True,
                timeout=settings.job_timeout,
            ),
        ],
        redis_settings=redis,
        queue_name=settings.queue_name,
        on_startup=startup,
        on_shutdown=shutdown,
        burst=burst,
        handle_signals=handle_signals,
        max_jobs=max_jobs or settings.worker_concurrency,
        keep_result=0,
        # arq releases a job claimed by a dead worker after the longest function timeout
        # + 10 s, so every function shares the one (short) job timeout.
        job_timeout=settings.job_timeout,
    )
    return worker
