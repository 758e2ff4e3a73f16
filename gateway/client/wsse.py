"""zeep's WS-Security hook for Digipoort-style signing and response verification."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from lxml import etree
from zeep.exceptions import SignatureVerificationFailed

from gateway.wus import wssec
from gateway.wus.faults import WusFault
from gateway.wus.namespaces import SOAP11


class DigipoortSignature:
    """Signs every request (Body, Timestamp, WS-Addressing headers; BinarySecurityToken)
    and verifies signed responses. Faults come unsigned, as from Digipoort, and are left
    to zeep to raise."""

    def __init__(
        self,
        key_pem: bytes,
        cert_pem: bytes,
        *,
        sha1: bool = True,
        server_cert: x509.Certificate | None = None,
        verify_responses: bool = True,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.key_pem = key_pem
        self.cert_pem = cert_pem
        self.sha1 = sha1
        self.server_cert = server_cert
        self.verify_responses = verify_responses
        #: The time responses are judged by (None: now); tests of recorded responses set it.
        self.clock = clock
        self.last_verified: wssec.Verified | None = None

    def apply(self, envelope: etree._Element, headers: dict[str, Any]) -> tuple[etree._Element, dict[str, Any]]:
        wssec.sign(envelope, self.key_pem, self.cert_pem, sha1=self.sha1)
        return envelope, headers

    def verify(self, envelope: etree._Element) -> None:
        if not self.verify_responses:
            return
        body = envelope.find(f"{{{SOAP11}}}Body")
        if body is not None and body.find(f"{{{SOAP11}}}Fault") is not None:
            return
        try:
            now = self.clock() if self.clock is not None else None
            verified = wssec.verify(envelope, max_age=timedelta(minutes=15), now=now)
        except WusFault as fault:
            raise SignatureVerificationFailed(fault.description) from None
        if self.server_cert is not None and verified.certificate != self.server_cert:
            raise SignatureVerificationFailed("the response was signed by an unexpected certificate")
        self.last_verified = verified
