"""Typed views of the OphaalService messages and of getNieuweStatussen: a filter read from
the request, result lists written into the response."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from gateway.wus.envelope import format_timestamp
from gateway.wus.messages import NSMAP, Identiteit, K, Part, identiteit, opt_text, parse_datetime, sub, sub_identiteit


@dataclass(frozen=True)
class BerichtenFilter:
    """What a getBerichten*/getNieuweStatussen request asks for; None means "any"."""

    kenmerk: str | None = None
    berichtsoort: str | None = None
    belanghebbende: Identiteit | None = None
    vanaf: datetime | None = None
    tot: datetime | None = None

    @classmethod
    def from_element(cls, el: etree._Element) -> BerichtenFilter:
        return cls(
            kenmerk=opt_text(el, "kenmerk"),
            berichtsoort=opt_text(el, "berichtsoort"),
            belanghebbende=identiteit(el, "identiteitBelanghebbende"),
            vanaf=parse_datetime(opt_text(el, "tijdstempelVanaf")),
            tot=parse_datetime(opt_text(el, "tijdstempelTot")),
        )


@dataclass(frozen=True)
class Constatering:
    code: str
    beschrijving: str


@dataclass(frozen=True)
class BerichtResultaat:
    """One outcome message for the sender (XSD BerichtResultaat)."""

    kenmerk: str
    berichtsoort: str
    berichtkenmerk: str
    tijdstempel_aangeleverd: datetime
    belanghebbende: Identiteit
    rol_belanghebbende: str
    inhoud: Part
    bijlagen: tuple[Part, ...] = ()
    constateringen: tuple[Constatering, ...] = ()
    aanleverkenmerk: str | None = None
    eerder_aanleverkenmerk: str | None = None
    aanleveraar: str | None = None
    ontvanger: Identiteit | None = None
    rol_ontvanger: str | None = None


def _sub_part(parent: etree._Element, name: str, part: Part) -> None:
    el = etree.SubElement(parent, K + name)
    sub(el, "mimeType", part.mime_type)
    sub(el, "bestandsnaam", part.bestandsnaam)
    sub(el, "inhoud", base64.b64encode(part.content).decode("ascii"))


def _bericht(parent: etree._Element, b: BerichtResultaat) -> None:
    el = etree.SubElement(parent, K + "BerichtResultaat")
    sub(el, "kenmerk", b.kenmerk)
    sub(el, "berichtsoort", b.berichtsoort)
    sub(el, "berichtkenmerk", b.berichtkenmerk)
    sub(el, "aanleverkenmerk", b.aanleverkenmerk)
    sub(el, "eerderAanleverkenmerk", b.eerder_aanleverkenmerk)
    sub(el, "tijdstempelAangeleverd", format_timestamp(b.tijdstempel_aangeleverd))
    sub_identiteit(el, "identiteitBelanghebbende", b.belanghebbende)
    sub(el, "rolBelanghebbende", b.rol_belanghebbende)
    sub(el, "identiteitAanleveraar", b.aanleveraar)
    sub_identiteit(el, "identiteitOntvanger", b.ontvanger)
    sub(el, "rolOntvanger", b.rol_ontvanger)
    _sub_part(el, "berichtInhoud", b.inhoud)
    if b.bijlagen:
        bijlagen = etree.SubElement(el, K + "berichtBijlagen")
        for part in b.bijlagen:
            _sub_part(bijlagen, "bijlage", part)
    if b.constateringen:
        lijst = etree.SubElement(el, K + "constateringenLijst")
        for c in b.constateringen:
            item = etree.SubElement(lijst, K + "constatering")
            sub(item, "code", c.code[:20])
            sub(item, "beschrijving", c.beschrijving[:1_048_576])


def berichten_response(operation: str, berichten: list[BerichtResultaat]) -> etree._Element:
    """getBerichten, getNieuweBerichten, getBerichtenKenmerk, getNieuweBerichtenKenmerk."""
    root = etree.Element(K + f"{operation}Response", nsmap=NSMAP)
    ret = etree.SubElement(root, K + f"{operation}Return")
    for b in berichten:
        _bericht(ret, b)
    return root


def berichten_lijst_response(operation: str, berichten: list[BerichtResultaat]) -> etree._Element:
    """getBerichtenLijst, getNieuweBerichtenLijst: berichtsoort, belanghebbende, kenmerk each."""
    root = etree.Element(K + f"{operation}Response", nsmap=NSMAP)
    ret = etree.SubElement(root, K + f"{operation}Return")
    for b in berichten:
        el = etree.SubElement(ret, K + "BerichtLijstResultaat")
        sub(el, "berichtsoort", b.berichtsoort)
        sub_identiteit(el, "identiteitBelanghebbende", b.belanghebbende)
        sub(el, "kenmerk", b.kenmerk)
    return root
