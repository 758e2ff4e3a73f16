"""The served WSDLs and XSD are, for a client or code generator, the official ones: compared
structurally with both public copies (Logius package and Aansluit Suite), every difference
named. Only the address differs, and it is the configured one, whatever Host the request
names (issue 10 item 1, issue 11 item 10)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from tests.conftest import make_stack, running
from tests.interop.structure import differences, wsdl_model, xsd_model
from tests.support.gateway import Stack
from tests.support.pki import Pki
from tests.support.shared import shared
from tests.support.smtp import SmtpSink
from tests.support.wus_client import session

OFFICIAL_WSDL = {
    "aanleverservice": [
        ("logius-wus-bedrijven-1.2", "wsdl/Aanleverservice_Digipoort_WUS_2.0_Bedrijven_v1.2_prod.wsdl"),
        ("aansluitsuite-served-2018", "AanleverService_V1_2.wsdl"),
    ],
    "statusinformatieservice": [
        ("logius-wus-bedrijven-1.2", "wsdl/Statusinformatieservice_Digipoort_WUS_2.0_Bedrijven_v1.2_prod.wsdl"),
        ("aansluitsuite-served-2018", "StatusinformatieService_V1_2.wsdl"),
    ],
    "ophaalservice": [("aansluitsuite-served-2018", "OphaalService_V1_2.wsdl")],
}
OFFICIAL_XSD = [
    ("logius-wus-bedrijven-1.2", "digipoort-koppelvlak-1.2.xsd"),
    ("aansluitsuite-served-2018", "digipoort-koppelvlak-1.xsd"),
]


@pytest.fixture(scope="module")
def wsdl_stack(pki: Pki, smtp: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One intake server (no worker) for the whole module: every request here is refused or read-only."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'gateway.db'}"
    yield from running(make_stack(pki, smtp, url), worker=False)


def _get(stack: Stack, path: str, **headers: str) -> requests.Response:
    s = session(stack.pki.root, stack.pki.client("filer-a"))
    response = s.get(stack.base_url + path, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response


def test_served_wsdls_and_xsd_are_structurally_the_official_ones(wsdl_stack: Stack) -> None:
    for service, copies in OFFICIAL_WSDL.items():
        served_wsdl = wsdl_model(_get(wsdl_stack, f"/wus/2.0/{service}/1.2?wsdl").content)
        for folder, name in copies:
            official = wsdl_model(shared("interop", folder, name).read_bytes())
            found = list(differences(official, served_wsdl))
            assert not found, f"{service} differs from {folder}/{name}:\n" + "\n".join(found)
    served = xsd_model(_get(wsdl_stack, "/wus/2.0/digipoort-koppelvlak-1.2.xsd").content)
    for folder, name in OFFICIAL_XSD:
        found = list(differences(xsd_model(shared("interop", folder, name).read_bytes()), served))
        assert not found, f"the XSD differs from {folder}/{name}:\n" + "\n".join(found)


def test_the_comparison_names_a_difference() -> None:
    """The model is not blind: one changed facet and one renamed message are named."""
    official = shared("interop", "logius-wus-bedrijven-1.2", "digipoort-koppelvlak-1.2.xsd").read_bytes()
    changed = official.replace(b'<xsd:maxLength value="40"/>', b'<xsd:maxLength value="41"/>', 1)
    assert any("maxLength" in d and "41" in d for d in differences(xsd_model(official), xsd_model(changed)))
    wsdl = shared("interop", *OFFICIAL_WSDL["aanleverservice"][0]).read_bytes()
    renamed = wsdl.replace(b"aanleverMessageRequest", b"aanleverRequest")
    assert "/messages/aanleverMessageRequest: missing in the served file" in list(
        differences(wsdl_model(wsdl), wsdl_model(renamed))
    )


def test_wsdl_address_is_the_configured_one_whatever_the_host_header(wsdl_stack: Stack) -> None:
    ns = {"soap": "http://schemas.xmlsoap.org/wsdl/soap/", "xsd": "http://www.w3.org/2001/XMLSchema"}
    for service in OFFICIAL_WSDL:
        doc = etree.fromstring(_get(wsdl_stack, f"/wus/2.0/{service}/1.2?wsdl", Host="evil.example").content)
        (location,) = doc.xpath("//soap:address/@location", namespaces=ns)
        assert location == f"{wsdl_stack.base_url}/wus/2.0/{service}/1.2"
        (schema,) = doc.xpath("//xsd:import/@schemaLocation", namespaces=ns)
        assert schema == f"{wsdl_stack.base_url}/wus/2.0/digipoort-koppelvlak-1.2.xsd"
        assert b"evil.example" not in etree.tostring(doc)
