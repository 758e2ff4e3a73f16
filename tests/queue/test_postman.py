"""The postman (gateway/queue/postman.py) on a real store (SQLite and PostgreSQL) and a real
SMTP server: one mail per final run, over connections kept open, whatever the postmen race
or fail; and checks that do not wait for mails."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import update

from gateway.notify.transport import PersistentSmtp
from gateway.queue import postman as postman_module
from gateway.queue.postman import Postman
from gateway.queue.worker import process_submission
from gateway.store.tables import notifications
from tests.queue.conftest import Jobs
from tests.support.smtp import SmtpSink
from tests.support.xbrl import Statement


async def _checked(jobs: Jobs, n: int, **ctx: object) -> list[str]:
    kenmerken = [await jobs.submit(Statement(adopted=False).build()) for _ in range(n)]
    for k in kenmerken:
        assert await process_submission(jobs.ctx(**ctx), k, 1) == "accepted"
    return kenmerken


async def _states(jobs: Jobs, kenmerken: list[str]) -> list[str]:
    return [(await jobs.store.get_notification(k, 1)).state for k in kenmerken]  # type: ignore[union-attr]


async def test_mails_go_out_once_each_over_one_connection_kept_open(jobs: Jobs, smtp: SmtpSink) -> None:
    kenmerken = await _checked(jobs, 5)
    smtp.connections.clear()
    transport = PersistentSmtp(smtp.url, timeout=5, connections=1)
    first, second = Postman(jobs.store, transport, jobs.settings), Postman(jobs.store, transport, jobs.settings)
    try:
        # Two postmen (two workers) at the same outbox: each mail is in one's hands.
        taken = await asyncio.gather(first.round(), second.round())
        assert sum(taken) == 5
        assert await first.round() == 0
    finally:
        await transport.close()
    assert all(len(smtp.for_kenmerk(k)) == 1 for k in kenmerken)
    assert await _states(jobs, kenmerken) == ["sent"] * 5
    assert len(smtp.connections) == 1
    note = await jobs.store.get_notification(kenmerken[0], 1)
    assert note is not None and note.attempts == 1 and note.sent_at is not None and note.lease_until is None


async def test_a_failed_mail_waits_for_its_next_attempt(jobs: Jobs, smtp: SmtpSink) -> None:
    [k] = await _checked(jobs, 1)
    transport = PersistentSmtp(smtp.url, timeout=5)
    postman = Postman(jobs.store, transport, jobs.settings)
    smtp.refuse = True
    try:
        assert await postman.round() == 1
        note = await jobs.store.get_notification(k, 1)
        assert note is not None and note.state == "pending" and note.attempts == 1 and "451" in note.last_error
        assert note.next_attempt_at is not None and note.lease_until is None
        assert await postman.round() == 0  # not due yet (5 s)
        smtp.refuse = False
        async with jobs.store._write() as conn:  # five seconds on
            await conn.execute(update(notifications).values(next_attempt_at=note.next_attempt_at.replace(year=2000)))
        assert await postman.round() == 1
    finally:
        smtp.refuse = False
        await transport.close()
    assert len(smtp.for_kenmerk(k)) == 1
    note = await jobs.store.get_notification(k, 1)
    assert note is not None and note.state == "sent" and note.attempts == 2
    assert postman_module.retry_delay(1, 12) == 5 and postman_module.retry_delay(9, 12) == 600
    assert postman_module.retry_delay(12, 12) == 3600  # delayed, never given up


async def test_a_stopped_postman_gives_its_mails_back_and_a_dead_ones_lease_runs_out(
    jobs: Jobs, smtp: SmtpSink
) -> None:
    first, second = await _checked(jobs, 2)
    transport = PersistentSmtp(smtp.url, timeout=5)
    smtp.delay = 30.0  # a mail server that hangs: the postman is stuck in the sends
    stuck = Postman(jobs.store, transport, jobs.settings)
    running = asyncio.create_task(stuck.run_forever())
    try:
        smtp.delayed = 0
        async with asyncio.timeout(10):
            while smtp.delayed < 2:  # both mails are on the wire
                await asyncio.sleep(0.02)
        running.cancel()  # the worker stops
        await asyncio.gather(running, return_exceptions=True)
        smtp.delay = 0.0
        # Given back at once, not after the lease: another postman sends them now.
        other = Postman(jobs.store, PersistentSmtp(smtp.url, timeout=5), jobs.settings)
        assert await other.round() == 2
        await other.transport.close()
    finally:
        smtp.delay = 0.0
        await transport.close()
    assert await _states(jobs, [first, second]) == ["sent", "sent"]
    # A killed postman gives nothing back: its lease must run out first.
    [k] = await _checked(jobs, 1)
    dead = Postman(jobs.store, transport, jobs.settings)
    assert [letter.kenmerk for letter in await dead.outbox.take(10, lease=1.0)] == [k]
    alive = Postman(jobs.store, PersistentSmtp(smtp.url, timeout=5), jobs.settings)
    assert await alive.round() == 0
    await asyncio.sleep(1.2)
    assert await alive.round() == 1
    await alive.transport.close()
    assert len(smtp.for_kenmerk(k)) == 1


async def test_a_finished_runs_mail_is_leased_to_the_workers_postman_and_handed_over(
    jobs: Jobs, smtp: SmtpSink
) -> None:
    transport = PersistentSmtp(smtp.url, timeout=5)
    mine, other = Postman(jobs.store, transport, jobs.settings), Postman(jobs.store, transport, jobs.settings)
    try:
        [k] = await _checked(jobs, 1, postman=mine)
        note = await jobs.store.get_notification(k, 1)
        assert note is not None and note.state == "pending" and note.lease_owner == mine.owner
        assert await other.round() == 0  # in the hands of the worker that finished the run
        mine._last_take = time.monotonic()  # it just looked: the mail comes from the hand-over
        assert await mine.round() == 1
    finally:
        await transport.close()
    [mail] = smtp.for_kenmerk(k)
    assert mail["X-Gateway-Outcome"] == "accepted" and "Status: 500" in mail.get_body(("plain",)).get_content()
    assert await _states(jobs, [k]) == ["sent"]


async def test_checks_do_not_wait_for_a_hanging_mail_server(jobs: Jobs, smtp: SmtpSink) -> None:
    transport = PersistentSmtp(smtp.url, timeout=20)
    postman = Postman(jobs.store, transport, jobs.settings)
    running = asyncio.create_task(postman.run_forever())
    smtp.delay, smtp.delayed = 15.0, 0
    try:
        [first] = await _checked(jobs, 1, postman=postman)
        async with asyncio.timeout(10):
            while not smtp.delayed:  # the postman is stuck sending the first mail
                await asyncio.sleep(0.02)
        started = time.monotonic()
        later = await _checked(jobs, 3, postman=postman)
        assert time.monotonic() - started < 10  # the checks went on meanwhile
        assert all(smtp.for_kenmerk(k) == [] for k in [first, *later])
    finally:
        smtp.delay = 0.0
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await transport.close()
