"""The OphaalService and getNieuweStatussen, called by zeep built from the Aansluit Suite's
own WSDL files: a sender fetches one outcome bericht per final outcome (kenmerk, berichtsoort,
the outcome with every finding as XML, the notification text beside it), and only its own
(issue 10, item 4)."""

from __future__ import annotations

import base64
from typing import Any

from lxml import etree

from tests.interop.conftest import GATEWAY_OIN
from tests.interop.official_client import AS, official_client
from tests.support.gateway import Stack
from tests.support.xbrl import Statement

NO_AUSP = "http://geenausp.nl"
COMPANY = {"nummer": "12345678", "type": "KvK"}


def _file(stack: Stack, name: str, year: int = 2024) -> tuple[Any, str]:
    """File an adopted statement for the default company; two senders use two years, so that
    neither is the other's duplicate whichever the worker takes first."""
    cert = stack.pki.client(name)
    args = (stack.base_url, stack.pki.root, cert, stack.pki.server.cert)
    aanlever = official_client(AS, "aanlever", *args)
    response = aanlever.aanleveren(
        berichtsoort="Jaarverantwoording_KvK",
        aanleverkenmerk=f"ophaal-{name}",
        identiteitBelanghebbende=COMPANY,
        rolBelanghebbende="Bedrijf",
        berichtInhoud={
            "mimeType": "application/xml",
            "bestandsnaam": "jaarrekening.xbrl",
            "inhoud": Statement(year=year).build(),
        },
        autorisatieAdres=NO_AUSP,
    )
    return args, response.kenmerk


def test_a_sender_fetches_its_own_outcomes_only(interop_stack_any_db: Stack) -> None:
    stack = interop_stack_any_db
    args_a, kenmerk_a = _file(stack, "filer-a")
    _, kenmerk_b = _file(stack, "filer-b", year=2025)
    checker = stack.client(stack.pki.client("filer-a"))
    stack.wait_final(checker, kenmerk_a)
    stack.wait_final(stack.client(stack.pki.client("filer-b")), kenmerk_b)

    ophaal = official_client(AS, "ophaal", *args_a)
    lijst = list(ophaal.getBerichtenLijst(berichtsoort="Jaarverantwoording_KvK", autorisatieAdres=NO_AUSP) or [])
    assert [b.kenmerk for b in lijst] == [kenmerk_a]
    assert not list(ophaal.getBerichtenKenmerk(kenmerk=kenmerk_b, autorisatieAdres=NO_AUSP) or [])

    (bericht,) = list(ophaal.getBerichten(identiteitBelanghebbende=COMPANY, autorisatieAdres=NO_AUSP) or [])
    assert (bericht.kenmerk, bericht.berichtsoort, bericht.aanleverkenmerk) == (
        kenmerk_a,
        "Jaarverantwoording_KvK",
        "ophaal-filer-a",
    )
    assert bericht.identiteitOntvanger.nummer == GATEWAY_OIN
    outcome = etree.fromstring(bericht.berichtInhoud.inhoud)
    assert outcome.get("kenmerk") == kenmerk_a
    status = outcome.find("{urn:filing-gateway:uitkomst:1}status")
    assert status is not None and status.get("code") == "500"
    findings = outcome.findall(".//{urn:filing-gateway:uitkomst:1}bevinding")
    assert [f.get("code") for f in findings] == [c.code for c in bericht.constateringenLijst.constatering]
    (melding,) = bericht.berichtBijlagen.bijlage
    text = melding.inhoud.decode("utf-8")
    assert melding.mimeType.startswith("text/plain") and f"Kenmerk: {kenmerk_a}" in text
    assert base64.b64encode(melding.inhoud)  # really bytes, as xs:base64Binary

    new = list(ophaal.getNieuweBerichten(identiteitBelanghebbende=COMPANY, autorisatieAdres=NO_AUSP) or [])
    assert [b.kenmerk for b in new] == [kenmerk_a]
    assert not list(ophaal.getNieuweBerichten(identiteitBelanghebbende=COMPANY, autorisatieAdres=NO_AUSP) or [])
    assert not list(ophaal.getNieuweBerichtenLijst(autorisatieAdres=NO_AUSP) or [])
    assert [b.kenmerk for b in ophaal.getBerichtenKenmerk(kenmerk=kenmerk_a, autorisatieAdres=NO_AUSP)] == [kenmerk_a]


def test_get_nieuwe_statussen_hands_out_each_status_once(interop_stack_any_db: Stack) -> None:
    stack = interop_stack_any_db
    args_a, kenmerk_a = _file(stack, "filer-a")
    _, kenmerk_b = _file(stack, "filer-b", year=2025)
    final_a = stack.wait_final(stack.client(stack.pki.client("filer-a")), kenmerk_a)
    stack.wait_final(stack.client(stack.pki.client("filer-b")), kenmerk_b)  # B's statuses exist too
    status = official_client(AS, "status", *args_a)
    found = list(
        status.getNieuweStatussen(
            berichtsoort="Jaarverantwoording_KvK", identiteitBelanghebbende=COMPANY, autorisatieAdres=NO_AUSP
        )
        or []
    )
    assert {s.kenmerk for s in found} == {kenmerk_a}  # never filer-b's
    assert [s.statuscode for s in found] == [s.statuscode for s in final_a]
    again = status.getNieuweStatussen(
        berichtsoort="Jaarverantwoording_KvK", identiteitBelanghebbende=COMPANY, autorisatieAdres=NO_AUSP
    )
    assert not list(again or [])
