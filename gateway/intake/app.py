"""The filers' HTTP interface: the two WUS services, their WSDLs and the XSD.

Handlers are thin: bytes in, protocol logic from ``gateway.wus``, one store call,
one enqueue, bytes out. Anything unexpected becomes an ``xx400`` fault, never a trace.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from functools import cache

import structlog
from aiohttp import web
from arq.connections import ArqRedis
from cryptography import x509
from lxml import etree

from gateway.intake.security import ReplayGuard, ResponseSigner, check_message
from gateway.intake.senders import SenderDirectory
from gateway.intake.trust import CertificateChecker, CertificateRefused, cert_from_proxy_header
from gateway.queue.jobs import enqueue_processing
from gateway.resources import load_json, schema_path
from gateway.settings import Settings
from gateway.store.db import Sender, Store
from gateway.wus import messages
from gateway.wus.envelope import SoapRequest, build_fault, build_response, parse_request, utc_now
from gateway.wus.faults import WusFault, nonconforming, technical
from gateway.wus.namespaces import Service

log = structlog.get_logger(__name__)

AANLEVER_PATH = "/wus/2.0/aanleverservice/1.2"
STATUS_PATH = "/wus/2.0/statusinformatieservice/1.2"
XSD_PATH = "/wus/2.0/digipoort-koppelvlak-1.2.xsd"
SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
POOL = web.AppKey("pool", ArqRedis)
SENDERS = web.AppKey("senders", SenderDirectory)
CHECKER = web.AppKey("checker", CertificateChecker)
GUARD = web.AppKey("guard", ReplayGuard)
SIGNER = web.AppKey("signer", ResponseSigner)


def berichtsoorten() -> dict[str, dict[str, object]]:
    return dict(load_json("berichtsoorten.json")["berichtsoorten"])


# ----------------------------------------------------------------------- helpers


def soap_reply(body: bytes, *, fault: bool = False) -> web.Response:
    # SOAP 1.1 over HTTP (and WS-I BP R1126) carry every fault with status 500; Digipoort's
    # clients (WCF, zeep, CXF) expect exactly that.
    return web.Response(body=body, status=500 if fault else 200, content_type="text/xml", charset="utf-8")


async def read_body(request: web.Request, limit: int, timeout: float) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise nonconforming(f"het bericht is groter dan de toegestane {limit} bytes.")
    chunks: list[bytes] = []
    total = 0

    async def read() -> None:
        nonlocal total
        async for chunk in request.content.iter_chunked(1 << 16):
            total += len(chunk)
            if total > limit:
                raise nonconforming(f"het bericht is groter dan de toegestane {limit} bytes.")
            chunks.append(chunk)

    try:
        await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        raise nonconforming("het bericht kwam niet binnen de toegestane tijd binnen.") from None
    return b"".join(chunks)


def _no_certificate() -> WusFault:
    return WusFault(
        "100", "Er is geen PKIoverheid-clientcertificaat aangeboden.", faultcode="wsse:FailedAuthentication"
    )


def peer_sender(request: web.Request) -> Sender:
    """The sender behind the client certificate, from TLS or (proxy mode) a trusted proxy."""
    settings = request.app[SETTINGS]
    if settings.proxy_cert_header:
        if request.remote not in settings.trusted_proxies:
            log.warning("request not from a trusted proxy refused", remote=request.remote)
            raise WusFault(
                "100", "Verbindingen zijn alleen via de TLS-proxy toegestaan.", faultcode="wsse:FailedAuthentication"
            )
        header = request.headers.get(settings.proxy_cert_header)
        if not header:
            raise _no_certificate()
        try:
            cert = cert_from_proxy_header(header)
        except CertificateRefused as exc:
            raise exc.fault() from None
    else:
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not der:
            raise _no_certificate()
        cert = x509.load_der_x509_certificate(der)
    try:
        sender = request.app[CHECKER].check(cert)
    except CertificateRefused as exc:
        log.info("client certificate refused", subject=cert.subject.rfc4514_string(), reason=exc.reason)
        raise exc.fault() from None
    request["client_cert"] = cert
    return sender


async def parse_and_verify(request: web.Request, raw: bytes, service: Service) -> SoapRequest:
    """Parse and validate the envelope, then apply the WS-Security policy to it."""
    soap = await asyncio.to_thread(parse_request, raw, request.headers.get("SOAPAction"), service)
    try:
        await check_message(request.app[SETTINGS], request.app[GUARD], soap, raw, request["client_cert"])
    except WusFault as fault:
        raise _with_context(fault, soap.operation, soap.addressing.message_id) from None
    return soap


async def signed_reply(request: web.Request, body: bytes) -> web.Response:
    signer = request.app.get(SIGNER)
    if signer is not None:
        body = await asyncio.to_thread(signer.sign, body)
    return soap_reply(body)


Handler = Callable[[web.Request, bytes, Sender], Awaitable[web.Response]]


def soap_endpoint(service: Service, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        settings = request.app[SETTINGS]
        relates_to: str | None = None
        operation: str | None = None
        try:
            sender = peer_sender(request)
            raw = await read_body(request, settings.max_request_bytes, settings.request_read_timeout)
            return await handler(request, raw, sender)
        except WusFault as fault:
            relates_to = getattr(fault, "relates_to", None)
            operation = getattr(fault, "operation", None)
            log.info(
                "request refused",
                service=service.port_name,
                foutcode=fault.foutcode(service),
                reason=fault.description[:300],
            )
            return soap_reply(build_fault(service, operation, fault, relates_to), fault=True)
        except Exception:
            log.exception("unexpected error in intake", service=service.port_name)
            return soap_reply(build_fault(service, operation, technical(""), relates_to), fault=True)

    return endpoint


def _with_context(fault: WusFault, operation: str, relates_to: str | None) -> WusFault:
    fault.operation = operation  # type: ignore[attr-defined]
    fault.relates_to = relates_to  # type: ignore[attr-defined]
    return fault


# ----------------------------------------------------------------------- aanleveren


async def aanleveren(request: web.Request, raw: bytes, sender: Sender) -> web.Response:
    app = request.app
    settings = app[SETTINGS]
    # Parsing and base64-decoding tens of MiB is CPU work: keep the event loop free.
    soap = await parse_and_verify(request, raw, Service.AANLEVER)
    msg_id = soap.addressing.message_id
    try:
        req = await asyncio.to_thread(messages.AanleverRequest.from_element, soap.body, settings.max_part_bytes)
        kinds = berichtsoorten()
        if req.berichtsoort not in kinds:
            raise nonconforming(
                f"berichtsoort {req.berichtsoort!r} is onbekend; toegestaan: {', '.join(sorted(kinds))}."
            )
        allowed_types = [str(t) for t in kinds[req.berichtsoort]["identity_types"]]  # type: ignore[attr-defined]
        if req.identiteit_belanghebbende.type.lower() not in {t.lower() for t in allowed_types}:
            raise nonconforming(
                f"identiteitBelanghebbende/type moet {' of '.join(allowed_types)} zijn voor {req.berichtsoort}."
            )
        if req.kenmerk:
            raise nonconforming("een nieuw aanleverproces mag geen kenmerk meegeven.")
    except WusFault as fault:
        raise _with_context(fault, "aanleveren", msg_id) from None
    kenmerk = str(uuid.uuid4())
    received = utc_now()
    notify = app[SENDERS].notify_address(sender)
    try:
        await app[STORE].record_submission(kenmerk, req, raw, sender, notify, received)
    except Exception as exc:
        log.error("could not store submission", error=type(exc).__name__, sender=sender.oin)
        await app[GUARD].forget(sender.subject, msg_id or "")
        raise _with_context(technical("Het bericht kon niet worden opgeslagen."), "aanleveren", msg_id) from None
    # Stored durably: from here on the kenmerk is the sender's, even if Redis is down.
    await enqueue_processing(app[POOL], kenmerk, 1, settings.queue_name)
    log.info(
        "submission received",
        kenmerk=kenmerk,
        berichtsoort=req.berichtsoort,
        sender=sender.oin,
        parts=len(req.parts),
        size=len(raw),
    )
    payload = messages.aanlever_response(req, kenmerk, received)
    return await signed_reply(request, build_response(Service.AANLEVER, "aanleveren", payload, msg_id))


# ----------------------------------------------------------------------- status


async def statusinformatie(request: web.Request, raw: bytes, sender: Sender) -> web.Response:
    store = request.app[STORE]
    soap = await parse_and_verify(request, raw, Service.STATUSINFORMATIE)
    op = soap.operation
    msg_id = soap.addressing.message_id
    try:
        if op in ("getStatussenProces", "getNieuweStatussenProces"):
            q = messages.StatussenRequest.from_element(soap.body)
            rows = await store.statuses_for_sender(
                q.kenmerk, sender, only_new=op == "getNieuweStatussenProces", vanaf=q.vanaf, tot=q.tot
            )
            if rows is None:
                # Same answer for "unknown" and "not yours": kenmerken are not to be probed.
                raise nonconforming(f"kenmerk {q.kenmerk} is onbekend of hoort niet bij deze verzender.")
            payload = messages.statussen_response(
                op,
                [
                    messages.StatusResultaat(
                        kenmerk=r.kenmerk,
                        belanghebbende=messages.Identiteit(r.belanghebbende_nummer, r.belanghebbende_type),
                        statuscode=r.code,
                        tijdstempel=r.created_at,
                        omschrijving=r.description,
                        foutcode=r.foutcode,
                        foutbeschrijving=r.foutbeschrijving,
                        details=r.details,
                    )
                    for r in rows
                ],
            )
        elif op == "getBerichtsoorten":
            payload = messages.berichtsoorten_response(sorted(berichtsoorten()))
        else:  # getProcessen
            berichtsoort = messages._req(soap.body, "berichtsoort")
            ident = soap.body.find(messages.K + "identiteitBelanghebbende")
            assert ident is not None
            nummer = messages._req(ident, "nummer")
            rows = await store.processes_for_sender(sender, berichtsoort, nummer)
            payload = messages.processen_response(
                [
                    messages.ProcesResultaat(
                        kenmerk=r.kenmerk,
                        berichtsoort=r.berichtsoort,
                        belanghebbende=messages.Identiteit(r.belanghebbende_nummer, r.belanghebbende_type),
                        ontvanger=messages.Identiteit(r.ontvanger_nummer, r.ontvanger_type)
                        if r.ontvanger_nummer
                        else None,
                    )
                    for r in rows
                ]
            )
    except WusFault as fault:
        raise _with_context(fault, op, msg_id) from None
    return await signed_reply(request, build_response(Service.STATUSINFORMATIE, op, payload, msg_id))


# ----------------------------------------------------------------------- WSDL


@cache
def _wsdl_template(name: str) -> bytes:
    return schema_path(f"wus/{name}").read_bytes()


def render_wsdl(name: str, base_url: str, path: str) -> bytes:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    doc = etree.fromstring(_wsdl_template(name), parser)
    for addr in doc.iter("{http://schemas.xmlsoap.org/wsdl/soap/}address"):
        addr.set("location", base_url + path)
    for imp in doc.iter("{http://www.w3.org/2001/XMLSchema}import"):
        imp.set("schemaLocation", base_url + XSD_PATH)
    return etree.tostring(doc, xml_declaration=True, encoding="utf-8")


def base_url(request: web.Request) -> str:
    configured = request.app[SETTINGS].public_url
    if configured:
        return configured.rstrip("/")
    return f"{request.scheme}://{request.host}"


def wsdl_endpoint(name: str, path: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def get(request: web.Request) -> web.StreamResponse:
        if "wsdl" not in {k.lower() for k in request.query}:
            raise web.HTTPMethodNotAllowed("GET", ["POST"], text="Use POST for SOAP requests, or ?wsdl.")
        return web.Response(body=render_wsdl(name, base_url(request), path), content_type="text/xml", charset="utf-8")

    return get


async def xsd(request: web.Request) -> web.StreamResponse:
    return web.Response(
        body=schema_path("wus/digipoort-koppelvlak-1.2.xsd").read_bytes(), content_type="text/xml", charset="utf-8"
    )


def create_app(
    settings: Settings, store: Store, pool: ArqRedis, senders: SenderDirectory, checker: CertificateChecker
) -> web.Application:
    # The body is read by read_body with our own limit, so aiohttp's must not cut in first.
    app = web.Application(client_max_size=settings.max_request_bytes + 1)
    app[SETTINGS] = settings
    app[STORE] = store
    app[POOL] = pool
    app[SENDERS] = senders
    app[CHECKER] = checker
    app[GUARD] = ReplayGuard(pool, settings.signature_max_age + 2 * settings.clock_skew)
    if settings.sign_responses and settings.signing_cert and settings.signing_key:
        app[SIGNER] = ResponseSigner(settings.signing_cert, settings.signing_key)
    app.router.add_post(AANLEVER_PATH, soap_endpoint(Service.AANLEVER, aanleveren))
    app.router.add_get(AANLEVER_PATH, wsdl_endpoint("aanleverservice-1.2.wsdl", AANLEVER_PATH))
    app.router.add_post(STATUS_PATH, soap_endpoint(Service.STATUSINFORMATIE, statusinformatie))
    app.router.add_get(STATUS_PATH, wsdl_endpoint("statusinformatieservice-1.2.wsdl", STATUS_PATH))
    app.router.add_get(XSD_PATH, xsd)
    return app
