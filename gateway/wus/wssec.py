"""WS-Security 1.0 for the WUS interface: signing envelopes and verifying them.

Digipoort's policy (reference section 6): a ``wsse:Security`` header with a
``wsu:Timestamp`` and the signer's certificate as ``BinarySecurityToken``; one XML
signature (exclusive c14n) over the Body, the Timestamp and every WS-Addressing header.
Digipoort signs with RSA-SHA1; SHA-256 is accepted too.

Verification is done by signxml (it refuses ambiguous references, the classic signature-
wrapping trick); this module adds what signxml cannot know: which elements must be covered,
that they are the ones in the Header/Body (not copies elsewhere), and the Timestamp rules.
Signing uses python-xmlsec.
"""

from __future__ import annotations

import base64
import importlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

from gateway.wus.envelope import format_timestamp, make_parser, utc_now
from gateway.wus.faults import WusFault
from gateway.wus.namespaces import DS, SOAP11, WSA, WSSE, WSU

# python-xmlsec's bundled stubs lack most of its constants; use it untyped.
xmlsec: Any = importlib.import_module("xmlsec")

B64_ENCODING = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
X509_TOKEN = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
WSU_ID = f"{{{WSU}}}Id"

ALLOWED = SignatureConfiguration(
    require_x509=True,
    location=f"./{{{SOAP11}}}Header/{{{WSSE}}}Security/",
    expect_references=True,
    signature_methods=frozenset({SignatureMethod.RSA_SHA1, SignatureMethod.RSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA1, DigestAlgorithm.SHA256}),
)


def security_fault(code: str, text: str) -> WusFault:
    """A fault with a WS-Security 1.0 faultcode (wsse:FailedCheck, wsse:MessageExpired, ...)."""
    return WusFault("100", text, faultcode=f"wsse:{code}")


# ----------------------------------------------------------------------- signing


def _ensure_id(el: etree._Element, prefix: str) -> str:
    existing = el.get(WSU_ID)
    if existing:
        return existing
    new = f"{prefix}-{uuid.uuid4().hex}"
    el.set(WSU_ID, new)
    return new


def sign(
    envelope: etree._Element,
    key_pem: bytes,
    cert_pem: bytes,
    *,
    sha1: bool = False,
    ttl: timedelta = timedelta(minutes=5),
    now: datetime | None = None,
) -> None:
    """Add a wsse:Security header to ``envelope`` (in place) signing the Body, a new
    Timestamp and every WS-Addressing header, with the certificate as BinarySecurityToken."""
    header = envelope.find(f"{{{SOAP11}}}Header")
    if header is None:
        header = etree.Element(f"{{{SOAP11}}}Header")
        envelope.insert(0, header)
    body = envelope.find(f"{{{SOAP11}}}Body")
    assert body is not None
    security = etree.SubElement(header, f"{{{WSSE}}}Security", nsmap={"wsse": WSSE, "wsu": WSU})
    security.set(f"{{{SOAP11}}}mustUnderstand", "1")
    created = now or utc_now()
    ts = etree.SubElement(security, f"{{{WSU}}}Timestamp")
    etree.SubElement(ts, f"{{{WSU}}}Created").text = format_timestamp(created)
    etree.SubElement(ts, f"{{{WSU}}}Expires").text = format_timestamp(created + ttl)
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(Encoding.DER)
    bst = etree.SubElement(security, f"{{{WSSE}}}BinarySecurityToken", EncodingType=B64_ENCODING, ValueType=X509_TOKEN)
    bst.text = base64.b64encode(der).decode()
    bst_id = _ensure_id(bst, "X509")

    method = xmlsec.Transform.RSA_SHA1 if sha1 else xmlsec.Transform.RSA_SHA256
    digest = xmlsec.Transform.SHA1 if sha1 else xmlsec.Transform.SHA256
    signature = xmlsec.template.create(envelope, xmlsec.Transform.EXCL_C14N, method, ns="ds")
    security.append(signature)
    ctx = xmlsec.SignatureContext()
    targets = [ts, *[h for h in header if isinstance(h.tag, str) and etree.QName(h).namespace == WSA], body]
    for target in targets:
        ref_id = _ensure_id(target, "id")
        ref = xmlsec.template.add_reference(signature, digest, uri=f"#{ref_id}")
        xmlsec.template.add_transform(ref, xmlsec.Transform.EXCL_C14N)
        ctx.register_id(target, "Id", WSU)
    key_info = xmlsec.template.ensure_key_info(signature)
    str_el = etree.SubElement(key_info, f"{{{WSSE}}}SecurityTokenReference")
    etree.SubElement(str_el, f"{{{WSSE}}}Reference", URI=f"#{bst_id}", ValueType=X509_TOKEN)
    ctx.key = xmlsec.Key.from_memory(key_pem, xmlsec.KeyFormat.PEM, None)
    ctx.sign(signature)


# ----------------------------------------------------------------------- verifying


@dataclass(frozen=True)
class Verified:
    certificate: x509.Certificate
    created: datetime
    expires: datetime | None


def _parse_ts(text: str | None, what: str) -> datetime:
    if not text:
        raise security_fault("InvalidSecurity", f"wsu:Timestamp/{what} ontbreekt.")
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise security_fault("InvalidSecurity", f"wsu:Timestamp/{what} is geen geldige tijd.") from None
    if value.tzinfo is None:
        raise security_fault("InvalidSecurity", f"wsu:Timestamp/{what} moet een tijdzone hebben (bijv. Z).")
    return value


def verify(
    raw: bytes,
    envelope: etree._Element,
    *,
    max_age: timedelta = timedelta(minutes=10),
    skew: timedelta = timedelta(minutes=5),
    now: datetime | None = None,
) -> Verified:
    """Check the Security header of a parsed request; raise a WusFault saying what is wrong."""
    now = now or utc_now()
    header = envelope.find(f"{{{SOAP11}}}Header")
    security = header.find(f"{{{WSSE}}}Security") if header is not None else None
    if header is None or security is None:
        raise security_fault("InvalidSecurity", "het bericht is niet ondertekend (wsse:Security ontbreekt).")
    ts = security.find(f"{{{WSU}}}Timestamp")
    if ts is None:
        raise security_fault("InvalidSecurity", "wsu:Timestamp ontbreekt in wsse:Security.")
    created = _parse_ts(ts.findtext(f"{{{WSU}}}Created"), "Created")
    expires_text = ts.findtext(f"{{{WSU}}}Expires")
    expires = _parse_ts(expires_text, "Expires") if expires_text is not None else None
    if created > now + skew:
        raise security_fault("MessageExpired", "wsu:Timestamp/Created ligt in de toekomst; controleer de klok.")
    if expires is not None and expires < now - skew:
        raise security_fault("MessageExpired", "het bericht is verlopen (wsu:Timestamp/Expires is voorbij).")
    if created < now - max_age - skew:
        raise security_fault("MessageExpired", "het bericht is te oud (wsu:Timestamp/Created).")

    tokens = security.findall(f"{{{WSSE}}}BinarySecurityToken")
    if len(tokens) != 1 or tokens[0].get("ValueType") != X509_TOKEN:
        raise security_fault("InvalidSecurityToken", "er moet precies één X.509 BinarySecurityToken zijn.")
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode((tokens[0].text or "").strip(), validate=True))
    except ValueError:
        raise security_fault("InvalidSecurityToken", "de BinarySecurityToken is geen geldig certificaat.") from None

    signature = security.find(f"{{{DS}}}Signature")
    if signature is None:
        raise security_fault("InvalidSecurity", "ds:Signature ontbreekt in wsse:Security.")
    token_ref = signature.find(f"{{{DS}}}KeyInfo/{{{WSSE}}}SecurityTokenReference/{{{WSSE}}}Reference")
    if token_ref is None or token_ref.get("URI") != f"#{tokens[0].get(WSU_ID)}":
        raise security_fault("InvalidSecurityToken", "de handtekening verwijst niet naar de BinarySecurityToken.")

    # Which elements must be covered, by their wsu:Id; each must be the real one.
    body = envelope.find(f"{{{SOAP11}}}Body")
    required = {"Body": body, "Timestamp": ts}
    for h in header:
        if isinstance(h.tag, str) and etree.QName(h).namespace == WSA:
            required[f"wsa:{etree.QName(h).localname}"] = h
    uris = {r.get("URI", "") for r in signature.iterfind(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")}
    for name, el in required.items():
        el_id = el.get(WSU_ID) if el is not None else None
        if not el_id or f"#{el_id}" not in uris:
            raise security_fault("FailedCheck", f"{name} is niet ondertekend.")
    ids = [e.get(WSU_ID) for e in envelope.iter() if isinstance(e.tag, str) and e.get(WSU_ID)]
    if len(ids) != len(set(ids)):
        raise security_fault("FailedCheck", "dubbele wsu:Id-waarden in het bericht.")
    try:
        XMLVerifier().verify(raw, x509_cert=cert, id_attribute="Id", expect_config=ALLOWED, parser=make_parser())
    except InvalidSignature as exc:
        raise security_fault("FailedCheck", f"de handtekening klopt niet ({_short(exc)}).") from None
    except InvalidInput as exc:
        raise security_fault("InvalidSecurity", f"de handtekening is niet bruikbaar ({_short(exc)}).") from None
    return Verified(cert, created, expires)


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
