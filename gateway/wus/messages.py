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


def _opt(el: etree._Element, name: str) -> str | None:
    child = el.find(K + name)
    if child is None:
        return None
    return " ".join((child.text or "").split())


def _req(el: etree._Element, name: str) -> str:
    value = _opt(el, name)
    assert value is not None, name  # guaranteed by schema validation
    return value


@dataclass(frozen=True)
class Identiteit:
    nummer: str
    type: str


def _identiteit(el: etree._Element, name: str) -> Identiteit | None:
    child = el.find(K + name)
    if child is None:
        return None
    return Identiteit(_req(child, "nummer"), _req(child, "type"))


@dataclass
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
    return Part(position, _req(el, "mimeType"), _req(el, "bestandsnaam"), content)


@dataclass
class AanleverRequest:
    berichtsoort: str
    identiteit_belanghebbende: Identiteit
    rol_belanghebbende: str
    parts: list[Part]
    kenmerk: str | None = None
    aanleverkenmerk: str | None = None
    eerder_aanleverkenmerk: str | None = None
    identiteit_ontvanger: Identiteit | None = None
    rol_ontvanger: str | None = None
    autorisatie_adres: str | None = None

    @classmethod
    def from_element(cls, el: etree._Element, max_part_bytes: int) -> AanleverRequest:
        parts = [_decode_part(el.find(K + "berichtInhoud"), 0, max_part_bytes)]  # type: ignore[arg-type]
        bijlagen = el.find(K + "berichtBijlagen")
        if bijlagen is not None:
            for i, b in enumerate(bijlagen.findall(K + "bijlage"), start=1):
                parts.append(_decode_part(b, i, max_part_bytes))
        ident = _identiteit(el, "identiteitBelanghebbende")
        assert ident is not None
        return cls(
            berichtsoort=_req(el, "berichtsoort"),
            identiteit_belanghebbende=ident,
            rol_belanghebbende=_req(el, "rolBelanghebbende"),
            parts=parts,
            kenmerk=_opt(el, "kenmerk"),
            aanleverkenmerk=_opt(el, "aanleverkenmerk"),
            eerder_aanleverkenmerk=_opt(el, "eerderAanleverkenmerk"),
            identiteit_ontvanger=_identiteit(el, "identiteitOntvanger"),
            rol_ontvanger=_opt(el, "rolOntvanger"),
            autorisatie_adres=_opt(el, "autorisatieAdres"),
        )


@dataclass
class StatussenRequest:
    kenmerk: str
    autorisatie_adres: str | None = None
    vanaf: datetime | None = None
    tot: datetime | None = None

    @classmethod
    def from_element(cls, el: etree._Element) -> StatussenRequest:
        return cls(
            kenmerk=_req(el, "kenmerk"),
            autorisatie_adres=_opt(el, "autorisatieAdres"),
            vanaf=_datetime(_opt(el, "tijdstempelVanaf")),
            tot=_datetime(_opt(el, "tijdstempelTot")),
        )


def _datetime(value: str | None) -> datetime | None:
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


def _sub(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, K + name).text = text


def _sub_identiteit(parent: etree._Element, name: str, ident: Identiteit | None) -> None:
    if ident is None:
        return
    el = etree.SubElement(parent, K + name)
    _sub(el, "nummer", ident.nummer)
    _sub(el, "type", ident.type)


def aanlever_response(req: AanleverRequest, kenmerk: str, received: datetime) -> etree._Element:
    root = etree.Element(K + "aanleverResponse", nsmap=NSMAP)
    _sub(root, "kenmerk", kenmerk)
    _sub(root, "berichtsoort", req.berichtsoort)
    _sub(root, "aanleverkenmerk", req.aanleverkenmerk)
    _sub(root, "eerderAanleverkenmerk", req.eerder_aanleverkenmerk)
    _sub(root, "tijdstempelAangeleverd", format_timestamp(received))
    _sub_identiteit(root, "identiteitBelanghebbende", req.identiteit_belanghebbende)
    _sub(root, "rolBelanghebbende", req.rol_belanghebbende)
    _sub_identiteit(root, "identiteitOntvanger", req.identiteit_ontvanger)
    _sub(root, "rolOntvanger", req.rol_ontvanger)
    _sub(root, "autorisatieAdres", req.autorisatie_adres)
    return root


@dataclass
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
        _sub(el, "kenmerk", r.kenmerk)
        _sub_identiteit(el, "identiteitBelanghebbende", r.belanghebbende)
        _sub(el, "statuscode", r.statuscode)
        _sub(el, "tijdstempelStatus", format_timestamp(r.tijdstempel))
        _sub(el, "statusomschrijving", r.omschrijving[:80])
        if r.foutcode:
            fout = etree.SubElement(el, K + "statusFoutcode")
            _sub(fout, "foutcode", r.foutcode)
            _sub(fout, "foutbeschrijving", (r.foutbeschrijving or "")[:1_048_576])
        if r.details:
            _sub(el, "statusdetails", r.details[:1_048_576])
    return root


def berichtsoorten_response(names: list[str]) -> etree._Element:
    root = etree.Element(K + "getBerichtsoortenResponse", nsmap=NSMAP)
    ret = etree.SubElement(root, K + "getBerichtsoortenReturn")
    for n in names:
        _sub(ret, "berichtsoort", n)
    return root


@dataclass
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
        _sub(el, "kenmerk", r.kenmerk)
        _sub(el, "berichtsoort", r.berichtsoort)
        _sub_identiteit(el, "identiteitBelanghebbende", r.belanghebbende)
        _sub_identiteit(el, "identiteitOntvanger", r.ontvanger)
    return root
