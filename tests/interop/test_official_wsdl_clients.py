"""Clients built from Digipoort's own WSDL files, unchanged but for the endpoint address, file a
statement at the gateway and poll it to its final status (issue 10, item 6a/6b)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.interop.conftest import GATEWAY_OIN
from tests.interop.official_client import AS, PKG, official_client
from tests.support.gateway import FINAL, Stack
from tests.support.xbrl import Statement

GOOD = Statement().build()
NO_AUSP = "http://geenausp.nl"


def _clients(stack: Stack, package: str) -> tuple[Any, Any]:
    cert = stack.pki.client("filer-a")
    args = (stack.base_url, stack.pki.root, cert, stack.pki.server.cert)
    return official_client(package, "aanlever", *args), official_client(package, "status", *args)


@pytest.mark.parametrize("package", [PKG, AS])
def test_official_wsdl_client_files_and_polls_to_a_final_status(interop_stack: Stack, package: str) -> None:
    aanlever, status = _clients(interop_stack, package)
    response = aanlever.aanleveren(
        berichtsoort="Jaarverantwoording_KvK",
        aanleverkenmerk=f"official-{package[:8]}",
        identiteitBelanghebbende={"nummer": "12345678", "type": "KvK"},
        rolBelanghebbende="Bedrijf",
        berichtInhoud={"mimeType": "application/xml", "bestandsnaam": "jaarrekening.xbrl", "inhoud": GOOD},
        autorisatieAdres=NO_AUSP,
    )
    assert response.kenmerk
    # Digipoort answers its own identity as identiteitOntvanger, with type OIN.
    assert response.identiteitOntvanger.nummer == GATEWAY_OIN and response.identiteitOntvanger.type == "OIN"
    deadline = time.monotonic() + 60
    found: list[Any] = []
    while time.monotonic() < deadline:
        found = list(status.getStatussenProces(kenmerk=response.kenmerk, autorisatieAdres=NO_AUSP) or [])
        if found and found[-1].statuscode in FINAL:
            break
        time.sleep(0.3)
    codes = [s.statuscode for s in found]
    assert codes[:2] == ["105", "100"] and codes[-1] == "500", codes
    # As Digipoort words them (shared/interop/samples/valid-newstatus-response.xml).
    assert found[0].statusomschrijving == "Aanleverproces gestart."
    assert found[-1].statusomschrijving == "Validatie bij de uitvragende partij gelukt."
    # The final status carries statusdetails, as in the samples (the findings, or where the
    # checks left none, the outcome document).
    assert found[-1].statusdetails
    new = list(status.getNieuweStatussenProces(kenmerk=response.kenmerk, autorisatieAdres=NO_AUSP) or [])
    assert [s.statuscode for s in new] == codes
    assert not list(status.getNieuweStatussenProces(kenmerk=response.kenmerk, autorisatieAdres=NO_AUSP) or [])
