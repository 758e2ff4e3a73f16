"""Retransmission and replay (issue 11, items 7 and 16), through the TLS port: the identical
signed message sent again gets the original aanleverResponse with the same kenmerk; another
message under the same MessageID is a replay. The record is in the database, so a second
intake process on the same database knows it too."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from lxml import etree

from gateway.queue.redis_server import EmbeddedRedis
from tests.conftest import DEFAULT_COMPANY, running, seed_register, short_tmp
from tests.support.gateway import Stack
from tests.support.pki import Pki
from tests.support.raw import aanlever_envelope, fault_of, post, signed
from tests.support.smtp import SmtpSink, free_port
from tests.support.xbrl import Statement

GOOD = Statement().build()
KV = "http://logius.nl/digipoort/koppelvlakservices/1.2/"


def _kenmerk(response_content: bytes) -> str:
    return etree.fromstring(response_content).findtext(f".//{{{KV}}}kenmerk") or ""


def _stored(stack: Stack) -> list[str]:
    return [json.loads(line)["kenmerk"] for line in stack.cli("submissions", "list", "--json").stdout.splitlines()]


def test_identical_message_again_gets_the_original_answer(stack: Stack) -> None:
    cert = stack.pki.client("filer-a")
    envelope = aanlever_envelope(instance=GOOD)
    message = signed(envelope, cert)
    first = post(stack.base_url, stack.pki.root, cert, message)
    again = post(stack.base_url, stack.pki.root, cert, message)
    assert first.status_code == again.status_code == 200, again.text
    assert _kenmerk(first.content) == _kenmerk(again.content) != ""
    body = etree.fromstring(first.content).find(f".//{{{KV}}}aanleverResponse")
    body_again = etree.fromstring(again.content).find(f".//{{{KV}}}aanleverResponse")
    assert etree.tostring(body, method="c14n") == etree.tostring(body_again, method="c14n")
    assert _stored(stack) == [_kenmerk(first.content)]

    # The same MessageID with other content is still a replay.
    other = signed(envelope.replace(b"<aanleverkenmerk>raw<", b"<aanleverkenmerk>other<"), cert)
    faultcode, _, text = fault_of(post(stack.base_url, stack.pki.root, cert, other))
    assert faultcode == "wsse:FailedCheck" and "replay" in text
    # Another sender may use the same MessageID: the record is per sender.
    other_sender = stack.pki.client("filer-b")
    assert post(stack.base_url, stack.pki.root, other_sender, signed(envelope, other_sender)).status_code == 200
    assert len(_stored(stack)) == 2


@pytest.fixture
def stack_own_redis(pki: Pki, smtp: SmtpSink, database_url: str) -> Iterator[Stack]:
    """Intake only, with its private redis-server (which the test stops), on both databases."""
    seed_register(database_url, DEFAULT_COMPANY)
    yield from running(
        Stack(data_dir=short_tmp(), pki=pki, smtp=smtp, database_url=database_url, redis_url=None), worker=False
    )


def test_a_second_intake_process_knows_the_message_ids_while_redis_is_down(stack_own_redis: Stack) -> None:
    stack = stack_own_redis
    port, ops_port = free_port(), free_port()
    with open(stack.data_dir / "serve-second.log", "ab") as log:
        second = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve"],
            env=stack.env(GATEWAY_PORT=str(port), GATEWAY_OPS_PORT=str(ops_port), GATEWAY_WEB_PORT=str(free_port())),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "second intake did not start"
                time.sleep(0.1)
        cert = stack.pki.client("filer-a")
        envelope = aanlever_envelope(instance=GOOD)
        message = signed(envelope, cert)
        first = post(stack.base_url, stack.pki.root, cert, message)
        assert first.status_code == 200
        # Redis goes down: the record of MessageIDs must not fall back to one process's memory.
        EmbeddedRedis(stack.data_dir).stop()
        elsewhere = f"https://127.0.0.1:{port}"
        # The very message, sent again to the other process: the same kenmerk.
        again = post(elsewhere, stack.pki.root, cert, message)
        assert again.status_code == 200 and _kenmerk(again.content) == _kenmerk(first.content)
        # Other content under that MessageID, to the other process: a replay.
        other = signed(envelope.replace(b"<aanleverkenmerk>raw<", b"<aanleverkenmerk>other<"), cert)
        faultcode, _, text = fault_of(post(elsewhere, stack.pki.root, cert, other))
        assert faultcode == "wsse:FailedCheck" and "replay" in text
    finally:
        second.terminate()
        second.wait(10)
