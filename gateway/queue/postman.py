"""The outcome mails, sent by each worker's postman from the outbox (the notifications table),
off the checks' path.

Why this way:

- The mail is queued by the transaction that finishes its run: the notification row is
  written with the statuses and findings (gateway/store/runs.py). No Redis job is needed for
  it, so there is no moment in which an outcome is committed and its mail not queued, and a
  submission costs no Redis round trips for its mail.
- Checks never wait behind mails: the postman is a task of its own in the worker, not an
  arq job, so mails take none of the worker's job slots; a backlog of mails, or a slow or
  unreachable mail server, cannot hold up a single check. Nor do checks starve mails: a
  finished run wakes the postman, which takes every due mail, oldest first, whatever the
  number of checks queued. The two share the worker's CPU, nothing else.
- Cheap per mail: the transaction that finishes a run leases its mail to the worker's own
  postman and the worker hands the mail over (``hand``), so the usual mail is never read back
  from the outbox; other mails (failed ones coming due, a dead worker's) are leased in
  batches, one transaction loading what each says. Mails go out over SMTP connections kept
  open (``PersistentSmtp``), and are recorded as sent right after each send, in transactions
  shared by the sends that finish meanwhile.
- Exactly one mail per final run: a mail is leased to one postman at a time, and a send
  starts only while the lease is good for the longest send (the SMTP timeout) after it. A
  failed mail waits for its next attempt with backoff; a postman that died leaves its
  leases to expire, and another postman takes the mails over. A mail sent but not yet
  recorded when its worker is killed goes out again, with the same Message-ID: that window
  is one transaction wide, as it always was.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from typing import Any

import structlog

from gateway.checks.report import capped
from gateway.notice import Notice
from gateway.notify.message import build_message
from gateway.notify.transport import Transport
from gateway.queue.batching import Grouped
from gateway.queue.failures import backoff, is_infrastructure
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.outbox import Attempt, Letter, Outbox, RunKey

log = structlog.get_logger(__name__)

#: Seconds a postman holds the mails it took (a killed worker's mails wait this long).
LEASE = 60.0
#: Mails taken at once.
BATCH = 32
#: Mails in flight at once (each on its own SMTP connection).
CONNECTIONS = 2
#: Seconds between looks at the outbox when nothing woke the postman: mails of a worker that
#: died, and failed mails coming due again.
POLL = 2.0


def retry_delay(attempts: int, max_tries: int) -> float:
    """After ``attempts`` failed attempts: 5 s doubling to 10 minutes, and once an hour after
    ``max_tries`` (GATEWAY_MAIL_MAX_TRIES): a mail is delayed, never given up."""
    if attempts >= max_tries:
        return 3600.0
    return float(min(5 * 2 ** max(0, attempts - 1), 600))


def notice_of(letter: Letter) -> Notice:
    return Notice(
        kenmerk=letter.kenmerk,
        run=letter.run,
        outcome=letter.outcome,
        aanleverkenmerk=letter.aanleverkenmerk,
        kvk_number=letter.kvk_number,
        final_status=letter.final_status,
        # The mail lists per rule at most 20 places, like statusdetails; the full list stays
        # with the submission.
        findings=capped(list(letter.findings)),
    )


class Undelivered(Exception):
    """The mail server did not take the mail; it is tried again ``retry_in`` seconds on."""

    def __init__(self, error: str, retry_in: float) -> None:
        super().__init__(error)
        self.retry_in = retry_in


class Postman:
    def __init__(self, store: Store, transport: Transport, settings: Settings) -> None:
        owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.outbox = Outbox(store, owner)
        self.transport = transport
        self.settings = settings
        #: The longest a send may take (the transport's timeout).
        self.send_seconds = float(getattr(transport, "timeout", 30.0))
        self._wake = asyncio.Event()
        self._record: Grouped[Attempt, None] = Grouped(self.outbox.settle)
        self._slots = asyncio.Semaphore(CONNECTIONS)
        #: Leased and not yet recorded: given back when the postman stops.
        self._in_hand: set[RunKey] = set()
        #: Handed over by the worker, leased to us when their runs finished: (letter, the
        #: monotonic time by which a send must start).
        self._handed: list[tuple[Letter, float]] = []
        self._last_take = 0.0

    @property
    def owner(self) -> str:
        return self.outbox.owner

    def lease(self) -> tuple[str, float]:
        """What a finishing run leases its mail to, for ``hand``."""
        return (self.owner, LEASE)

    def hand(self, letter: Letter) -> None:
        """A mail its run's transaction leased to us (``lease``): send it without taking it
        from the outbox."""
        self._in_hand.add((letter.kenmerk, letter.run))
        self._handed.append((letter, self._start_by(time.monotonic())))
        self._wake.set()

    def _start_by(self, leased_at: float) -> float:
        """A send starts only while the lease is good for the longest send after it."""
        return leased_at + LEASE - self.send_seconds - 10

    def nudge(self) -> None:
        """A run finished with a mail to send: look now."""
        self._wake.set()

    async def run_forever(self) -> None:
        try:
            await self._rounds()
        finally:
            # Stopping (a worker shutting down or restarting): what we hold goes back now,
            # not when the leases run out.
            if self._in_hand:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(5):
                        await asyncio.shield(self.outbox.release(sorted(self._in_hand)))

    async def flush(self, seconds: float = 60.0) -> None:
        """Send what is due now (a burst worker before it ends)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while await self.round():
                    pass

    async def _rounds(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                taken = await self.round()
                failures = 0
            except Exception as exc:  # the database away for a moment: the mails wait
                failures += 1
                taken = 0
                if not is_infrastructure(exc):
                    log.exception("outbox round failed")
                else:
                    log.warning("outbox not read; will try again", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(backoff(failures, cap=10))
            if taken:
                continue  # more may be due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL)

    async def round(self) -> int:
        """Send the mails handed over and, when none were or POLL seconds went by since it
        last looked, a batch of due mails from the outbox; returns how many there were."""
        batch, self._handed = self._handed, []
        if not batch or time.monotonic() - self._last_take >= POLL:
            self._last_take = time.monotonic()
            taken = await self.outbox.take(BATCH, LEASE)
            self._in_hand.update((one.kenmerk, one.run) for one in taken)
            start_by = self._start_by(time.monotonic())
            batch += [(one, start_by) for one in taken]
        outcomes = await asyncio.gather(*(self._deliver(one, by) for one, by in batch), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Undelivered):
                raise outcome
        return len(batch)

    async def deliver_one(self, key: RunKey) -> bool:
        """Send one mail now, due or not (an explicit job); False if there is nothing to send
        (sent already, skipped, or in another postman's hands). Raises Undelivered."""
        letters = await self.outbox.take(1, LEASE, only=key)
        if not letters:
            return False
        self._in_hand.add(key)
        await self._deliver(letters[0], self._start_by(time.monotonic()))
        return True

    async def _deliver(self, letter: Letter, start_by: float) -> None:
        bound = log.bind(kenmerk=letter.kenmerk, run=letter.run)
        async with self._slots:
            if time.monotonic() > start_by:  # the lease is running out: leave it to the next round
                await self.outbox.release([(letter.kenmerk, letter.run)])
                self._in_hand.discard((letter.kenmerk, letter.run))
                return
            msg = build_message(notice_of(letter), self.settings.mail_from, letter.recipient)
            try:
                await self.transport.send(msg)
            except Exception as exc:  # any SMTP or network failure: try again later
                error = f"{type(exc).__name__}: {exc}"
                delay = retry_delay(letter.attempts + 1, self.settings.mail_max_tries)
                failed = Attempt(letter.kenmerk, letter.run, error, delay)
                await self._settle(failed)
                bound.warning("mail not sent, will retry", error=type(exc).__name__, retry_in=delay)
                raise Undelivered(error, delay) from None
        # Recorded after the slot is free: the next mail need not wait for the bookkeeping.
        await self._settle(Attempt(letter.kenmerk, letter.run))
        bound.info("notification sent", outcome=letter.outcome)

    async def _settle(self, attempt: Attempt) -> None:
        """Record a mail's fate, riding out a short database blip: a mail that went out but is
        not recorded as sent would go out again once its lease ran out."""
        for tries in range(1, 8):
            try:
                await self._record(attempt)
                self._in_hand.discard((attempt.kenmerk, attempt.run))
                return
            except Exception as exc:
                if tries == 7 or not is_infrastructure(exc):
                    raise
                await asyncio.sleep(backoff(tries, cap=5))


def postman_of(ctx: dict[str, Any]) -> Postman:
    postman: Postman | None = ctx.get("postman")
    if postman is None:  # a job called on its own (tests, or queued by an older gateway)
        postman = Postman(ctx["store"], ctx["transport"], ctx["settings"])
    return postman
