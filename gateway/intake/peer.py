"""Who is on the other end: the client certificate (from TLS, or in proxy mode from a trusted
proxy's header), checked, and the sender it names."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from aiohttp import web
from cryptography import x509

from gateway.intake.trust import CertificateChecker, CertificateRefused, cert_from_proxy_header
from gateway.settings import Settings
from gateway.store.db import Sender
from gateway.wus.faults import WusFault

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Peer:
    """The checked client certificate and the sender it identifies."""

    certificate: x509.Certificate
    sender: Sender


def _no_certificate() -> WusFault:
    return WusFault(
        "100", "Er is geen PKIoverheid-clientcertificaat aangeboden.", faultcode="wsse:FailedAuthentication"
    )


def _from_proxy(request: web.Request, settings: Settings, header_name: str) -> x509.Certificate:
    if request.remote not in settings.trusted_proxies:
        log.warning("request not from a trusted proxy refused", remote=request.remote)
        raise WusFault(
            "100", "Verbindingen zijn alleen via de TLS-proxy toegestaan.", faultcode="wsse:FailedAuthentication"
        )
    header = request.headers.get(header_name)
    if not header:
        raise _no_certificate()
    try:
        return cert_from_proxy_header(header)
    except CertificateRefused as exc:
        raise exc.fault() from None


def _from_tls(request: web.Request) -> x509.Certificate:
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
    if not der:
        raise _no_certificate()
    return x509.load_der_x509_certificate(der)


def identify(request: web.Request, settings: Settings, checker: CertificateChecker) -> Peer:
    """The peer behind the request, or the WusFault that refuses it."""
    header_name = settings.proxy_cert_header
    cert = _from_proxy(request, settings, header_name) if header_name else _from_tls(request)
    try:
        sender = checker.check(cert)
    except CertificateRefused as exc:
        log.info("client certificate refused", subject=cert.subject.rfc4514_string(), reason=exc.reason)
        raise exc.fault() from None
    return Peer(cert, sender)
