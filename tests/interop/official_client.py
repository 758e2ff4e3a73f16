"""A filer's client this project did not write: zeep, built from an official Digipoort WSDL
*file* (as downloaded from Logius or the Aansluit Suite), pointed at the gateway, signing with
zeep's own WS-Security and WS-Addressing code.

What is ours here is only the wiring a filer would write too:
- a Timestamp in wsse:Security, made with zeep's own ``zeep.wsse.utils`` (zeep's
  BinarySignature signs a Timestamp when one is present but never adds one);
- WS-Addressing headers from zeep's own ``WsAddressingPlugin`` (the official WSDL names no
  request wsaw:Action, so zeep does not add them by itself);
- zeep's ``BinarySignature`` signing the Body and the Timestamp with its own ``_sign_node``,
  and, since Digipoort's policy wants them signed too, the WS-Addressing headers with the very
  same zeep function. The token is xmlsec's certificate text: base64 in 64-character lines;
- the response signature checked with zeep's own verifier against the gateway's certificate
  (zeep checks it against the client's own certificate otherwise); faults come unsigned.
- a local "catalog" for the Aansluit Suite copy, whose XSD import is the server path
  ``/cpl/digipoort-koppelvlak-1.2.xsd``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import requests
from lxml import etree
from zeep import Client, Plugin
from zeep import Settings as ZeepSettings
from zeep.transports import Transport
from zeep.wsa import WsAddressingPlugin
from zeep.wsse import signature as zeep_signature
from zeep.wsse.signature import BinarySignature
from zeep.wsse.utils import WSU, get_security_header, get_timestamp

from tests.support.shared import shared
from tests.support.wus_client import ClientCert, session

WSA = "http://www.w3.org/2005/08/addressing"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"

PKG = "logius-wus-bedrijven-1.2"
AS = "aansluitsuite-served-2018"
WSDL_FILES = {
    (PKG, "aanlever"): f"{PKG}/wsdl/Aanleverservice_Digipoort_WUS_2.0_Bedrijven_v1.2_prod.wsdl",
    (PKG, "status"): f"{PKG}/wsdl/Statusinformatieservice_Digipoort_WUS_2.0_Bedrijven_v1.2_prod.wsdl",
    (AS, "aanlever"): f"{AS}/AanleverService_V1_2.wsdl",
    (AS, "status"): f"{AS}/StatusinformatieService_V1_2.wsdl",
    (AS, "ophaal"): f"{AS}/OphaalService_V1_2.wsdl",
}
SERVICE = {
    "aanlever": ("aanleverservice", "AanleverService"),
    "status": ("statusinformatieservice", "StatusinformatieService"),
    "ophaal": ("ophaalservice", "OphaalService"),
}


class TimestampPlugin(Plugin):  # type: ignore[misc]
    """Adds wsu:Timestamp (Created, Expires +10 min) to wsse:Security with zeep's helpers."""

    def egress(self, envelope: Any, http_headers: Any, operation: Any, binding_options: Any) -> Any:
        security = get_security_header(envelope)
        now = dt.datetime.now(dt.UTC)
        security.append(
            WSU.Timestamp(
                WSU.Created(get_timestamp(now, zulu_timestamp=True)),
                WSU.Expires(get_timestamp(now + dt.timedelta(minutes=10), zulu_timestamp=True)),
            )
        )
        return envelope, http_headers


class DigipoortBinarySignature(BinarySignature):  # type: ignore[misc]
    """zeep's BinarySignature, which also signs the WS-Addressing headers (with zeep's own
    ``_sign_node``) and checks responses against the gateway's certificate."""

    def __init__(self, key: Path, cert: Path, server_cert: Path) -> None:
        super().__init__(str(key), str(cert))
        self.server_cert = server_cert.read_bytes()

    def apply(self, envelope: Any, headers: Any) -> Any:
        original = zeep_signature._sign_node

        def sign_node(ctx: Any, signature: Any, target: Any, digest_method: Any = None) -> None:
            original(ctx, signature, target, digest_method)
            if etree.QName(target).localname == "Body":
                for header in envelope.find(f"{{{SOAP}}}Header"):
                    if etree.QName(header).namespace == WSA:
                        original(ctx, signature, header, digest_method)

        zeep_signature._sign_node = sign_node
        try:
            return super().apply(envelope, headers)
        finally:
            zeep_signature._sign_node = original

    def verify(self, envelope: Any) -> Any:
        if envelope.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault") is not None:
            return envelope  # Digipoort's faults are unsigned
        key = zeep_signature._make_verify_key(self.server_cert)
        zeep_signature._verify_envelope_with_key(envelope, key)
        return envelope


class CatalogTransport(Transport):  # type: ignore[misc]
    """Resolves the Aansluit Suite's server-path XSD import to its local copy."""

    def load(self, url: str) -> bytes:
        if url.endswith("/cpl/digipoort-koppelvlak-1.2.xsd"):
            return shared("interop", AS, "digipoort-koppelvlak-1.xsd").read_bytes()
        return super().load(url)  # type: ignore[no-any-return]


def official_client(package: str, service: str, base_url: str, ca: Path, cert: ClientCert, server_cert: Path) -> Any:
    """A zeep service proxy from the official WSDL file, bound to the gateway's endpoint."""
    s: requests.Session = session(ca, cert)
    transport = CatalogTransport(session=s, timeout=60, operation_timeout=60)
    wsdl = shared("interop", WSDL_FILES[(package, service)])
    client = Client(
        str(wsdl),
        transport=transport,
        settings=ZeepSettings(strict=True, xml_huge_tree=True),
        wsse=DigipoortBinarySignature(cert.key, cert.cert, server_cert),
        plugins=[WsAddressingPlugin(), TimestampPlugin()],
    )
    slug, port = SERVICE[service]
    binding = f"{{http://logius.nl/digipoort/wus/2.0/{slug}/1.2/}}{port}SoapBinding_V1_2"
    return client.create_service(binding, f"{base_url}/wus/2.0/{slug}/1.2")
