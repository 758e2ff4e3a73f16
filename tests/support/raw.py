"""Hand-made SOAP requests, for inputs no well-behaved client would send."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

import requests
from lxml import etree

from gateway.wus import wssec
from tests.support.wus_client import ClientCert, session

AANLEVER_ACTION = "http://logius.nl/digipoort/wus/2.0/aanleverservice/1.2/AanleverService/aanleverenRequest"


def aanlever_envelope(
    inhoud_b64: str | None = None,
    *,
    instance: bytes = b"<x/>",
    body_override: str | None = None,
    doctype: str = "",
    kvk: str = "12345678",
    action: str = AANLEVER_ACTION,
) -> bytes:
    inhoud = inhoud_b64 if inhoud_b64 is not None else base64.b64encode(instance).decode()
    body = body_override or (
        '<aanleverRequest xmlns="http://logius.nl/digipoort/koppelvlakservices/1.2/">'
        "<berichtsoort>Jaarverantwoording_KvK</berichtsoort><aanleverkenmerk>raw</aanleverkenmerk>"
        f"<identiteitBelanghebbende><nummer>{kvk}</nummer><type>KvK</type></identiteitBelanghebbende>"
        "<rolBelanghebbende>Bedrijf</rolBelanghebbende>"
        "<berichtInhoud><mimeType>application/xml</mimeType><bestandsnaam>j.xbrl</bestandsnaam>"
        f"<inhoud>{inhoud}</inhoud></berichtInhoud>"
        "</aanleverRequest>"
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}'
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing">'
        f"<s:Header><a:Action>{action}</a:Action><a:MessageID>urn:uuid:{uuid.uuid4()}</a:MessageID>"
        "<a:To>https://localhost/wus/2.0/aanleverservice/1.2</a:To></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def signed(body: bytes, cert: ClientCert, *, sha1: bool = True, now: datetime | None = None) -> bytes:
    """The envelope with a Digipoort-style WS-Security signature by ``cert``."""
    env = etree.fromstring(body, etree.XMLParser(huge_tree=True))
    pem = cert.cert.read_bytes()
    wssec.sign(env, cert.key.read_bytes(), pem, sha1=sha1, now=now)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def post(
    base_url: str,
    ca: object,
    cert: ClientCert | None,
    body: bytes,
    path: str = "/wus/2.0/aanleverservice/1.2",
    action: str = AANLEVER_ACTION,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    s = session(ca, cert)  # type: ignore[arg-type]
    return s.post(
        base_url + path,
        data=body,
        timeout=60,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"', **(headers or {})},
    )


def fault_of(response: requests.Response) -> tuple[str, str, str]:
    """(faultcode, foutcode, foutbeschrijving) of a SOAP fault response."""
    doc = etree.fromstring(response.content)
    return (
        doc.findtext(".//faultcode") or "",
        doc.findtext(".//{*}foutcode") or "",
        doc.findtext(".//{*}foutbeschrijving") or "",
    )
