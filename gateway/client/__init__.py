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
from zeep.transports import Transport

from gateway.client.wsse import DigipoortSignature

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
        transport = Transport(session=session, timeout=timeout, operation_timeout=timeout)
        settings = ZeepSettings(strict=True, xml_huge_tree=True)
        base = base_url.rstrip("/")
        self.aanlever = Client(
            f"{base}/aanleverservice/1.2?wsdl", transport=transport, settings=settings, wsse=self.wsse
        )
        self.status = Client(
            f"{base}/statusinformatieservice/1.2?wsdl", transport=transport, settings=settings, wsse=self.wsse
        )

    def submit(
        self,
        instance: bytes,
        kvk_number: str,
        *,
        aanleverkenmerk: str | None = None,
        bestandsnaam: str = "jaarrekening.xbrl",
        bijlagen: list[tuple[str, bytes]] | None = None,
        berichtsoort: str = DEFAULT_BERICHTSOORT,
        identity_type: str = "KvK",
        rol: str = "Bedrijf",
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
            identiteitBelanghebbende={"nummer": kvk_number, "type": identity_type},
            rolBelanghebbende=rol,
            berichtInhoud={"mimeType": "application/xml", "bestandsnaam": bestandsnaam, "inhoud": instance},
            autorisatieAdres=NO_AUSP,
            **extra,
        )

    def statuses(self, kenmerk: str, *, new_only: bool = False) -> list[Any]:
        service = self.status.service
        op = service.getNieuweStatussenProces if new_only else service.getStatussenProces
        return list(op(kenmerk=kenmerk, autorisatieAdres=NO_AUSP) or [])

    def wait_final(self, kenmerk: str, timeout: float = 300.0, interval: float = 1.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.statuses(kenmerk)
            if found and found[-1].statuscode in FINAL_STATUSES:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"no final status for {kenmerk} within {timeout} s")
            time.sleep(interval)


__all__ = ["FINAL_STATUSES", "GatewayClient"]
