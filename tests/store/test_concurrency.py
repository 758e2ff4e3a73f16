"""Two adopted statements for the same company and year, checked at the same moment by two
workers: exactly one is accepted, the other gets the duplicate error."""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterator

import pytest

from tests.conftest import make_stack
from tests.support.gateway import DatabaseLock, Stack, redis_client
from tests.support.pki import Pki
from tests.support.smtp import SmtpSink
from tests.support.xbrl import Statement


@pytest.fixture
def two_workers(pki: Pki, smtp: SmtpSink, database_url: str) -> Iterator[Stack]:
    s = make_stack(pki, smtp, database_url)
    path = s.data_dir / "register.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["kvk_number", "name", "legal_form", "status"])
        w.writerow(["55555555", "Race B.V.", "Besloten vennootschap met beperkte aansprakelijkheid", "active"])
    s.cli("register", "import", str(path))
    s.start_server()
    yield s
    s.stop()


def test_concurrent_adopted_statements_accept_exactly_one(two_workers: Stack) -> None:
    stack = two_workers
    client = stack.client(stack.pki.client("racer"))
    kenmerken: list[str] = []

    def submit() -> None:
        kenmerken.append(client.submit(Statement(kvk_number="55555555").build(), "55555555").kenmerk)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(kenmerken) == 2

    # Hold the database so both workers get through their checks (each seeing nothing on
    # file) and then meet at the final write: the unique index must decide.
    r = redis_client(stack)
    with DatabaseLock(stack.database_url):
        stack.start_worker()
        stack.start_worker()
        deadline = time.monotonic() + 90  # a worker starts its checking processes first
        while not all(r.exists(f"arq:in-progress:process:{k}:1") for k in kenmerken):
            assert time.monotonic() < deadline, stack.logs("worker")
            time.sleep(0.05)
        time.sleep(1.0)

    finals = {k: stack.wait_final(client, k)[-1] for k in kenmerken}
    codes = sorted(s.statuscode for s in finals.values())
    assert codes == ["311", "500"]
    rejected = next(s for s in finals.values() if s.statuscode == "311")
    assert rejected.statusFoutcode.foutcode == "GW-KVK-DUP"
    for k in kenmerken:
        assert len(stack.smtp.wait_for(k)) == 1
