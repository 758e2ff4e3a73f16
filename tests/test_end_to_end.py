"""The whole path through the real interfaces: a zeep client built from the gateway's own
?wsdl submits over mutual TLS, polls the status service to a final status, and the
notification arrives at a real SMTP server. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json

import pytest
from zeep.exceptions import Fault

from tests.support.gateway import Stack
from tests.support.wus_client import fault_detail
from tests.support.xbrl import Statement


def test_submission_reaches_500_and_mails_the_filer(stack: Stack) -> None:
    client = stack.client(stack.pki.client("filer-a"))
    instance = Statement().build()

    response = client.submit(instance, "12345678", aanleverkenmerk="JR-2024-001")

    assert len(response.kenmerk) == 36  # a UUID
    assert response.aanleverkenmerk == "JR-2024-001"
    assert response.identiteitBelanghebbende.nummer == "12345678"
    assert response.tijdstempelAangeleverd is not None
    statuses = stack.wait_final(client, response.kenmerk)
    codes = [s.statuscode for s in statuses]
    assert codes == ["105", "100", "110", "200", "301", "405", "400", "500"]
    stamps = [s.tijdstempelStatus for s in statuses]
    assert stamps == sorted(stamps)

    (mail,) = stack.smtp.wait_for(response.kenmerk)
    assert mail["To"] == "filer@example.test"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert response.kenmerk in body
        assert "JR-2024-001" in body
        assert "12345678" in body
    assert "aangenomen" in text and "accepted" in text


def test_new_statuses_are_handed_out_once_and_only_to_their_sender(stack: Stack) -> None:
    owner = stack.client(stack.pki.client("filer-b"))
    kenmerk = owner.submit(Statement().build(), "12345678").kenmerk
    stack.wait_final(owner, kenmerk)

    first = [s.statuscode for s in owner.statuses(kenmerk, new_only=True)]
    again = owner.statuses(kenmerk, new_only=True)
    assert first[-1] == "500" and "105" in first
    assert again == []
    assert [s.statuscode for s in owner.statuses(kenmerk)][-1] == "500"  # the full history stays

    stranger = stack.client(stack.pki.client("filer-c", kvk_number="87654321"))
    with pytest.raises(Fault) as info:
        stranger.statuses(kenmerk)
    code, text = fault_detail(info.value)
    assert code == "STS100"
    assert "onbekend" in text


def test_submission_is_listed_and_shown_by_the_cli(stack: Stack) -> None:
    client = stack.client(stack.pki.client("filer-a"))
    kenmerk = client.submit(Statement().build(), "12345678", aanleverkenmerk="cli-check").kenmerk
    stack.wait_final(client, kenmerk)

    listed = [json.loads(line) for line in stack.cli("submissions", "list", "--json").stdout.splitlines()]
    assert kenmerk in [item["kenmerk"] for item in listed]
    shown = json.loads(stack.cli("submissions", "show", kenmerk, "--json").stdout)
    assert shown["final_status"] == "500"
    assert shown["aanleverkenmerk"] == "cli-check"
    assert shown["sender"]["oin"] == "00000003123456780000"
    assert [s["code"] for s in shown["statuses"]][-1] == "500"
    assert len(shown["raw"]["sha256"]) == 64
