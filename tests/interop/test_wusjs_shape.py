"""A request built byte for byte in the shape the wus-js and PHP clients send (reference
digipoort-wus.md section 6; wus-js Envelope/Addressing/Security/WusXmlDSig): prefixes s, a, o,
u declared on the Envelope; Action with s:mustUnderstand, MessageID, ReplyTo, To, each with a
fixed u:Id; o:Security with s:mustUnderstand, a Timestamp to the second, the token on one line;
a default-namespace ds:Signature (RSA-SHA1, exclusive c14n) over Body, Timestamp, To, Action,
MessageID and ReplyTo; KeyInfo by SecurityTokenReference. Signed here with python-xmlsec
directly, not with the gateway's signing code (issue 10, item 6c)."""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from typing import Any

import requests
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from tests.support.gateway import FINAL, Stack
from tests.support.wus_client import ClientCert, session
from tests.support.xbrl import Statement

AANLEVER = "http://logius.nl/digipoort/wus/2.0/aanleverservice/1.2/AanleverService/aanleverenRequest"
STATUS = (
    "http://logius.nl/digipoort/wus/2.0/statusinformatieservice/1.2/StatusinformatieService/getStatussenProcesRequest"
)
VALUE_TYPE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
ENCODING = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS = "http://www.w3.org/2000/09/xmldsig#"
KV = "http://logius.nl/digipoort/koppelvlakservices/1.2/"


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")  # wus-js: toISOString without the milliseconds


def envelope(action: str, to: str, body: str, cert: ClientCert) -> bytes:
    token = base64.b64encode(x509.load_pem_x509_certificate(cert.cert.read_bytes()).public_bytes(Encoding.DER))
    now = dt.datetime.now(dt.UTC)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:a="http://www.w3.org/2005/08/addressing" '
        'xmlns:o="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" '
        f'xmlns:u="{WSU}">'
        "<s:Header>"
        f'<a:Action s:mustUnderstand="1" u:Id="address_0">{action}</a:Action>'
        f'<a:MessageID u:Id="address_1">urn:uuid:{uuid.uuid4()}</a:MessageID>'
        '<a:ReplyTo u:Id="address_2"><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>'
        f'<a:To u:Id="address_3">{to}</a:To>'
        '<o:Security s:mustUnderstand="1">'
        f'<u:Timestamp u:Id="timestamp_0"><u:Created>{_iso(now)}</u:Created>'
        f"<u:Expires>{_iso(now + dt.timedelta(minutes=10))}</u:Expires></u:Timestamp>"
        f'<o:BinarySecurityToken u:Id="sec_0" ValueType="{VALUE_TYPE}" EncodingType="{ENCODING}">'
        f"{token.decode()}</o:BinarySecurityToken>"
        "</o:Security>"
        "</s:Header>"
        f'<s:Body u:Id="body_0">{body}</s:Body>'
        "</s:Envelope>"
    ).encode()


def sign(data: bytes, cert: ClientCert) -> bytes:
    doc = etree.fromstring(data)
    security = doc.find(
        ".//{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}Security"
    )
    assert security is not None
    signature = xmlsec.template.create(doc, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.RSA_SHA1)
    security.append(signature)
    ctx = xmlsec.SignatureContext()
    for element_id in ("body_0", "timestamp_0", "address_3", "address_0", "address_1", "address_2"):
        ref = xmlsec.template.add_reference(signature, xmlsec.Transform.SHA1, uri=f"#{element_id}")
        xmlsec.template.add_transform(ref, xmlsec.Transform.EXCL_C14N)
        (target,) = doc.xpath("//*[@u:Id=$id]", namespaces={"u": WSU}, id=element_id)
        ctx.register_id(target, "Id", WSU)
    key_info = xmlsec.template.ensure_key_info(signature)
    reference = etree.SubElement(
        etree.SubElement(key_info, f"{{{security.nsmap['o']}}}SecurityTokenReference"),
        f"{{{security.nsmap['o']}}}Reference",
        URI="#sec_0",
        ValueType=VALUE_TYPE,
    )
    assert reference is not None
    ctx.key = xmlsec.Key.from_memory(cert.key.read_bytes(), xmlsec.KeyFormat.PEM, None)
    ctx.sign(signature)
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8")


def _post(stack: Stack, cert: ClientCert, path: str, action: str, data: bytes) -> requests.Response:
    return session(stack.pki.root, cert).post(
        stack.base_url + path,
        data=data,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action},
        timeout=60,
    )


def test_a_wusjs_shaped_request_files_and_polls(interop_stack: Stack) -> None:
    stack, cert = interop_stack, interop_stack.pki.client("filer-a")
    inhoud = base64.b64encode(Statement().build()).decode()
    body = (
        f'<aanleverRequest xmlns="{KV}"><berichtsoort>Jaarverantwoording_KvK</berichtsoort>'
        "<aanleverkenmerk>wus-js</aanleverkenmerk>"
        "<identiteitBelanghebbende><nummer>12345678</nummer><type>KvK</type></identiteitBelanghebbende>"
        "<rolBelanghebbende>Bedrijf</rolBelanghebbende><berichtInhoud><mimeType>text/xml</mimeType>"
        f"<bestandsnaam>jaarrekening.xbrl</bestandsnaam><inhoud>{inhoud}</inhoud></berichtInhoud>"
        "<autorisatieAdres>http://geenausp.nl</autorisatieAdres></aanleverRequest>"
    )
    path = "/wus/2.0/aanleverservice/1.2"
    response = _post(stack, cert, path, AANLEVER, sign(envelope(AANLEVER, stack.base_url + path, body, cert), cert))
    assert response.status_code == 200, response.text
    kenmerk = etree.fromstring(response.content).findtext(f".//{{{KV}}}kenmerk")
    assert kenmerk

    path = "/wus/2.0/statusinformatieservice/1.2"
    status_body = (
        f'<getStatussenProcesRequest xmlns="{KV}"><kenmerk>{kenmerk}</kenmerk>'
        "<autorisatieAdres>http://geenausp.nl</autorisatieAdres></getStatussenProcesRequest>"
    )
    codes: list[Any] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (codes and codes[-1] in FINAL):
        signed = sign(envelope(STATUS, stack.base_url + path, status_body, cert), cert)
        answer = _post(stack, cert, path, STATUS, signed)
        assert answer.status_code == 200, answer.text
        codes = [c.text for c in etree.fromstring(answer.content).iter(f"{{{KV}}}statuscode")]
        time.sleep(0.3)
    assert codes[0] == "105" and codes[-1] == "500", codes
