"""Filers' clients for tests: the gateway's own client library (zeep, signing) built from
the gateway's ?wsdl over mutual TLS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests

from gateway.client import GatewayClient

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


def make_client(
    base_url: str, ca: Path, cert: ClientCert | None, server_cert: Path | None, **kw: object
) -> GatewayClient:
    return GatewayClient(
        f"{base_url}/wus/2.0",
        cert=cert.cert if cert else None,
        key=cert.key if cert else None,
        ca=ca,
        server_signing_cert=server_cert,
        **kw,  # type: ignore[arg-type]
    )


# Kept under its old name: tests read better with "client.submit(...)".
WusClient = GatewayClient


def fault_detail(fault: Exception) -> tuple[str, str]:
    """(foutcode, foutbeschrijving) of a zeep Fault carrying an aanlever/statusinformatieFault."""
    detail = getattr(fault, "detail", None)
    assert detail is not None, f"fault without detail: {fault}"
    return detail.findtext(".//{*}foutcode"), detail.findtext(".//{*}foutbeschrijving")
