"""The filers' HTTP interface: the three WUS services, their WSDLs and the XSD.

One request's path: ``identify`` the peer by its client certificate (peer.py), ``read_body``
(body.py), ``parse_request`` (wus/envelope.py), ``verify_request`` (security.py) into a
``VerifiedRequest``, then the operation's handler (aanlever.py, status.py, ophaal.py) and a
signed reply. Anything unexpected becomes an ``xx400`` fault, never a trace.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog
from aiohttp import web
from arq.connections import ArqRedis
from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from gateway.intake.aanlever import aanleveren
from gateway.intake.body import read_body
from gateway.intake.context import Intake
from gateway.intake.offload import run_sized, text_size
from gateway.intake.ophaal import ophalen
from gateway.intake.peer import identify
from gateway.intake.quietlog import quiet_aiohttp_server_log
from gateway.intake.security import ResponseSigner, VerifiedRequest, claim_message, verify_request
from gateway.intake.senders import SenderDirectory
from gateway.intake.status import statusinformatie
from gateway.intake.trust import CertificateChecker
from gateway.intake.wsdl import XSD_PATH, wsdl_endpoint, xsd
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.ledger import MessageLedger
from gateway.wus.envelope import build_fault, koppelvlak_schema, parse_request, response_envelope, serialise
from gateway.wus.faults import WusFault, technical
from gateway.wus.messages import Identiteit
from gateway.wus.namespaces import Service

log = structlog.get_logger(__name__)

AANLEVER_PATH = "/wus/2.0/aanleverservice/1.2"
STATUS_PATH = "/wus/2.0/statusinformatieservice/1.2"
OPHAAL_PATH = "/wus/2.0/ophaalservice/1.2"

INTAKE = web.AppKey("intake", Intake)
SIGNER = web.AppKey("signer", ResponseSigner)

Handler = Callable[[Intake, VerifiedRequest], Awaitable[etree._Element]]


def soap_reply(body: bytes, *, fault: bool = False) -> web.Response:
    # SOAP 1.1 over HTTP (and WS-I BP R1126) carry every fault with status 500; Digipoort's
    # clients (WCF, zeep, CXF) expect exactly that.
    return web.Response(body=body, status=500 if fault else 200, content_type="text/xml", charset="utf-8")


def once_per_message_id(handler: Handler) -> Handler:
    """Refuse a second message under a MessageID this sender already used (replay)."""

    async def handle(intake: Intake, req: VerifiedRequest) -> etree._Element:
        await claim_message(intake.ledger, req, None)
        return await handler(intake, req)

    return handle


async def _handle(handler: Handler, intake: Intake, req: VerifiedRequest) -> etree._Element:
    """The handler's payload; its faults and failures answer the operation asked for."""
    try:
        return await handler(intake, req)
    except WusFault as fault:
        raise fault.about(req.operation, req.message_id) from None
    except Exception:
        log.exception("unexpected error in intake", operation=req.operation)
        raise technical("").about(req.operation, req.message_id) from None


async def _serve(request: web.Request, intake: Intake, service: Service, handler: Handler) -> web.Response:
    settings = intake.settings
    peer = identify(request, settings, intake.checker)
    raw = await read_body(request, settings.max_request_bytes, settings.request_read_timeout)
    soap = await run_sized(len(raw), parse_request, raw, request.headers.get("SOAPAction"), service)
    req = await verify_request(settings, soap, raw, peer)
    payload = await _handle(handler, intake, req)
    env = response_envelope(service, req.operation, payload, req.message_id)
    signer = request.app.get(SIGNER)
    if signer is not None:
        await run_sized(text_size(payload), signer.sign, env)
    return soap_reply(serialise(env))


def soap_endpoint(service: Service, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        try:
            return await _serve(request, request.app[INTAKE], service, handler)
        except WusFault as refused:
            fault = refused.about(service.operation_for_action(request.headers.get("SOAPAction")), None)
            log.info(
                "request refused",
                service=service.port_name,
                operation=fault.operation,
                foutcode=fault.foutcode(service),
                reason=fault.description[:300],
            )
            return soap_reply(build_fault(service, fault), fault=True)
        except Exception:
            log.exception("unexpected error in intake", service=service.port_name)
            fault = technical("").about(service.operation_for_action(request.headers.get("SOAPAction")), None)
            return soap_reply(build_fault(service, fault), fault=True)

    return endpoint


OIN = re.compile(r"^\d{20}$")


def receiver_identity(settings: Settings) -> Identiteit | None:
    """The gateway's OIN (GATEWAY_OIN, else the serialNumber of its signing certificate)."""
    oin = settings.oin
    cert_path = settings.signing_cert or settings.tls_cert
    if oin is None and cert_path is not None and cert_path.exists():
        cert = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
        serials = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
        oin = str(serials[0].value) if serials else None
    return Identiteit(oin, "OIN") if oin and OIN.match(oin) else None


def create_app(
    settings: Settings, store: Store, pool: ArqRedis, senders: SenderDirectory, checker: CertificateChecker
) -> web.Application:
    quiet_aiohttp_server_log()
    koppelvlak_schema()  # compiled now, not on the event loop by the first request
    # The body is read by read_body with our own limit, so aiohttp's must not cut in first.
    app = web.Application(client_max_size=settings.max_request_bytes + 1)
    ttl = timedelta(seconds=settings.signature_max_age + 2 * settings.clock_skew)
    app[INTAKE] = Intake(
        settings, store, pool, senders, checker, MessageLedger(store, ttl), receiver_identity(settings)
    )
    if settings.sign_responses and settings.signing_cert and settings.signing_key:
        app[SIGNER] = ResponseSigner(settings.signing_cert, settings.signing_key)
    services = (
        (AANLEVER_PATH, Service.AANLEVER, aanleveren, "aanleverservice-1.2.wsdl"),
        (
            STATUS_PATH,
            Service.STATUSINFORMATIE,
            once_per_message_id(statusinformatie),
            "statusinformatieservice-1.2.wsdl",
        ),
        (OPHAAL_PATH, Service.OPHAAL, once_per_message_id(ophalen), "ophaalservice-1.2.wsdl"),
    )
    for path, service, handler, wsdl in services:
        app.router.add_post(path, soap_endpoint(service, handler))
        app.router.add_get(path, wsdl_endpoint(settings, wsdl, path))
    app.router.add_get(XSD_PATH, xsd)
    return app
