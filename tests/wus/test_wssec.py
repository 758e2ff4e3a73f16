"""The signature verifier's defences, on envelopes the gateway itself builds and signs."""

from __future__ import annotations

import base64
import copy

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from gateway.devcerts import issue_leaf, new_dev_ca
from gateway.wus import wssec
from gateway.wus.envelope import build_response
from gateway.wus.faults import WusFault
from gateway.wus.messages import berichtsoorten_response
from gateway.wus.namespaces import DS, SOAP11, WSA, WSSE, Service

CA = new_dev_ca()
SIGNER = issue_leaf(CA.intermediate, "signer")
OTHER = issue_leaf(CA.intermediate, "other")


def _signed(sha1: bool = True) -> etree._Element:
    raw = build_response(Service.STATUSINFORMATIE, "getBerichtsoorten", berichtsoorten_response(["a"]), "urn:uuid:1")
    env = etree.fromstring(raw)
    wssec.sign(env, SIGNER.key_pem(), SIGNER.cert_pem(), sha1=sha1)
    return env


def _verify(env: etree._Element) -> wssec.Verified:
    raw = etree.tostring(env)
    return wssec.verify(etree.fromstring(raw))


def _refused(env: etree._Element) -> str:
    with pytest.raises(WusFault) as info:
        _verify(env)
    return f"{info.value.faultcode} {info.value.description}"


@pytest.mark.parametrize("sha1", [True, False], ids=["rsa-sha1", "rsa-sha256"])
def test_a_correct_signature_verifies(sha1: bool) -> None:
    assert _verify(_signed(sha1)).certificate == SIGNER.cert


def test_tampered_body() -> None:
    env = _signed()
    next(el for el in env.iter() if el.text == "a").text = "b"
    assert "wsse:FailedCheck" in _refused(env)


def test_signature_wrapping_with_a_copied_body() -> None:
    env = _signed()
    body = env.find(f"{{{SOAP11}}}Body")
    assert body is not None
    env.find(f"{{{SOAP11}}}Header").append(copy.deepcopy(body))  # type: ignore[union-attr]
    next(el for el in body.iter() if el.text == "a").text = "evil"
    assert "dubbele wsu:Id" in _refused(env)


def test_certificate_swapped_in_the_token() -> None:
    env = _signed()
    bst = env.find(f".//{{{WSSE}}}BinarySecurityToken")
    assert bst is not None
    bst.text = base64.b64encode(OTHER.cert.public_bytes(Encoding.DER)).decode()
    assert "wsse:FailedCheck" in _refused(env)


def test_an_unsigned_addressing_header_is_refused() -> None:
    env = _signed()
    header = env.find(f"{{{SOAP11}}}Header")
    assert header is not None
    etree.SubElement(header, f"{{{WSA}}}From").text = "http://attacker.example"
    assert "wsa:From is niet ondertekend" in _refused(env)


def test_external_references_and_foreign_transforms_are_refused() -> None:
    env = _signed()
    ref = env.find(f".//{{{DS}}}Reference")
    assert ref is not None
    extra = copy.deepcopy(ref)
    extra.set("URI", "http://attacker.example/doc.xml")
    ref.addnext(extra)
    assert "geen element van dit bericht" in _refused(env)

    env = _signed()
    transform = next(env.iter(f"{{{DS}}}Transform"))
    transform.set("Algorithm", "http://www.w3.org/TR/1999/REC-xslt-19991116")
    assert "wsse:UnsupportedAlgorithm" in _refused(env)

    env = _signed()
    method = env.find(f".//{{{DS}}}SignatureMethod")
    assert method is not None
    method.set("Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1")
    assert "wsse:UnsupportedAlgorithm" in _refused(env)


def test_a_token_in_64_character_lines_verifies() -> None:
    env = _signed()
    bst = env.find(f".//{{{WSSE}}}BinarySecurityToken")
    assert bst is not None and bst.text
    text = bst.text
    bst.text = "\n" + "\n".join(text[i : i + 64] for i in range(0, len(text), 64)) + "\n"
    assert _verify(env).certificate == SIGNER.cert


def test_a_second_copy_of_a_signed_header_is_refused() -> None:
    env = _signed()
    header = env.find(f"{{{SOAP11}}}Header")
    assert header is not None
    original = header.find(f"{{{WSA}}}MessageID")
    assert original is not None
    decoy = etree.Element(f"{{{WSA}}}MessageID")
    decoy.text = "urn:uuid:another"
    original.addprevious(decoy)
    assert "wsse:FailedCheck" in _refused(env)


def test_a_second_body_is_refused() -> None:
    env = _signed()
    body = env.find(f"{{{SOAP11}}}Body")
    assert body is not None
    env.append(etree.Element(f"{{{SOAP11}}}Body"))
    assert "precies één soap:Header en één soap:Body" in _refused(env)


def test_an_xml_id_decoy_is_a_failed_check_not_an_xmlsec_error() -> None:
    env = _signed()
    body = env.find(f"{{{SOAP11}}}Body")
    security = env.find(f".//{{{WSSE}}}Security")
    assert body is not None and security is not None
    decoy = etree.SubElement(security, "Wrapper")
    decoy.set("{http://www.w3.org/XML/1998/namespace}id", body.get(wssec.WSU_ID) or "")
    # Re-parse, as a received message is: libxml2 registers xml:id values as IDs while parsing.
    raw = etree.tostring(env)
    with pytest.raises(WusFault) as info:
        wssec.verify(etree.fromstring(raw))
    assert info.value.faultcode == "wsse:FailedCheck"


@pytest.mark.parametrize("sha1", [True, False], ids=["rsa-sha1", "rsa-sha256"])
def test_what_the_signer_signs_is_what_xmlsec_verifies(sha1: bool) -> None:
    # The signer canonicalises with lxml, the verifier with libxmlsec1: a comment (exc-c14n
    # leaves it out), namespaces declared above the signed elements and used in them (and
    # one declared but unused), attributes in another namespace, and non-ASCII text.
    raw = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing"'
        ' xmlns:k="urn:koppelvlak" xmlns:unused="urn:unused">'
        "<s:Header><a:Action>urn:action</a:Action><a:MessageID>urn:uuid:2</a:MessageID></s:Header>"
        '<s:Body><k:antwoord k:soort="één"><!-- not signed -->tekst &amp; “aanhalingen”<k:leeg/></k:antwoord></s:Body>'
        "</s:Envelope>"
    )
    env = etree.fromstring(raw.encode())
    wssec.sign(env, SIGNER.key_pem(), SIGNER.cert_pem(), sha1=sha1)
    assert _verify(env).certificate == SIGNER.cert
    body = env.find(f"{{{SOAP11}}}Body")
    assert body is not None
    body[0].text = "tekst & “aanhalingen” "
    assert "wsse:FailedCheck" in _refused(env)
