"""The worker: arq jobs that check a submission, mail its outcome, and reconcile.

Every job is idempotent. The store decides whether work is still needed (a run that is
already finished is not finished again; a mail already sent is not sent again), so a job
that runs twice, after a crash or a Redis restart, does no harm.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from arq import Retry, cron
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker, func

from gateway import checks
from gateway.checks.base import CheckContext, FilingOnFile, Finding, PartInfo, finding
from gateway.notify.message import Outcome, build_message
from gateway.notify.transport import Transport, make_transport
from gateway.queue.heartbeat import beat_forever
from gateway.queue.jobs import enqueue_mail, enqueue_processing
from gateway.register import StoreRegister
from gateway.settings import Settings
from gateway.store.db import DuplicateAdoptedFiling, FilingClaim, FindingRow, StatusEntry, Store

log = structlog.get_logger(__name__)


# ----------------------------------------------------------------------- deciding


def statuses_for(outcome: str, found: list[Finding]) -> list[StatusEntry]:
    """The Digipoort statuses that follow 110 for an outcome (reference section 4)."""
    details = "\n".join(_detail_line(f) for f in found) or None
    if outcome == "accepted":
        return [
            StatusEntry("200"),
            StatusEntry("301"),
            StatusEntry("405"),
            StatusEntry("400"),
            StatusEntry("500", details=details),
        ]
    if outcome == "rejected":
        first = next(f for f in found if f.is_error)
        return [
            StatusEntry("200"),
            StatusEntry("311", foutcode=first.code, foutbeschrijving=first.message_nl, details=details),
        ]
    first = found[0]
    return [
        StatusEntry("200"),
        StatusEntry("321", foutcode="VAS400", foutbeschrijving=first.message_nl, details=details),
    ]


def _detail_line(f: Finding) -> str:
    where = f" ({f.location})" if f.location else ""
    return f"{f.code} [{f.severity}] {f.message_nl}{where} / {f.message_en}"


def _rows(found: list[Finding]) -> list[FindingRow]:
    return [FindingRow(f.code, f.severity, f.message_nl, f.message_en, f.location) for f in found]


async def evaluate(store: Store, ctx: CheckContext) -> list[Finding]:
    """Run the checks: message checks, then load register data, then the register checks.
    CPU-bound parts run in a thread so the worker keeps answering heartbeats."""
    found = await asyncio.to_thread(checks.run, checks.MESSAGE_CHECKS, ctx)
    kvk = ctx.derived.get("kvk_number")
    if kvk:
        ctx.company = await StoreRegister(store).lookup(kvk)
        ctx.company_looked_up = True
        fy = ctx.derived.get("financial_year")
        if fy is not None:
            ctx.on_file = [FilingOnFile(r.id, r.kenmerk, r.adopted) for r in await store.filings_on_file(kvk, fy)]
    found += await asyncio.to_thread(checks.run, checks.REGISTER_CHECKS, ctx)
    return found


def claim_for(ctx: CheckContext) -> FilingClaim | None:
    kvk = ctx.derived.get("kvk_number")
    fy = ctx.derived.get("financial_year")
    if not kvk or fy is None:
        return None
    return FilingClaim(
        kvk_number=kvk,
        financial_year=fy,
        adopted=bool(ctx.derived.get("adopted")),
        supersedes=list(ctx.derived.get("supersedes", [])),
        figures=ctx.derived.get("figures"),
    )


# ----------------------------------------------------------------------- jobs


async def process_submission(ctx: dict[str, Any], kenmerk: str, run: int) -> str:
    store: Store = ctx["store"]
    settings: Settings = ctx["settings"]
    bound = log.bind(kenmerk=kenmerk, run=run, job_try=ctx.get("job_try"))
    if not await store.begin_run(kenmerk, run):
        bound.info("run already finished or superseded")
        return "skipped"
    sub = await store.get_submission(kenmerk)
    docs = await store.get_documents(kenmerk)
    assert sub is not None
    check_ctx = CheckContext(
        berichtsoort=sub.berichtsoort,
        belanghebbende_nummer=sub.belanghebbende_nummer,
        belanghebbende_type=sub.belanghebbende_type,
        filed_at=sub.received_at,
        parts=[PartInfo(d.position, d.mime_type, d.bestandsnaam, d.size) for d in docs],
        raw_instance=docs[0].content,
    )
    del docs
    started = time.monotonic()
    try:
        found = await evaluate(store, check_ctx)
        outcome = "rejected" if any(f.is_error for f in found) else "accepted"
    except Exception:
        # A bug or an outage in a check: status 321, and a developer replays it later.
        bound.exception("check pipeline failed")
        found = [finding("GW-TECH-01")]
        outcome = "error"
    claim = claim_for(check_ctx) if outcome == "accepted" else None
    kvk = check_ctx.derived.get("kvk_number")
    fy = check_ctx.derived.get("financial_year")
    elapsed = time.monotonic() - started

    async def finish(outcome: str, found: list[Finding], claim: FilingClaim | None) -> bool:
        return await store.finish_run(
            kenmerk,
            run,
            outcome=outcome,
            entries=statuses_for(outcome, found),
            found=_rows(found),
            claim=claim,
            kvk_number=kvk,
            financial_year=fy,
            check_seconds=elapsed,
        )

    try:
        mail = await finish(outcome, found, claim)
    except DuplicateAdoptedFiling:
        # Another adopted statement for this year was accepted while we checked.
        found = [finding("GW-KVK-DUP", kvk_number=kvk, year=fy), *found]
        outcome = "rejected"
        mail = await finish(outcome, found, None)
    bound.info("submission checked", outcome=outcome, findings=len(found))
    if mail:
        await enqueue_mail(ctx["redis"], kenmerk, run, settings.queue_name)
    return outcome


async def send_notification(ctx: dict[str, Any], kenmerk: str, run: int) -> str:
    store: Store = ctx["store"]
    settings: Settings = ctx["settings"]
    transport: Transport = ctx["transport"]
    note = await store.get_notification(kenmerk, run)
    if note is None or note.state != "pending":
        return "nothing to send"
    sub = await store.get_submission(note.kenmerk)
    assert sub is not None
    rows = await store.findings_for(note.kenmerk, note.run)
    history = await store.status_history(note.kenmerk)
    final = next((s.code for s in reversed(history) if s.run == note.run), sub.final_status or "")
    outcome = Outcome(
        kenmerk=note.kenmerk,
        run=note.run,
        outcome=note.outcome,
        aanleverkenmerk=sub.aanleverkenmerk,
        kvk_number=sub.kvk_number or sub.belanghebbende_nummer,
        final_status=final,
        findings=[Finding(r.code, r.severity, r.message_nl, r.message_en, r.location) for r in rows],
    )
    msg = build_message(outcome, settings.mail_from, note.recipient)
    bound = log.bind(kenmerk=kenmerk, run=run, job_try=ctx.get("job_try"))
    try:
        await transport.send(msg)
    except Exception as exc:  # any SMTP or network failure: try again later
        await store.mark_notification(kenmerk, run, sent=False, error=f"{type(exc).__name__}: {exc}")
        job_try = int(ctx.get("job_try", 1))
        delay = min(5 * 2 ** (job_try - 1), 600)
        bound.warning("mail not sent, will retry", error=type(exc).__name__, retry_in=delay)
        raise Retry(defer=delay) from None
    await store.mark_notification(kenmerk, run, sent=True)
    bound.info("notification sent", outcome=note.outcome)
    return "sent"


async def reconcile(ctx: dict[str, Any]) -> dict[str, int]:
    """Queue again whatever the database says is unfinished. Redis may have lost it."""
    store: Store = ctx["store"]
    settings: Settings = ctx["settings"]
    pool: ArqRedis = ctx["redis"]
    queued = 0
    for row in await store.unfinished():
        if await enqueue_processing(pool, row.kenmerk, row.run, settings.queue_name):
            queued += 1
    mails = 0
    for kenmerk, run in await store.pending_notifications():
        if await enqueue_mail(pool, kenmerk, run, settings.queue_name):
            mails += 1
    log.info("reconciled", submissions=queued, notifications=mails)
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
        ctx["transport"] = transport or make_transport(
            settings.smtp_url, settings.maildir, timeout=max(1.0, min(30.0, settings.job_timeout - 2))
        )

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "heartbeat" in ctx:
            ctx["heartbeat"].cancel()
        if own_store and "store" in ctx:
            await ctx["store"].close()

    worker = Worker(
        functions=[
            func(process_submission, name="process_submission", timeout=settings.job_timeout, max_tries=5),
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
        # arq takes new jobs only once per poll: throughput <= max_jobs / poll_delay.
        poll_delay=0.05,
    )
    return worker
