"""Typed views of the koppelvlak messages: body element -> dataclass, dataclass -> element."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from gateway.wus.envelope import format_timestamp
from gateway.wus.faults import nonconforming
from gateway.wus.namespaces import KOPPELVLAK

K = f"{{{KOPPELVLAK}}}"
NSMAP: Any = {None: KOPPELVLAK}


def opt_text(el: etree._Element, name: str) -> str | None:
    child = el.find(K + name)
    if child is None:
        return None
    return " ".join((child.text or "").split())


def req_text(el: etree._Element, name: str) -> str:
    value = opt_text(el, name)
    assert value is not None, name  # guaranteed by schema validation
    return value


@dataclass(frozen=True)
class Identiteit:
    nummer: str
    type: str


def identiteit(el: etree._Element, name: str) -> Identiteit | None:
    child = el.find(K + name)
    if child is None:
        return None
    return Identiteit(req_text(child, "nummer"), req_text(child, "type"))


@dataclass(frozen=True)
class Part:
    """One decoded file of a submission: the berichtInhoud (position 0) or a bijlage."""

    position: int
    mime_type: str
    bestandsnaam: str
    content: bytes


def _decode_part(el: etree._Element, position: int, max_bytes: int) -> Part:
    label = "berichtInhoud" if position == 0 else f"bijlage {position}"
    inhoud = el.find(K + "inhoud")
    text = (inhoud.text or "") if inhoud is not None else ""
    # xs:base64Binary: whitespace anywhere (line-wrapped base64) is not part of the value.
    raw = text.encode("ascii", "replace").translate(None, b" \t\r\n")
    # Cheap bound before decoding: 4 base64 characters carry 3 bytes.
    if len(raw) // 4 * 3 > max_bytes + 2:
        raise nonconforming(f"{label} is groter dan de toegestane {max_bytes} bytes.")
    try:
        content = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise nonconforming(f"de inhoud van {label} is geen geldige base64.") from None
    if len(content) > max_bytes:
        raise nonconforming(f"{label} is groter dan de toegestane {max_bytes} bytes.")
    part = Part(position, req_text(el, "mimeType"), req_text(el, "bestandsnaam"), content)
    # The schema allows empty values; a submission cannot use them.
    for name, value in (("mimeType", part.mime_type), ("bestandsnaam", part.bestandsnaam), ("inhoud", content)):
        if not value:
            raise nonconforming(f"{label}/{name} is leeg; een aanlevering heeft hier een waarde nodig.")
    return part


def _require_filled(values: dict[str, str]) -> None:
    """Business rule on fields the XSD lets be empty: a specific fault naming the field."""
    for name, value in values.items():
        if not value:
            raise nonconforming(f"{name} is leeg; een aanlevering heeft hier een waarde nodig.")


@dataclass(frozen=True)
class AanleverRequest:
    berichtsoort: str
    identiteit_belanghebbende: Identiteit
    rol_belanghebbende: str
    parts: tuple[Part, ...]
    kenmerk: str | None = None
    aanleverkenmerk: str | None = None
    eerder_aanleverkenmerk: str | None = None
    identiteit_ontvanger: Identiteit | None = None
    rol_ontvanger: str | None = None
    autorisatie_adres: str | None = None

    @classmethod
    def from_element(cls, el: etree._Element, max_part_bytes: int) -> AanleverRequest:
        inhoud = el.find(K + "berichtInhoud")
        assert inhoud is not None  # guaranteed by schema validation
        parts = [_decode_part(inhoud, 0, max_part_bytes)]
        bijlagen = el.find(K + "berichtBijlagen")
        if bijlagen is not None:
            for i, b in enumerate(bijlagen.findall(K + "bijlage"), start=1):
                parts.append(_decode_part(b, i, max_part_bytes))
        ident = identiteit(el, "identiteitBelanghebbende")
        assert ident is not None
        _require_filled(
            {
                "berichtsoort": req_text(el, "berichtsoort"),
                "identiteitBelanghebbende/nummer": ident.nummer,
                "identiteitBelanghebbende/type": ident.type,
                "rolBelanghebbende": req_text(el, "rolBelanghebbende"),
            }
        )
        return cls(
            berichtsoort=req_text(el, "berichtsoort"),
            identiteit_belanghebbende=ident,
            rol_belanghebbende=req_text(el, "rolBelanghebbende"),
            parts=tuple(parts),
            kenmerk=opt_text(el, "kenmerk"),
            aanleverkenmerk=opt_text(el, "aanleverkenmerk"),
            eerder_aanleverkenmerk=opt_text(el, "eerderAanleverkenmerk"),
            identiteit_ontvanger=identiteit(el, "identiteitOntvanger"),
            rol_ontvanger=opt_text(el, "rolOntvanger"),
            autorisatie_adres=opt_text(el, "autorisatieAdres"),
        )


@dataclass(frozen=True)
class StatussenRequest:
    kenmerk: str
    autorisatie_adres: str | None = None
    vanaf: datetime | None = None
    tot: datetime | None = None

    @classmethod
    def from_element(cls, el: etree._Element) -> StatussenRequest:
        return cls(
            kenmerk=req_text(el, "kenmerk"),
            autorisatie_adres=opt_text(el, "autorisatieAdres"),
            vanaf=parse_datetime(opt_text(el, "tijdstempelVanaf")),
            tot=parse_datetime(opt_text(el, "tijdstempelTot")),
        )


def parse_datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    v = value.replace("Z", "+00:00")
    dt = datetime.fromisoformat(v)
    if dt.tzinfo is None:
        # xs:dateTime without a zone: Digipoort runs on Dutch time, but UTC is the only
        # unambiguous reading we can give it.
        dt = dt.replace(tzinfo=UTC)
    return dt


# ----------------------------------------------------------------------- builders


def sub(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, K + name).text = text


def sub_identiteit(parent: etree._Element, name: str, ident: Identiteit | None) -> None:
    if ident is None:
        return
    el = etree.SubElement(parent, K + name)
    sub(el, "nummer", ident.nummer)
    sub(el, "type", ident.type)


def aanlever_response(
    req: AanleverRequest, kenmerk: str, received: datetime, ontvanger: Identiteit | None
) -> etree._Element:
    """The aanleverResponse as Digipoort gives it: the request's fields echoed, and as
    identiteitOntvanger the receiving side's own identity (Digipoort's OIN; here the
    gateway's)."""
    root = etree.Element(K + "aanleverResponse", nsmap=NSMAP)
    sub(root, "kenmerk", kenmerk)
    sub(root, "berichtsoort", req.berichtsoort)
    sub(root, "aanleverkenmerk", req.aanleverkenmerk)
    sub(root, "eerderAanleverkenmerk", req.eerder_aanleverkenmerk)
    sub(root, "tijdstempelAangeleverd", format_timestamp(received))
    sub_identiteit(root, "identiteitBelanghebbende", req.identiteit_belanghebbende)
    sub(root, "rolBelanghebbende", req.rol_belanghebbende)
    sub_identiteit(root, "identiteitOntvanger", ontvanger or req.identiteit_ontvanger)
    sub(root, "rolOntvanger", req.rol_ontvanger)
    sub(root, "autorisatieAdres", req.autorisatie_adres)
    return root


@dataclass(frozen=True)
class StatusResultaat:
    kenmerk: str
    belanghebbende: Identiteit
    statuscode: str
    tijdstempel: datetime
    omschrijving: str
    foutcode: str | None = None
    foutbeschrijving: str | None = None
    details: str | None = None


def statussen_response(operation: str, results: list[StatusResultaat]) -> etree._Element:
    root = etree.Element(K + f"{operation}Response", nsmap=NSMAP)
    ret = etree.SubElement(root, K + f"{operation}Return")
    for r in results:
        el = etree.SubElement(ret, K + "StatusResultaat")
        sub(el, "kenmerk", r.kenmerk)
        sub_identiteit(el, "identiteitBelanghebbende", r.belanghebbende)
        sub(el, "statuscode", r.statuscode)
        sub(el, "tijdstempelStatus", format_timestamp(r.tijdstempel))
        sub(el, "statusomschrijving", r.omschrijving[:80])
        if r.foutcode:
            fout = etree.SubElement(el, K + "statusFoutcode")
            sub(fout, "foutcode", r.foutcode)
            sub(fout, "foutbeschrijving", (r.foutbeschrijving or "")[:1_048_576])
        if r.details:
            sub(el, "statusdetails", r.details[:1_048_576])
    return root


def berichtsoorten_response(names: list[str]) -> etree._Element:
    root = etree.Element(K + "getBerichtsoortenResponse", nsmap=NSMAP)
    ret = etree.SubElement(root, K + "getBerichtsoortenReturn")
    for n in names:
        sub(ret, "berichtsoort", n)
    return root


@dataclass(frozen=True)
class ProcesResultaat:
    kenmerk: str
    berichtsoort: str
    belanghebbende: Identiteit
    ontvanger: Identiteit | None = field(default=None)


def processen_response(results: list[ProcesResultaat]) -> etree._Element:
    root = etree.Element(K + "getProcessenResponse", nsmap=NSMAP)
    ret = etree.SubElement(root, K + "getProcessenReturn")
    for r in results:
        el = etree.SubElement(ret, K + "ProcesResultaat")
        sub(el, "kenmerk", r.kenmerk)
        sub(el, "berichtsoort", r.berichtsoort)
        sub_identiteit(el, "identiteitBelanghebbende", r.belanghebbende)
        sub_identiteit(el, "identiteitOntvanger", r.ontvanger)
    return root
