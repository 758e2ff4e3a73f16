"""Adoption (vaststelling) and the one-adopted-statement-per-year rule.

Adopted means DocumentAdoptionStatus "Ja" with an adoption date after the period end and
not after the filing date; "Nee" carries no date. A non-adopted statement on file may be
replaced by a newer one; an adopted one only by a correction (resubmission flag "Ja").
The database's unique index makes the rule hold when two arrive at once.
"""

from __future__ import annotations

from collections.abc import Iterator

from gateway.checks.base import CheckContext, Finding, finding
from gateway.checks.facts import first_value, parse_date


def check(ctx: CheckContext) -> Iterator[Finding]:
    inst = ctx.instance
    if inst is None:
        return
    status = first_value(inst, "adoption_status")
    raw_date = first_value(inst, "adoption_date")
    resubmission = (first_value(inst, "resubmission") or "").strip() == "Ja"
    period = ctx.derived.get("period")
    adopted = status == "Ja"
    ctx.derived["adopted"] = adopted

    if status not in ("Ja", "Nee"):
        yield finding("GW-ADO-01", value=status or "-")
    elif adopted and raw_date is None:
        yield finding("GW-ADO-02")
    elif not adopted and raw_date is not None:
        yield finding("GW-ADO-03", date=raw_date)
    if adopted and raw_date is not None:
        when = parse_date(raw_date)
        if when is None:
            yield finding("BR-KVK-4.20", value=raw_date, concept="DocumentAdoptionDate")
        else:
            if period is not None and period.end is not None and when <= period.end:
                yield finding("GW-ADO-04", date=when, end=period.end)
            if when > ctx.filed_on:
                yield finding("BR-KVK-4.10", date=when, filed=ctx.filed_on)
    if resubmission and not adopted:
        yield finding("BR-KVK-4.12")

    # What is on file for this company and year (active filings only).
    adopted_on_file = [f for f in ctx.on_file if f.adopted]
    year = ctx.derived.get("financial_year")
    kvk = ctx.derived.get("kvk_number")
    if adopted_on_file:
        if resubmission and adopted:
            ctx.derived["supersedes"] = [f.id for f in adopted_on_file]
        else:
            yield finding("GW-KVK-DUP", kvk_number=kvk, year=year)
    else:
        if resubmission:
            yield finding("GW-ADO-05", kvk_number=kvk, year=year)
        # A non-adopted statement on file is replaced by this one.
        ctx.derived["supersedes"] = [f.id for f in ctx.on_file]
