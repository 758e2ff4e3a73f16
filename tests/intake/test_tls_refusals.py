"""Refused TLS handshakes on the filers' port (issue 14): each is one warning line in the
server's log, with the peer address and a reason an operator can act on, and is counted in
``gateway_tls_handshake_failures_total{reason}`` on the operators' /metrics. Run against a real
``gateway serve``; the client side is plain ``ssl``/``socket``, as a filer's software would be."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.devcerts import company_oin, make_ca, new_dev_ca
from tests.conftest import make_stack, running
from tests.support.gateway import Stack
from tests.support.pki import Pki, expired_window
from tests.support.raw import aanlever_envelope, post, signed
from tests.support.smtp import SmtpSink
from tests.support.wus_client import ClientCert
from tests.support.xbrl import Statement

REFUSED = "TLS handshake refused"
HEADER_TIMEOUT = 2  # GATEWAY_HEADER_TIMEOUT for these stacks: the handshake's time limit too


def _stack(pki: Pki, smtp: SmtpSink, database_url: str) -> Iterator[Stack]:
    extra = {"GATEWAY_HEADER_TIMEOUT": str(HEADER_TIMEOUT)}
    yield from running(make_stack(pki, smtp, database_url, extra_env=extra), worker=False)


@pytest.fixture(scope="module")
def tls_stack(pki: Pki, smtp: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One server for the single-refusal tests: each finds its own line by its client port."""
    yield from _stack(pki, smtp, f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('tls-refusals') / 'gateway.db'}")


def _records(stack: Stack) -> list[dict[str, Any]]:
    out = []
    for line in stack.logs("serve").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def _refusals(stack: Stack, port: int | None = None) -> list[dict[str, Any]]:
    return [r for r in _records(stack) if r.get("event") == REFUSED and (port is None or r.get("port") == port)]


def _failures(stack: Stack) -> dict[str, float]:
    text = stack.ops_get("/metrics").text
    for family in text_string_to_metric_families(text):
        if family.name == "gateway_tls_handshake_failures":
            return {s.labels["reason"]: s.value for s in family.samples if s.name.endswith("_total")}
    raise AssertionError("gateway_tls_handshake_failures_total is not on /metrics")


def _eventually(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def _tls_client(stack: Stack, cert: ClientCert | None, *, ca: Path | None = None) -> int:
    """Try a TLS connection as a filer would; the local port the server saw as the peer's."""
    ctx = ssl.create_default_context(cafile=str(ca or stack.pki.root))
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    raw = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
    port = int(raw.getsockname()[1])
    try:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            # TLS 1.3: the client is done before the server has checked its certificate; the
            # refusal arrives on the first read.
            tls.sendall(b"GET /wus/2.0/aanleverservice/1.2?wsdl HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert not tls.recv(100), "the gateway answered a client it should have refused"
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        pass
    finally:
        raw.close()
    return port


def _plain(stack: Stack, data: bytes, *, linger: float = 5.0) -> int:
    """Send ``data`` without TLS and wait (at most ``linger`` s) for the server to close."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=linger) as raw:
        port = int(raw.getsockname()[1])
        if data:
            raw.sendall(data)
        try:
            while raw.recv(1024):
                pass
        except (TimeoutError, ConnectionResetError):
            pass
    return port


def _refused_once(stack: Stack, port: int, reason: str, before: dict[str, float]) -> dict[str, Any]:
    """The one log line for the connection from ``port``, after the counter moved by one."""
    _eventually(lambda: _failures(stack).get(reason, 0) == before.get(reason, 0) + 1, f"{reason} counted")
    _eventually(lambda: bool(_refusals(stack, port)), f"a refusal logged for port {port}")
    lines = _refusals(stack, port)
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["level"] == "warning"
    assert line["remote"] == "127.0.0.1"
    assert line["reason"] == reason
    after = _failures(stack)
    assert sum(after.values()) == sum(before.values()) + 1, (before, after)
    return line


def test_every_reason_is_on_metrics_from_the_start(tls_stack: Stack) -> None:
    # The readiness probe of the test harness (connect, close, not a byte) is no refusal.
    _eventually(lambda: bool(_failures(tls_stack)), "the reasons declared")
    failures = _failures(tls_stack)
    assert {"no_client_certificate", "certificate_untrusted", "not_tls", "handshake_timeout"} <= set(failures)
    assert not _refusals(tls_stack)


def test_no_client_certificate(tls_stack: Stack) -> None:
    before = _failures(tls_stack)
    port = _tls_client(tls_stack, None)
    line = _refused_once(tls_stack, port, "no_client_certificate", before)
    assert line["detail"] == "no client certificate"


def test_untrusted_client_certificate(tls_stack: Stack) -> None:
    foreign = new_dev_ca()
    cert = tls_stack.pki.issue_with(foreign.intermediate, "foreign-tls", oin=company_oin("12345678"))
    before = _failures(tls_stack)
    line = _refused_once(tls_stack, _tls_client(tls_stack, cert), "certificate_untrusted", before)
    assert line["detail"] == "client certificate not trusted: unable to get local issuer certificate"


def test_expired_client_certificate(tls_stack: Stack) -> None:
    cert = tls_stack.pki.issue_with(tls_stack.pki.ca.intermediate, "expired-tls", **expired_window())
    before = _failures(tls_stack)
    line = _refused_once(tls_stack, _tls_client(tls_stack, cert), "certificate_expired", before)
    assert "expired" in line["detail"]


def test_server_certificate_as_client_certificate(tls_stack: Stack) -> None:
    before = _failures(tls_stack)
    line = _refused_once(tls_stack, _tls_client(tls_stack, tls_stack.pki.server), "certificate_wrong_purpose", before)
    assert "a server certificate?" in line["detail"]


def test_client_that_does_not_trust_the_gateway(tls_stack: Stack, tmp_path: Path) -> None:
    other_root = tmp_path / "other-root.pem"
    other_root.write_bytes(make_ca("Another root").cert_pem())
    before = _failures(tls_stack)
    port = _tls_client(tls_stack, tls_stack.pki.client("filer-a"), ca=other_root)
    line = _refused_once(tls_stack, port, "server_certificate_refused", before)
    assert "unknown ca" in line["detail"]
    # A root of the same name with another key (a re-keyed CA): the intermediate's Authority Key
    # Identifier names the real root's key, so the client finds no issuer either.
    other_root.write_bytes(new_dev_ca().root.cert_pem())
    before = _failures(tls_stack)
    port = _tls_client(tls_stack, tls_stack.pki.client("filer-a"), ca=other_root)
    line = _refused_once(tls_stack, port, "server_certificate_refused", before)
    assert "unknown ca" in line["detail"]


def test_plain_http_to_the_tls_port(tls_stack: Stack) -> None:
    before = _failures(tls_stack)
    port = _plain(tls_stack, b"POST /wus/2.0/aanleverservice/1.2 HTTP/1.1\r\nHost: localhost\r\n\r\n")
    line = _refused_once(tls_stack, port, "not_tls", before)
    assert "plain HTTP" in line["detail"]


def test_stalled_handshakes_time_out(tls_stack: Stack) -> None:
    before = _failures(tls_stack)
    start = time.monotonic()
    # Half a ClientHello record, then nothing; and a client that never says a word.
    stalled = _plain(tls_stack, b"\x16\x03\x01\x02\x00\x01\x00", linger=HEADER_TIMEOUT + 5)
    assert time.monotonic() - start < HEADER_TIMEOUT + 2, "the stalled handshake was not cut off"
    line = _refused_once(tls_stack, stalled, "handshake_timeout", before)
    assert line["detail"] == f"handshake timed out after {HEADER_TIMEOUT} s"
    before = _failures(tls_stack)
    silent = _plain(tls_stack, b"", linger=HEADER_TIMEOUT + 5)
    _refused_once(tls_stack, silent, "handshake_timeout", before)


def test_probe_without_a_byte_is_not_a_refusal(tls_stack: Stack) -> None:
    before = _failures(tls_stack)
    ports = []
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", tls_stack.port), timeout=5) as raw:
            ports.append(int(raw.getsockname()[1]))
    time.sleep(1.5)  # past the counter's flush interval
    assert _failures(tls_stack) == before
    assert not [line for port in ports for line in _refusals(tls_stack, port)]


def test_good_client_still_files(tls_stack: Stack) -> None:
    before = _failures(tls_stack)
    cert = tls_stack.pki.client("filer-a")
    body = signed(aanlever_envelope(instance=Statement().build()), cert)
    response = post(tls_stack.base_url, tls_stack.pki.root, cert, body)
    assert response.status_code == 200
    assert "kenmerk" in response.text
    time.sleep(1.5)
    assert _failures(tls_stack) == before
    assert "Traceback" not in tls_stack.logs("serve")


def test_a_flood_is_logged_in_part_and_counted_in_full(pki: Pki, smtp: SmtpSink, database_url: str) -> None:
    # /metrics is the operators' (SQLite and PostgreSQL); the counts themselves are in Redis.
    for stack in _stack(pki, smtp, database_url):
        before = _failures(stack).get("not_tls", 0)
        ports = {_plain(stack, b"GET / HTTP/1.0\r\n\r\n") for _ in range(25)}
        _eventually(lambda: _failures(stack)["not_tls"] == before + 25, "all 25 counted")  # noqa: B023
        logged = _refusals(stack)
        assert len(logged) == 10, "at most 10 lines per reason a minute"
        assert {line["port"] for line in logged} <= ports
        assert "Traceback" not in stack.logs("serve")
