"""Reading a berichtInhoud into the statement model: one entry point for the worker and
``gateway check``, for a classic XBRL instance and an Inline XBRL report package alike.

The route is the berichtsoort's ``format`` in ``schemas/berichtsoorten.json``; without a
berichtsoort (``gateway check``) the content decides: a zip is a report package.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from gateway.checks.base import CheckContext, Finding, PartInfo, Reading, finding
from gateway.checks.classic import statement_from_instance
from gateway.checks.ixbrl.package import ZIP_MAGIC, read_report_package
from gateway.checks.rules.text import looks_like_xml
from gateway.checks.statement import IXBRL, XBRL
from gateway.checks.xbrl import InstanceError, read_instance
from gateway.resources import load_json

_INLINE_DOCUMENT = re.compile(rb"<(\w+:)?html\b[^>]*\sxmlns(:\w+)?=[\"']http://www\.xbrl\.org/2013/inlineXBRL[\"']")


def route_for(content: bytes, berichtsoort: str | None) -> str:
    if berichtsoort:
        kind = load_json("berichtsoorten.json")["berichtsoorten"].get(berichtsoort)
        if kind is not None:
            return str(kind["format"])
    return IXBRL if content.startswith(ZIP_MAGIC) else XBRL


def read_berichtinhoud(content: bytes, bestandsnaam: str, mime_type: str, berichtsoort: str | None = None) -> Reading:
    """The statement in ``content``, or the findings that say why it cannot be read."""
    route = route_for(content, berichtsoort)
    if route == IXBRL:
        return read_report_package(content, bestandsnaam, mime_type)
    if content.startswith(ZIP_MAGIC):
        return Reading(None, (finding("GW-IXBRL-02", berichtsoort=berichtsoort or "-"),), route=IXBRL)
    if _INLINE_DOCUMENT.search(content[:65536]):
        # An Inline XBRL document sent as a classic instance: one finding that says so, not
        # the classic reader's and character rules' complaints about XHTML prose.
        return Reading(None, (finding("GW-IXBRL-05", berichtsoort=berichtsoort or "-"),), route=IXBRL)
    return _read_classic(content)


def context_for(
    content: bytes, bestandsnaam: str, mime_type: str, filed_at: datetime, kvk_number: str | None = None
) -> CheckContext:
    """A check context for a file on its own (``gateway check``): the berichtsoort follows
    from the content (a zip is a report package), the KVK number from the statement."""
    route = route_for(content, None)
    berichtsoort = next(
        name for name, kind in load_json("berichtsoorten.json")["berichtsoorten"].items() if kind["format"] == route
    )
    ctx = CheckContext(
        berichtsoort, kvk_number or "", "KvK", filed_at, [PartInfo(0, mime_type, bestandsnaam, len(content))], content
    )
    if kvk_number is None and ctx.kvk_number:
        ctx = replace(ctx, belanghebbende_nummer=ctx.kvk_number, read=ctx.reading)
    return ctx


def _read_classic(content: bytes) -> Reading:
    if not looks_like_xml(content):
        # One finding for a file that is not XML at all, not one per unexpected byte.
        return Reading(None, (finding("GW-XBRL-01#not-xml"),))
    try:
        inst = read_instance(content)
    except InstanceError as exc:
        found: Finding = finding(
            "GW-XBRL-01", reason_nl=exc.reason_nl, reason_en=exc.reason_en, line=exc.line, column=exc.column
        )
        return Reading(None, (found,))
    return Reading(statement_from_instance(inst), (), instance=inst)


def check(ctx: CheckContext) -> tuple[Finding, ...]:
    """The reading's own findings, reported as the first check's."""
    return ctx.reading.findings
