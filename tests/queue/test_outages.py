"""Outages and poison through real processes: workers outlive Redis, a statement that
overruns its checks ends in a final status while intake keeps answering, and `gateway dev`
cleans up the redis-server it adopted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.queue.redis_server import EmbeddedRedis
from tests.conftest import make_stack, short_tmp
from tests.support.pki import Pki
from tests.support.redis_server import PrivateRedis
from tests.support.smtp import SmtpSink, free_port
from tests.support.xbrl import Statement, padded


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis(short_tmp())
    server.start()
    yield server
    server.stop()


def test_workers_wait_for_redis_and_carry_on(
    pki: Pki, smtp: SmtpSink, sqlite_url: str, private_redis: PrivateRedis
) -> None:
    stack = make_stack(pki, smtp, sqlite_url)
    stack.redis_url = private_redis.url
    stack.start_server()
    workers = [stack.start_worker(), stack.start_worker()]
    try:
        client = stack.client(pki.client("filer-a"))
        first = client.submit(Statement(adopted=False).build(), "12345678", aanleverkenmerk="before").kenmerk
        assert stack.wait_final(client, first)[-1].statuscode == "500"

        private_redis.kill()
        # Stored while Redis is down: intake answers, the reconciler queues it later.
        during = client.submit(Statement(adopted=False).build(), "12345678", aanleverkenmerk="during").kenmerk
        time.sleep(4)  # arq's own worker gave up ~1.2 s after the kill
        assert [w.poll() for w in workers] == [None, None], stack.logs("worker")[-2000:]

        private_redis.start()
        after = client.submit(Statement(adopted=False).build(), "12345678", aanleverkenmerk="after").kenmerk
        for k in (during, after):
            assert stack.wait_final(client, k, timeout=90)[-1].statuscode == "500"
            smtp.wait_for(k, timeout=60)
        assert [w.poll() for w in workers] == [None, None]
        time.sleep(1.5)
        assert all(len(smtp.for_kenmerk(k)) == 1 for k in (first, during, after))
    finally:
        stack.stop()


def test_a_statement_that_overruns_its_checks_gets_a_final_status_while_intake_answers(
    pki: Pki, smtp: SmtpSink, sqlite_url: str
) -> None:
    # A test-only budget: 0.1 CPU seconds, which a 10 MB valid statement exceeds many
    # times over and a normal one stays far below.
    stack = make_stack(pki, smtp, sqlite_url, extra_env={"GATEWAY_CHECK_TIMEOUT": "0.1"})
    stack.start_server()
    stack.start_worker()
    try:
        client = stack.client(pki.client("filer-a"))
        started = time.monotonic()
        poison = client.submit(padded(Statement().build(), 10_000_000), "12345678", aanleverkenmerk="big").kenmerk
        small = []
        for i in range(3):
            t = time.monotonic()
            small.append(client.submit(Statement(adopted=False).build(), "12345678", aanleverkenmerk=f"s{i}").kenmerk)
            assert time.monotonic() - t < 15, "intake stopped answering"
        for k in small:
            assert stack.wait_final(client, k)[-1].statuscode == "500"
        final = stack.wait_final(client, poison, timeout=90)[-1]
        assert time.monotonic() - started < 120
        assert final.statuscode == "321" and final.statusFoutcode.foutcode == "VAS400"
        assert "GW-TECH-02" in (final.statusdetails or "")
        shown = stack.cli("submissions", "show", poison).stdout
        assert "GW-TECH-02" in shown
        smtp.wait_for(poison)
    finally:
        stack.stop()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _dev(data: Path, port: int, ops_port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        GATEWAY_DATA_DIR=str(data),
        GATEWAY_PORT=str(port),
        GATEWAY_OPS_PORT=str(ops_port),
        GATEWAY_WEB_PORT=str(free_port()),
    )
    with open(data.parent / "dev.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "dev"], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while not _listening(port):
        assert proc.poll() is None and time.monotonic() < deadline, (data.parent / "dev.log").read_text()
        time.sleep(0.2)
    return proc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too (its parent has not reaped it yet).
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_dev_stops_the_redis_server_it_adopted_after_a_crash() -> None:
    data = short_tmp() / "data"
    port, ops_port = free_port(), free_port()
    first = _dev(data, port, ops_port)
    redis_pid = int(EmbeddedRedis(data).pidfile.read_text())
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert _alive(redis_pid)  # orphaned, as after any crash

    second = _dev(data, port, ops_port)
    assert int(EmbeddedRedis(data).pidfile.read_text()) == redis_pid  # adopted, not a second one
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0
    deadline = time.monotonic() + 10
    while _alive(redis_pid):
        assert time.monotonic() < deadline, "gateway dev left its redis-server running"
        time.sleep(0.1)
