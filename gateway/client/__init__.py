"""A filer's client for the WUS interface: this gateway's, or Digipoort's own.

client = GatewayClient("https://gateway.example/wus/2.0", cert="client.pem", key="client-key.pem",
                       ca="root.pem")
kenmerk = client.submit(open("jaarrekening.xbrl", "rb").read(), kvk_number="12345678").kenmerk
for status in client.statuses(kenmerk): ...
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from zeep import Client
from zeep import Settings as ZeepSettings
from zeep.wsa import WsAddressingPlugin

from gateway.client.transport import DEFAULT_BACKOFF, RetransmittingTransport, transient
from gateway.client.wsse import DigipoortSignature
from gateway.resources import schema_path

DEFAULT_BERICHTSOORT = "Jaarverantwoording_KvK"
FINAL_STATUSES = frozenset({"210", "230", "311", "321", "500"})
NO_AUSP = "http://geenausp.nl"


class GatewayClient:
    def __init__(
        self,
        base_url: str,
        *,
        cert: str | Path | None,
        key: str | Path | None,
        ca: str | Path,
        sign: bool = True,
        signing_cert: str | Path | None = None,
        signing_key: str | Path | None = None,
        server_signing_cert: str | Path | None = None,
        verify_responses: bool = True,
        sha1: bool = True,
        timeout: float = 60.0,
        retransmit_backoff: tuple[float, ...] = DEFAULT_BACKOFF,
    ) -> None:
        session = requests.Session()
        # requests lets REQUESTS_CA_BUNDLE override session.verify; we pin the given CA.
        session.trust_env = False
        session.verify = str(ca)
        if cert is not None and key is not None:
            session.cert = (str(cert), str(key))
        self.wsse: DigipoortSignature | None = None
        if sign and cert is not None and key is not None:
            server_cert = (
                x509.load_pem_x509_certificate(Path(server_signing_cert).read_bytes()) if server_signing_cert else None
            )
            self.wsse = DigipoortSignature(
                Path(signing_key or key).read_bytes(),
                Path(signing_cert or cert).read_bytes(),
                sha1=sha1,
                server_cert=server_cert,
                verify_responses=verify_responses,
            )
        # A dropped connection gets the identical signed message again (see transport.py).
        self.transport = RetransmittingTransport(
            session=session, timeout=timeout, operation_timeout=timeout, backoff=retransmit_backoff
        )
        transport = self.transport
        settings = ZeepSettings(strict=True, xml_huge_tree=True)
        base = base_url.rstrip("/")
        # Digipoort's WSDL (which the gateway serves) names no wsaw:Action for requests:
        # clients add WS-Addressing themselves, with the soapAction as wsa:Action.
        options: dict[str, Any] = {"transport": transport, "settings": settings, "wsse": self.wsse}
        self.aanlever = Client(f"{base}/aanleverservice/1.2?wsdl", plugins=[WsAddressingPlugin()], **options)
        self.status = Client(f"{base}/statusinformatieservice/1.2?wsdl", plugins=[WsAddressingPlugin()], **options)

    def submit(self, instance: bytes, kvk_number: str, **options: Any) -> Any:
        """aanleveren; ``options`` as aanlever_arguments takes them (aanleverkenmerk, bijlagen, ...)."""
        return self.aanlever.service.aanleveren(**aanlever_arguments(instance, kvk_number, **options))

    def statuses(self, kenmerk: str, *, new_only: bool = False) -> list[Any]:
        """The statuses of ``kenmerk``; asked again (a new signed request) after a dropped connection."""
        service = self.status.service
        op = service.getNieuweStatussenProces if new_only else service.getStatussenProces
        for pause in (*self.transport.backoff, None):
            try:
                return list(op(kenmerk=kenmerk, autorisatieAdres=NO_AUSP) or [])
            except requests.RequestException as exc:
                if pause is None or not transient(exc):
                    raise
                time.sleep(pause)
        raise AssertionError("unreachable")

    def wait_final(self, kenmerk: str, timeout: float = 300.0, interval: float = 1.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.statuses(kenmerk)
            if found and found[-1].statuscode in FINAL_STATUSES:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"no final status for {kenmerk} within {timeout} s")
            time.sleep(interval)


def aanlever_arguments(
    instance: bytes,
    kvk_number: str,
    *,
    aanleverkenmerk: str | None = None,
    bestandsnaam: str = "jaarrekening.xbrl",
    bijlagen: list[tuple[str, bytes]] | None = None,
    berichtsoort: str = DEFAULT_BERICHTSOORT,
    identity_type: str = "KvK",
    rol: str = "Bedrijf",
) -> dict[str, Any]:
    """The aanleverRequest's elements, as zeep takes them."""
    args: dict[str, Any] = {
        "berichtsoort": berichtsoort,
        "aanleverkenmerk": aanleverkenmerk,
        "identiteitBelanghebbende": {"nummer": kvk_number, "type": identity_type},
        "rolBelanghebbende": rol,
        "berichtInhoud": {"mimeType": "application/xml", "bestandsnaam": bestandsnaam, "inhoud": instance},
        "autorisatieAdres": NO_AUSP,
    }
    if bijlagen:
        args["berichtBijlagen"] = {
            "bijlage": [{"mimeType": "application/xml", "bestandsnaam": n, "inhoud": c} for n, c in bijlagen]
        }
    return args


def aanlever_envelope(base_url: str, wsse: DigipoortSignature | None, **arguments: Any) -> bytes:
    """The aanleveren SOAP envelope (WS-Addressing headers; signed when ``wsse`` is given),
    built offline from the WSDL shipped in schemas/wus/, for sending with another tool."""
    from lxml import etree

    # The official WSDL names no wsaw:Action for requests: WS-Addressing is the client's to add.
    client = Client(
        str(schema_path("wus/aanleverservice-1.2.wsdl")),
        wsse=wsse,
        settings=ZeepSettings(strict=True),
        plugins=[WsAddressingPlugin()],
    )
    binding = "{http://logius.nl/digipoort/wus/2.0/aanleverservice/1.2/}AanleverServiceSoapBinding_V1_2"
    service = client.create_service(binding, f"{base_url.rstrip('/')}/aanleverservice/1.2")
    envelope = client.create_message(service, "aanleveren", **arguments)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


__all__ = ["FINAL_STATUSES", "GatewayClient", "aanlever_arguments", "aanlever_envelope"]
