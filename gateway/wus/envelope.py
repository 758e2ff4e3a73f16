"""SOAP 1.1 envelopes: hardened parsing, schema validation, and building replies.

Pure functions on bytes and lxml trees, no I/O, so that the HTTP layer stays thin and
this can be tested (and fuzzed) on its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from lxml import etree

from gateway.resources import schema_path
from gateway.wus.faults import WusFault, nonconforming
from gateway.wus.namespaces import (
    KOPPELVLAK,
    OPERATIONS,
    SOAP11,
    SOAP12,
    WSA,
    WSA_ANONYMOUS,
    WSA_NONE,
    WSSE,
    Service,
)

#: The most element nesting a request may have; a real aanleverRequest is about 8 deep.
MAX_DEPTH = 64


def make_parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network; huge_tree because one
    # base64 part may be 27 MiB of text, which libxml2 otherwise refuses.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
    )


@cache
def koppelvlak_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    doc = etree.parse(str(schema_path("wus/digipoort-koppelvlak-1.2.xsd")), parser)
    return etree.XMLSchema(doc)


def parse_xml(data: bytes, what: str) -> etree._ElementTree:
    """Parse untrusted XML; refuse DOCTYPEs and excessive nesting."""
    try:
        root = etree.fromstring(data, make_parser())
    except etree.XMLSyntaxError as exc:
        raise nonconforming(f"{what} is geen well-formed XML ({exc.msg}).") from None
    if root is None:
        raise nonconforming(f"{what} is leeg.")
    tree = root.getroottree()
    docinfo: Any = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise nonconforming(f"{what} bevat een DOCTYPE-declaratie; die is niet toegestaan.")
    _check_shape(root, what)
    return tree


def _check_shape(root: etree._Element, what: str) -> None:
    """Bounded nesting, and no element with an undeclared prefix (libxml2 only warns)."""
    depth = 0
    for event, el in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        if depth > MAX_DEPTH:
            raise nonconforming(f"{what} is dieper genest dan {MAX_DEPTH} niveaus.")
        tag = el.tag
        if isinstance(tag, str) and ":" in tag and not tag.startswith("{"):
            raise nonconforming(f"{what} gebruikt een niet-gedeclareerd namespace-prefix ({tag}).")
        try:
            etree.QName(el)
        except ValueError:
            raise nonconforming(f"{what} bevat een ongeldige elementnaam.") from None


@dataclass(frozen=True)
class Addressing:
    action: str | None
    message_id: str | None
    to: str | None
    reply_to: str | None


@dataclass
class SoapRequest:
    service: Service
    operation: str
    body: etree._Element
    addressing: Addressing
    envelope: etree._Element
    security: etree._Element | None


def _text(parent: etree._Element, ns: str, name: str) -> str | None:
    el = parent.find(f"{{{ns}}}{name}")
    if el is None:
        return None
    if name in ("ReplyTo", "FaultTo", "From"):
        addr = el.find(f"{{{WSA}}}Address")
        return (addr.text or "").strip() if addr is not None else ""
    return (el.text or "").strip()


def parse_request(data: bytes, soap_action_header: str | None, expected: Service) -> SoapRequest:
    """Turn request bytes into a SoapRequest, or raise the WusFault that explains why not."""
    tree = parse_xml(data, "Het SOAP-bericht")
    env = tree.getroot()
    if env.tag == f"{{{SOAP12}}}Envelope":
        raise WusFault("100", "SOAP 1.2 wordt niet ondersteund; gebruik SOAP 1.1.", faultcode="VersionMismatch")
    if env.tag != f"{{{SOAP11}}}Envelope":
        raise nonconforming("het bericht is geen SOAP 1.1 Envelope.")
    children = [c for c in env if isinstance(c.tag, str)]
    header = env.find(f"{{{SOAP11}}}Header")
    body = env.find(f"{{{SOAP11}}}Body")
    allowed_order = [c for c in children if c.tag in (f"{{{SOAP11}}}Header", f"{{{SOAP11}}}Body")]
    if body is None or len(allowed_order) != len(children):
        raise nonconforming("de Envelope moet precies een optionele Header en een Body bevatten.")
    payload = [c for c in body if isinstance(c.tag, str)]
    if len(payload) != 1:
        raise nonconforming("de Body moet precies een element bevatten.")
    element = payload[0]
    qname = etree.QName(element)
    if qname.namespace != KOPPELVLAK or qname.localname not in OPERATIONS:
        raise nonconforming(f"onbekend bericht {qname.text} in de Body.")
    service, operation = OPERATIONS[qname.localname]
    if service is not expected:
        raise nonconforming(f"de operatie {operation} hoort niet bij deze service.")

    security = None
    addressing = Addressing(None, None, None, None)
    if header is not None:
        for h in header:
            if not isinstance(h.tag, str):
                continue
            ns = etree.QName(h).namespace
            if ns == WSSE and etree.QName(h).localname == "Security":
                security = h
            elif ns != WSA:
                raise nonconforming(
                    f"header-element {etree.QName(h).text} is niet toegestaan; alleen WS-Addressing en WS-Security."
                )
        addressing = Addressing(
            action=_text(header, WSA, "Action"),
            message_id=_text(header, WSA, "MessageID"),
            to=_text(header, WSA, "To"),
            reply_to=_text(header, WSA, "ReplyTo"),
        )
    expected_action = service.request_action(operation)
    if addressing.action is None:
        raise nonconforming("de WS-Addressing header Action ontbreekt.")
    if addressing.action != expected_action:
        raise nonconforming(f"wsa:Action moet {expected_action} zijn voor {operation}.")
    if not addressing.message_id:
        raise nonconforming("de WS-Addressing header MessageID ontbreekt.")
    if addressing.reply_to not in (None, WSA_ANONYMOUS, WSA_NONE):
        raise nonconforming("wsa:ReplyTo mag alleen het anonieme adres bevatten.")
    if soap_action_header:
        soap_action = soap_action_header.strip().strip('"')
        if soap_action and soap_action != expected_action:
            raise nonconforming(f"de HTTP-header SOAPAction moet {expected_action} zijn.")

    validate_body(element)
    return SoapRequest(service, operation, element, addressing, env, security)


def validate_body(element: etree._Element) -> None:
    schema = koppelvlak_schema()
    if not schema.validate(element):
        err = schema.error_log.last_error  # type: ignore[attr-defined]
        detail = _describe_schema_error(err.message if err else "onbekende schemafout")
        raise nonconforming(detail)


def _describe_schema_error(message: str) -> str:
    # libxml2 messages name elements as {namespace}name; strip the namespace for readability.
    return message.replace("{" + KOPPELVLAK + "}", "") + "."


# --------------------------------------------------------------------------- replies


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_timestamp(ts: datetime) -> str:
    """``2021-03-07T11:37:39.702Z``, as Digipoort writes it."""
    ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _envelope(action: str, relates_to: str | None) -> tuple[etree._Element, etree._Element]:
    nsmap = {"s": SOAP11, "a": WSA}
    env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap=nsmap)
    header = etree.SubElement(env, f"{{{SOAP11}}}Header")
    etree.SubElement(header, f"{{{WSA}}}Action").text = action
    etree.SubElement(header, f"{{{WSA}}}MessageID").text = f"urn:uuid:{uuid.uuid4()}"
    if relates_to:
        etree.SubElement(header, f"{{{WSA}}}RelatesTo").text = relates_to
    etree.SubElement(header, f"{{{WSA}}}To").text = WSA_ANONYMOUS
    body = etree.SubElement(env, f"{{{SOAP11}}}Body")
    return env, body


def build_response(service: Service, operation: str, payload: etree._Element, relates_to: str | None) -> bytes:
    env, body = _envelope(service.response_action(operation), relates_to)
    body.append(payload)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def build_fault(service: Service, operation: str | None, fault: WusFault, relates_to: str | None) -> bytes:
    action = service.fault_action(operation or ("aanleveren" if service is Service.AANLEVER else "getStatussenProces"))
    env, body = _envelope(action, relates_to)
    # faultcode is a QName: SOAP's own codes use the Envelope's 's' prefix, WS-Security's
    # (wsse:FailedCheck, ...) the wsse prefix declared here.
    f = etree.SubElement(
        body, f"{{{SOAP11}}}Fault", nsmap={"wsse": WSSE} if fault.faultcode.startswith("wsse:") else None
    )
    etree.SubElement(f, "faultcode").text = fault.faultcode if ":" in fault.faultcode else f"s:{fault.faultcode}"
    etree.SubElement(f, "faultstring").text = "Algemene fout"
    etree.SubElement(f, "faultactor").text = "Verantwoordingsplichtige"
    detail = etree.SubElement(f, "detail")
    nsmap: Any = {None: KOPPELVLAK}
    el = etree.SubElement(detail, f"{{{KOPPELVLAK}}}{service.fault_element}", nsmap=nsmap)
    etree.SubElement(el, f"{{{KOPPELVLAK}}}foutcode").text = fault.foutcode(service)
    etree.SubElement(el, f"{{{KOPPELVLAK}}}foutbeschrijving").text = fault.description
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")
