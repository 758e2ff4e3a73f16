"""A worker SIGKILLed in the middle of a job: the next worker finishes the submission, and
the filer gets exactly one mail."""

from __future__ import annotations

import signal
import time

from tests.support.gateway import DatabaseLock, Stack, redis_client
from tests.support.xbrl import Statement


def test_killed_worker_job_is_finished_by_the_next_worker(stack_no_worker: Stack) -> None:
    stack = stack_no_worker
    client = stack.client(stack.pki.client("filer-a"))
    kenmerk = client.submit(Statement().build(), "12345678").kenmerk
    r = redis_client(stack)
    in_progress = f"arq:in-progress:process:{kenmerk}:1"

    with DatabaseLock(stack.database_url):
        worker = stack.start_worker()
        deadline = time.monotonic() + 90  # a worker starts its checking processes first
        while not r.exists(in_progress):
            assert time.monotonic() < deadline, stack.logs("worker")
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)

    stack.start_worker()
    statuses = stack.wait_final(client, kenmerk, timeout=90)
    codes = [s.statuscode for s in statuses]
    assert codes[-1] == "500"
    assert codes.count("500") == 1 and codes.count("100") == 1
    stack.smtp.wait_for(kenmerk)
    time.sleep(2)  # a duplicate would arrive right behind the first
    assert len(stack.smtp.for_kenmerk(kenmerk)) == 1
