"""The client library against Digipoort's own recorded answers (shared/interop/samples):
the signed responses verify with its clock set to their time and are refused as expired
with the real clock; the tampered one is refused; both real fault shapes are read
(issue 10, item 6d)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from lxml import etree
from zeep import Client
from zeep.exceptions import Fault, SignatureVerificationFailed

from gateway.client.wsse import DigipoortSignature
from gateway.wus import wssec
from tests.interop.official_client import AS, PKG, WSDL_FILES, CatalogTransport
from tests.support.pki import Pki
from tests.support.shared import shared
from tests.support.wus_client import fault_detail

SAMPLE_TIME = {
    "valid-deliver-response.xml": dt.datetime(2021, 3, 7, 11, 40, tzinfo=dt.UTC),
    "valid-newstatus-response.xml": dt.datetime(2021, 3, 10, 12, 50, tzinfo=dt.UTC),
    "tampered-deliver-response.xml": dt.datetime(2021, 3, 7, 11, 40, tzinfo=dt.UTC),
}


def _sample(name: str) -> etree._Element:
    return etree.fromstring(shared("interop", "samples", name).read_bytes())


def _client_wsse(pki: Pki, when: dt.datetime | None) -> DigipoortSignature:
    cert = pki.client("filer-a")
    return DigipoortSignature(cert.key.read_bytes(), cert.cert.read_bytes(), clock=(lambda: when) if when else None)


@pytest.mark.parametrize("name", ["valid-deliver-response.xml", "valid-newstatus-response.xml"])
def test_real_signed_responses_verify_at_their_time(pki: Pki, name: str) -> None:
    wsse = _client_wsse(pki, SAMPLE_TIME[name])
    wsse.verify(_sample(name))
    assert wsse.last_verified is not None
    assert "cs-bedrijven.procesinfrastructuur.nl" in wsse.last_verified.certificate.subject.rfc4514_string()


@pytest.mark.parametrize("name", ["valid-deliver-response.xml", "valid-newstatus-response.xml"])
def test_real_signed_responses_are_expired_now(pki: Pki, name: str) -> None:
    with pytest.raises(SignatureVerificationFailed, match="verlopen"):
        _client_wsse(pki, None).verify(_sample(name))


def test_the_tampered_response_is_refused(pki: Pki) -> None:
    name = "tampered-deliver-response.xml"
    with pytest.raises(SignatureVerificationFailed, match="handtekening klopt niet"):
        _client_wsse(pki, SAMPLE_TIME[name]).verify(_sample(name))
    # Only the Body was changed: the same check on the untampered copy passes.
    wssec.verify(_sample("valid-deliver-response.xml"), now=SAMPLE_TIME[name])


class _Recorded:
    """A requests.Response carrying a recorded answer, for zeep's reply processing."""

    def __init__(self, content: bytes) -> None:
        self.status_code = 500
        self.content = content
        self.headers = {"Content-Type": "text/xml; charset=UTF-8"}
        self.encoding = "utf-8"


def _read_fault(package: str, service: str, operation: str, sample: str, pki: Pki) -> Fault:
    wsdl = shared("interop", WSDL_FILES[(package, service)])
    client = Client(str(wsdl), transport=CatalogTransport(session=requests.Session()), wsse=_client_wsse(pki, None))
    binding: Any = client.service._binding
    with pytest.raises(Fault) as info:
        binding.process_reply(
            client, binding.get(operation), _Recorded(shared("interop", "samples", sample).read_bytes())
        )
    return info.value


@pytest.mark.parametrize(
    ("package", "service", "operation", "sample", "code"),
    [
        (PKG, "aanlever", "aanleveren", "fault-deliver-response.xml", "ALS100"),
        (AS, "status", "getNieuweStatussenProces", "fault-newstatus-response.xml", "STS100"),
        (PKG, "status", "getNieuweStatussenProces", "fault-newstatus-response.pretty.xml", "STS100"),
    ],
)
def test_real_fault_shapes_are_read(
    pki: Pki, package: str, service: str, operation: str, sample: str, code: str
) -> None:
    fault = _read_fault(package, service, operation, sample, pki)
    assert fault.message == "Algemene fout"
    foutcode, text = fault_detail(fault)
    assert foutcode == code
    assert text.startswith("Het verzoek voldoet niet aan de koppelvlakspecificaties")
