"""A filer's SOAP client for tests: zeep, built from the gateway's own ?wsdl, over mTLS."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from zeep import Client, Settings
from zeep.transports import Transport
from zeep.wsa import WsAddressingPlugin

BERICHTSOORT = "Jaarverantwoording_KvK"


@dataclass
class ClientCert:
    cert: Path
    key: Path


def session(ca: Path, cert: ClientCert | None) -> requests.Session:
    s = requests.Session()
    # requests lets REQUESTS_CA_BUNDLE override session.verify; we pin our own CA.
    s.trust_env = False
    s.verify = str(ca)
    if cert is not None:
        s.cert = (str(cert.cert), str(cert.key))
    return s


class WusClient:
    def __init__(self, base_url: str, ca: Path, cert: ClientCert | None) -> None:
        transport = Transport(session=session(ca, cert), timeout=30, operation_timeout=60)
        settings = Settings(strict=True, xml_huge_tree=True)
        self.aanlever = Client(
            f"{base_url}/wus/2.0/aanleverservice/1.2?wsdl",
            transport=transport,
            settings=settings,
            plugins=[WsAddressingPlugin()],
        )
        self.status = Client(
            f"{base_url}/wus/2.0/statusinformatieservice/1.2?wsdl",
            transport=transport,
            settings=settings,
            plugins=[WsAddressingPlugin()],
        )

    def submit(
        self,
        instance: bytes,
        kvk_number: str,
        *,
        aanleverkenmerk: str = "test-1",
        bijlagen: list[tuple[str, bytes]] | None = None,
        berichtsoort: str = BERICHTSOORT,
        bestandsnaam: str = "jaarrekening.xbrl",
    ) -> Any:
        extra: dict[str, Any] = {}
        if bijlagen:
            extra["berichtBijlagen"] = {
                "bijlage": [
                    {"mimeType": "application/xml", "bestandsnaam": name, "inhoud": content}
                    for name, content in bijlagen
                ]
            }
        return self.aanlever.service.aanleveren(
            berichtsoort=berichtsoort,
            aanleverkenmerk=aanleverkenmerk,
            identiteitBelanghebbende={"nummer": kvk_number, "type": "KvK"},
            rolBelanghebbende="Bedrijf",
            berichtInhoud={"mimeType": "application/xml", "bestandsnaam": bestandsnaam, "inhoud": instance},
            autorisatieAdres="http://geenausp.nl",
            **extra,
        )

    def statuses(self, kenmerk: str, new_only: bool = False) -> list[Any]:
        op = self.status.service.getNieuweStatussenProces if new_only else self.status.service.getStatussenProces
        result = op(kenmerk=kenmerk, autorisatieAdres="http://geenausp.nl")
        return list(result or [])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def fault_detail(fault: Exception) -> tuple[str, str]:
    """(foutcode, foutbeschrijving) of a zeep Fault carrying an aanlever/statusinformatieFault."""
    detail = getattr(fault, "detail", None)
    assert detail is not None, f"fault without detail: {fault}"
    return detail.findtext(".//{*}foutcode"), detail.findtext(".//{*}foutbeschrijving")
