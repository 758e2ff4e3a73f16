"""SOAP 1.1 envelopes: hardened parsing, schema validation, and building replies.

Pure functions on bytes and lxml trees, no I/O, so that the HTTP layer stays thin and
this can be tested (and fuzzed) on its own.
"""

from __future__ import annotations

import threading
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


_SCHEMA_LOCK = threading.Lock()


def koppelvlak_schema() -> etree.XMLSchema:
    # Compiled once. The first requests after a start arrive together, each on its own
    # thread, and libxml2 fails ("Document is not valid XML Schema") when two threads compile
    # the schema at the same time: every one of those requests was refused with ALS400.
    with _SCHEMA_LOCK:
        return _compile_koppelvlak_schema()


@cache
def _compile_koppelvlak_schema() -> etree.XMLSchema:
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


#: True when the document has an element nested deeper than MAX_DEPTH (one XPath, in C).
_TOO_DEEP = etree.XPath("boolean(/" + "/".join(["*"] * (MAX_DEPTH + 1)) + ")")


def _check_shape(root: etree._Element, what: str) -> None:
    """Bounded nesting, and no element with an undeclared prefix or a colon in its local
    name (libxml2 refuses both today; older versions only warned). Walking the tree with
    iterwalk events and a QName per element cost more than parsing a 50 KB request."""
    if _TOO_DEEP(root):
        raise nonconforming(f"{what} is dieper genest dan {MAX_DEPTH} niveaus.")
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        _, brace, local = tag.rpartition("}")
        if ":" in local:
            if not brace:
                raise nonconforming(f"{what} gebruikt een niet-gedeclareerd namespace-prefix ({tag}).")
            raise nonconforming(f"{what} bevat een ongeldige elementnaam.")


@dataclass(frozen=True)
class Addressing:
    action: str | None
    message_id: str | None
    to: str | None
    reply_to: str | None
    fault_to: str | None = None


@dataclass(frozen=True)
class SoapRequest:
    """A parsed, schema-valid request: which operation, its Body element, its headers."""

    service: Service
    operation: str
    body: etree._Element
    addressing: Addressing
    envelope: etree._Element
    security: etree._Element | None


#: WS-Addressing headers whose value is an endpoint reference (the URI is in wsa:Address).
ENDPOINT_REFERENCES = frozenset({"ReplyTo", "FaultTo", "From"})


def _text(headers: dict[str, etree._Element], name: str) -> str | None:
    el = headers.get(name)
    if el is None:
        return None
    if name in ENDPOINT_REFERENCES:
        addr = el.find(f"{{{WSA}}}Address")
        return (addr.text or "").strip() if addr is not None else ""
    return (el.text or "").strip()


def parse_request(data: bytes, soap_action_header: str | None, expected: Service) -> SoapRequest:
    """Turn request bytes into a SoapRequest, or raise the WusFault that explains why not.

    The fault names the operation asked for as soon as it is known (from the Body, else from
    the SOAPAction header) and relates to the request's MessageID once that has been read."""
    try:
        return _parse(data, soap_action_header, expected)
    except WusFault as fault:
        raise fault.about(expected.operation_for_action(soap_action_header), None) from None


def _parse(data: bytes, soap_action_header: str | None, expected: Service) -> SoapRequest:
    env = parse_xml(data, "Het SOAP-bericht").getroot()
    header, body = envelope_parts(env)
    element, operation = _payload(body, expected)
    try:
        headers, security = read_header(header)
    except WusFault as fault:
        raise fault.about(operation, None) from None
    addressing = Addressing(
        action=_text(headers, "Action"),
        message_id=_text(headers, "MessageID"),
        to=_text(headers, "To"),
        reply_to=_text(headers, "ReplyTo"),
        fault_to=_text(headers, "FaultTo"),
    )
    try:
        _check_addressing(addressing, expected.request_action(operation), soap_action_header)
        validate_body(element)
    except WusFault as fault:
        raise fault.about(operation, addressing.message_id) from None
    return SoapRequest(expected, operation, element, addressing, env, security)


def envelope_parts(env: etree._Element) -> tuple[etree._Element | None, etree._Element]:
    """The one optional Header and the one Body of a SOAP 1.1 Envelope, in that order."""
    if env.tag == f"{{{SOAP12}}}Envelope":
        raise WusFault("100", "SOAP 1.2 wordt niet ondersteund; gebruik SOAP 1.1.", faultcode="VersionMismatch")
    if env.tag != f"{{{SOAP11}}}Envelope":
        raise nonconforming("het bericht is geen SOAP 1.1 Envelope.")
    children = [c for c in env if isinstance(c.tag, str)]
    tags = [c.tag for c in children]
    header_tag, body_tag = f"{{{SOAP11}}}Header", f"{{{SOAP11}}}Body"
    if tags.count(header_tag) > 1:
        raise nonconforming("de Envelope bevat meer dan één soap:Header; er mag er één zijn.")
    if tags.count(body_tag) > 1:
        raise nonconforming("de Envelope bevat meer dan één soap:Body; er mag er één zijn.")
    if tags not in ([body_tag], [header_tag, body_tag]):
        raise nonconforming("de Envelope moet precies een optionele Header en daarna een Body bevatten.")
    return (children[0] if len(children) == 2 else None), children[-1]


def _payload(body: etree._Element, expected: Service) -> tuple[etree._Element, str]:
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
    return element, operation


def read_header(header: etree._Element | None) -> tuple[dict[str, etree._Element], etree._Element | None]:
    """The WS-Addressing headers by local name and the wsse:Security header; each at most once,
    and nothing else (the koppelvlak allows no other headers)."""
    found: dict[str, etree._Element] = {}
    security: etree._Element | None = None
    for h in header if header is not None else ():
        if not isinstance(h.tag, str):
            continue
        qname = etree.QName(h)
        if qname.namespace == WSSE and qname.localname == "Security":
            if security is not None:
                raise nonconforming("de header wsse:Security komt meer dan één keer voor; er mag er één zijn.")
            security = h
        elif qname.namespace == WSA:
            if qname.localname in found:
                raise nonconforming(
                    f"de WS-Addressing header {qname.localname} komt meer dan één keer voor; er mag er één zijn."
                )
            found[qname.localname] = h
        else:
            raise nonconforming(f"header-element {qname.text} is niet toegestaan; alleen WS-Addressing en WS-Security.")
    return found, security


def _check_addressing(addressing: Addressing, expected_action: str, soap_action_header: str | None) -> None:
    operation = expected_action.rsplit("/", 1)[-1].removesuffix("Request")
    if addressing.action is None:
        raise nonconforming("de WS-Addressing header Action ontbreekt.")
    if addressing.action != expected_action:
        raise nonconforming(f"wsa:Action moet {expected_action} zijn voor {operation}.")
    if not addressing.message_id:
        raise nonconforming("de WS-Addressing header MessageID ontbreekt.")
    for name, value in (("ReplyTo", addressing.reply_to), ("FaultTo", addressing.fault_to)):
        if value not in (None, WSA_ANONYMOUS, WSA_NONE):
            raise nonconforming(f"wsa:{name} mag alleen het anonieme adres bevatten.")
    soap_action = (soap_action_header or "").strip().strip('"')
    if soap_action and soap_action != expected_action:
        raise nonconforming(f"de HTTP-header SOAPAction moet {expected_action} zijn.")


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


def response_envelope(
    service: Service, operation: str, payload: etree._Element, relates_to: str | None
) -> etree._Element:
    """The reply's Envelope around ``payload``, unsigned (the caller may sign it in place)."""
    env, body = _envelope(service.response_action(operation), relates_to)
    body.append(payload)
    return env


def build_response(service: Service, operation: str, payload: etree._Element, relates_to: str | None) -> bytes:
    return serialise(response_envelope(service, operation, payload, relates_to))


def serialise(env: etree._Element) -> bytes:
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def build_fault(service: Service, fault: WusFault) -> bytes:
    """A SOAP 1.1 fault as Digipoort sends it: faultstring "Algemene fout", the code and
    description in the service's fault element, the fault action of the operation asked for."""
    env, body = _envelope(service.fault_action(fault.operation or service.default_operation), fault.relates_to)
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
