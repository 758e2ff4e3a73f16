"""The outcome of a submission as an XML document: what the OphaalService hands out as the
bericht's content and what the final status carries in statusdetails (Digipoort puts the
receiving party's response document there, as escaped XML)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from gateway.wus.envelope import format_timestamp

#: This gateway's own namespace for the outcome document (no Digipoort or KVK schema for it is public).
OUTCOME_NS = "urn:filing-gateway:uitkomst:1"
OUT = f"{{{OUTCOME_NS}}}"


@dataclass(frozen=True)
class FindingView:
    code: str
    severity: str
    message_nl: str
    message_en: str
    location: str | None = None


@dataclass(frozen=True)
class OutcomeView:
    """One final outcome of one run of a submission."""

    kenmerk: str
    run: int
    berichtsoort: str
    outcome: str  # accepted | rejected | error
    statuscode: str
    statusomschrijving: str
    tijdstempel_status: datetime
    foutcode: str | None
    findings: tuple[FindingView, ...]


def outcome_document(o: OutcomeView) -> bytes:
    nsmap: Any = {None: OUTCOME_NS}  # lxml-stubs do not allow the None (default) prefix
    root = etree.Element(OUT + "uitkomst", nsmap=nsmap)
    root.set("kenmerk", o.kenmerk)
    root.set("run", str(o.run))
    root.set("berichtsoort", o.berichtsoort)
    status = etree.SubElement(
        root, OUT + "status", code=o.statuscode, tijdstempel=format_timestamp(o.tijdstempel_status)
    )
    status.text = o.statusomschrijving
    if o.foutcode:
        status.set("foutcode", o.foutcode)
    etree.SubElement(root, OUT + "resultaat").text = o.outcome
    found = etree.SubElement(root, OUT + "bevindingen", aantal=str(len(o.findings)))
    for f in o.findings:
        el = etree.SubElement(found, OUT + "bevinding", code=f.code, ernst=f.severity)
        if f.location:
            el.set("locatie", f.location)
        etree.SubElement(el, OUT + "nl").text = f.message_nl
        etree.SubElement(el, OUT + "en").text = f.message_en
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
