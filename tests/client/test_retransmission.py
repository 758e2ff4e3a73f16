"""gateway-client sends the identical signed message again when its connection drops (issue
11, item 16): through the real CLI, behind a TLS proxy (the gateway in reverse-proxy mode, as
behind nginx) that drops the first aanleveren connection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.client.conftest import run_client
from tests.conftest import make_stack, running
from tests.support.dropping_proxy import HEADER, DroppingProxy, DropPlan
from tests.support.gateway import Stack
from tests.support.pki import Pki
from tests.support.smtp import SmtpSink, free_port
from tests.support.xbrl import Statement


@dataclass
class Proxied:
    stack: Stack
    plan: DropPlan
    url: str


def _proxied(pki: Pki, smtp: SmtpSink, sqlite_url: str, plan: DropPlan) -> Iterator[Proxied]:
    port = free_port()
    # The WSDL must announce the proxy's address: that is where zeep posts.
    env = {"GATEWAY_PROXY_CERT_HEADER": HEADER, "GATEWAY_PUBLIC_URL": f"https://127.0.0.1:{port}"}
    for stack in running(make_stack(pki, smtp, sqlite_url, extra_env=env)):
        upstream = f"http://127.0.0.1:{stack.port}"
        proxy = DroppingProxy(upstream, pki.server.cert, pki.server.key, pki.client_bundle, plan, port=port).start()
        try:
            yield Proxied(stack, plan, proxy.url)
        finally:
            proxy.stop()


@pytest.fixture
def dropped_before(pki: Pki, smtp: SmtpSink, sqlite_url: str) -> Iterator[Proxied]:
    yield from _proxied(pki, smtp, sqlite_url, DropPlan(when="before"))


@pytest.fixture
def dropped_after(pki: Pki, smtp: SmtpSink, sqlite_url: str) -> Iterator[Proxied]:
    yield from _proxied(pki, smtp, sqlite_url, DropPlan(when="after"))


@pytest.fixture
def status_dropped(pki: Pki, smtp: SmtpSink, sqlite_url: str) -> Iterator[Proxied]:
    yield from _proxied(pki, smtp, sqlite_url, DropPlan(when="after", path="/wus/2.0/statusinformatieservice/"))


def _submit(p: Proxied, tmp_path: Path, home: Path) -> tuple[int, str, str]:
    path = tmp_path / "jaarrekening.xbrl"
    path.write_bytes(Statement().build())
    return _client(p, home, "submit", str(path), "--kvk", "12345678", "--wait")


def _client(p: Proxied, home: Path, *args: str) -> tuple[int, str, str]:
    cert = p.stack.pki.client("filer-a")
    run = run_client(
        "--url", f"{p.url}/wus/2.0", "--cert", str(cert.cert), "--key", str(cert.key), "--ca", str(p.stack.pki.root),
        "--server-cert", str(p.stack.pki.server.cert), *args, home=home,
    )  # fmt: skip
    return run.code, run.stdout, run.stderr


def _stored(stack: Stack) -> list[str]:
    return [json.loads(line)["kenmerk"] for line in stack.cli("submissions", "list", "--json").stdout.splitlines()]


def test_a_connection_dropped_before_the_gateway_saw_it_is_sent_again_identically(
    dropped_before: Proxied, tmp_path: Path, home: Path
) -> None:
    code, out, err = _submit(dropped_before, tmp_path, home)
    assert code == 0, err
    assert "sending the same signed message again" in err
    first, second = dropped_before.plan.posts
    assert first == second  # byte for byte: same MessageID, Timestamp and signature
    kenmerk = out.splitlines()[0]
    assert _stored(dropped_before.stack) == [kenmerk]


def test_a_connection_dropped_after_the_gateway_stored_it_gets_the_original_kenmerk(
    dropped_after: Proxied, tmp_path: Path, home: Path
) -> None:
    code, out, err = _submit(dropped_after, tmp_path, home)
    first, second = dropped_after.plan.posts
    assert first == second
    stored = _stored(dropped_after.stack)
    assert len(stored) == 1  # one submission, however often the message came
    assert code == 0, err
    assert out.splitlines()[0] == stored[0]


def test_a_status_request_whose_answer_was_lost_is_asked_again_as_a_new_message(
    status_dropped: Proxied, tmp_path: Path, home: Path
) -> None:
    code, out, err = _submit(status_dropped, tmp_path, home)
    assert code == 0, err
    assert "  500  " in out
    first, second = status_dropped.plan.posts[:2]
    assert first != second  # a new MessageID and signature: the same one would be refused as a replay
    assert "sending the same signed message again" not in err
