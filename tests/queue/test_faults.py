"""Parts fail; nothing accepted is lost, nothing is accepted twice, at most one mail per
outcome, and an intake that cannot store answers with a technical fault, not a kenmerk."""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from zeep.exceptions import Fault

from gateway.queue.redis_server import EmbeddedRedis
from tests.conftest import make_stack
from tests.support.gateway import Stack
from tests.support.pki import Pki
from tests.support.raw import aanlever_envelope, fault_of, post, signed
from tests.support.smtp import SmtpSink
from tests.support.wus_client import fault_detail
from tests.support.xbrl import Statement


def _show(stack: Stack, kenmerk: str) -> dict[str, object]:
    return json.loads(stack.cli("submissions", "show", kenmerk, "--json").stdout)  # type: ignore[no-any-return]


def test_mail_server_down_delays_the_mail_but_never_loses_it(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    client = stack.client(stack.pki.client("filer-a"))
    stack.smtp.refuse = True  # 451: try again later
    try:
        kenmerk = client.submit(Statement().build(), "12345678").kenmerk
        assert stack.wait_final(client, kenmerk)[-1].statuscode == "500"  # intake and checks go on
        deadline = time.monotonic() + 30
        while (note := _show(stack, kenmerk)["notifications"][0])["attempts"] < 1:  # type: ignore[index]
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert note["state"] == "pending" and "451" in (note["last_error"] or "")
        assert stack.smtp.for_kenmerk(kenmerk) == []
    finally:
        stack.smtp.refuse = False
    stack.smtp.wait_for(kenmerk, timeout=60)  # the retry with backoff gets through
    time.sleep(1)
    assert len(stack.smtp.for_kenmerk(kenmerk)) == 1
    assert _show(stack, kenmerk)["notifications"][0]["state"] == "sent"  # type: ignore[index]


@pytest.fixture
def small_disk() -> Iterator[Path]:
    mount = Path(tempfile.mkdtemp(prefix="gw-full-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_while_storing_answers_a_technical_fault(pki: Pki, smtp: SmtpSink, small_disk: Path) -> None:
    stack = make_stack(pki, smtp, f"sqlite+aiosqlite:///{small_disk / 'gateway.db'}")
    stack.start_server()
    stack.start_worker()
    try:
        client = stack.client(pki.client("filer-a"))
        big = Statement().build() + b"<!--" + b"x" * 400_000 + b"-->"
        accepted: list[str] = []
        refused = None
        for i in range(20):
            try:
                accepted.append(client.submit(big, "12345678", aanleverkenmerk=f"full-{i}").kenmerk)
            except Fault as exc:
                refused = fault_detail(exc)
                break
        assert refused is not None, "the 3 MiB disk never filled up"
        assert refused[0] == "ALS400" and "opgeslagen" in refused[1]
        assert accepted, "nothing was stored before the disk was full"
        # The very same signed message may be sent again: a MessageID is only spent on
        # a message that was accepted.
        once = signed(aanlever_envelope(instance=big), pki.client("filer-a"))
        for _ in range(2):
            assert fault_of(post(stack.base_url, pki.root, pki.client("filer-a"), once))[1] == "ALS400"
        for k in accepted:  # everything that got a kenmerk is still there and gets its outcome
            assert stack.wait_final(client, k)[-1].statuscode in ("500", "311")
    finally:
        stack.stop()


def test_two_gateways_and_two_workers_share_one_database(pki: Pki, smtp: SmtpSink, database_url: str) -> None:
    first = make_stack(pki, smtp, database_url)
    second = Stack(
        data_dir=first.data_dir,
        pki=pki,
        smtp=smtp,
        database_url=database_url,
        redis_url=first.redis_url,
        queue_name=first.queue_name,
    )
    for s in (first, second):
        s.start_server()
        s.start_worker()
    try:
        kenmerken: list[tuple[Stack, str]] = []
        lock = threading.Lock()

        def submit(stack: Stack, n: int) -> None:
            client = stack.client(pki.client("filer-a"))
            for i in range(n):
                k = client.submit(Statement(adopted=False).build(), "12345678", aanleverkenmerk=f"two-{i}").kenmerk
                with lock:
                    kenmerken.append((stack, k))

        threads = [threading.Thread(target=submit, args=(s, 6)) for s in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(kenmerken) == 12
        for stack, k in kenmerken:
            assert stack.wait_final(stack.client(pki.client("filer-a")), k)[-1].statuscode == "500"
        for _, k in kenmerken:
            smtp.wait_for(k)
        time.sleep(1.5)
        assert all(len(smtp.for_kenmerk(k)) == 1 for _, k in kenmerken)
    finally:
        second.stop()
        first.stop()


def test_redis_restarted_mid_burst_loses_nothing(pki: Pki, smtp: SmtpSink, sqlite_url: str) -> None:
    stack = make_stack(pki, smtp, sqlite_url)
    stack.redis_url = None  # the gateway's own redis-server, which this test may kill
    stack.start_server()
    worker = stack.start_worker()
    redis_server = EmbeddedRedis(stack.data_dir)
    try:
        client = stack.client(pki.client("filer-a"))
        kenmerken = []
        for i in range(16):
            if i == 8:
                pid = int(redis_server.pidfile.read_text())
                subprocess.run(["kill", "-9", str(pid)], check=True)
                time.sleep(0.5)
            if i == 11:
                redis_server.start()
            kenmerken.append(
                client.submit(Statement(adopted=False).build(), "12345678", aanleverkenmerk=f"b{i}").kenmerk
            )
        if worker.poll() is not None:  # a worker that lost Redis may exit; its supervisor restarts it
            stack.start_worker()
        for k in kenmerken:
            assert stack.wait_final(client, k, timeout=120)[-1].statuscode == "500"
        for k in kenmerken:
            smtp.wait_for(k, timeout=60)
        time.sleep(1.5)
        assert all(len(smtp.for_kenmerk(k)) == 1 for k in kenmerken)
    finally:
        stack.stop()


def _drop_connections(database_url: str) -> int:
    import asyncio

    import asyncpg

    from tests.conftest import POSTGRES_ADMIN_URL

    name = database_url.rsplit("/", 1)[1]

    async def run() -> int:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            rows = await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
            return len(rows)
        finally:
            await conn.close()

    return asyncio.run(run())


def test_postgres_connections_dropped(pki: Pki, smtp: SmtpSink, postgres_url: str) -> None:
    stack = make_stack(pki, smtp, postgres_url)
    stack.start_server()
    stack.start_worker()
    try:
        client = stack.client(pki.client("filer-a"))
        before = client.submit(Statement(adopted=False).build(), "12345678").kenmerk
        stack.wait_final(client, before)
        assert _drop_connections(postgres_url) > 0  # the server's and the worker's pools
        after = client.submit(Statement(adopted=False).build(), "12345678").kenmerk  # pre-ping reconnects
        assert stack.wait_final(client, after)[-1].statuscode == "500"
        assert stack.wait_final(client, before)[-1].statuscode == "500"
        smtp.wait_for(after)
    finally:
        stack.stop()
