"""Adoption (vaststelling) and the one-adopted-statement-per-year rule.

Adopted means DocumentAdoptionStatus "Ja" with an adoption date after the period end and
not after the filing date; "Nee" carries no date. A non-adopted statement on file may be
replaced by a newer one; an adopted one only by a correction (resubmission flag "Ja").
The database's unique index makes the rule hold when two arrive at once.
"""

from __future__ import annotations

from collections.abc import Iterator

from gateway.checks.base import CheckContext, FilingOnFile, Finding, finding
from gateway.checks.statement import parse_date


def supersedes(ctx: CheckContext) -> list[int]:
    """The filings on file this statement replaces once accepted: a non-adopted one by any
    newer statement, an adopted one only by an adopted correction."""
    st = ctx.statement
    if st is None:
        return []
    adopted_on_file: list[FilingOnFile] = [f for f in ctx.on_file if f.adopted]
    if adopted_on_file:
        return [f.id for f in adopted_on_file] if st.kvk.resubmission and st.kvk.adopted else []
    return [f.id for f in ctx.on_file]


def check(ctx: CheckContext) -> Iterator[Finding]:
    st = ctx.statement
    if st is None:
        return
    kvk = st.kvk
    status, raw_date, adopted = kvk.adoption_status, kvk.adoption_date, kvk.adopted
    if status not in ("Ja", "Nee"):
        yield finding("GW-ADO-01", value=status or "-")
    elif adopted and raw_date is None:
        yield finding("GW-ADO-02")
    elif not adopted and raw_date is not None:
        yield finding("GW-ADO-03", date=raw_date)
    # On the classic route BR-KVK-4.10, 4.12, 4.16 and 4.20 are message-level filing rules
    # (gateway.checks.rules.business), reported there with their places in the file; the
    # Inline XBRL route has no such rules, so there the model's values are checked here.
    inline = ctx.reading.route != "xbrl"
    if adopted and raw_date is not None:
        yield from _adoption_date(ctx, raw_date, inline)
    if inline and kvk.resubmission and not adopted:
        yield finding("BR-KVK-4.12")

    # What is on file for this company and year (active filings only).
    if any(f.adopted for f in ctx.on_file):
        if not (kvk.resubmission and adopted):
            yield finding("GW-KVK-DUP", kvk_number=kvk.kvk_number, year=kvk.financial_year)
    elif kvk.resubmission:
        yield finding("GW-ADO-05", kvk_number=kvk.kvk_number, year=kvk.financial_year)


def _adoption_date(ctx: CheckContext, raw_date: str, inline: bool) -> Iterator[Finding]:
    assert ctx.statement is not None
    end = ctx.statement.kvk.period.end
    when = parse_date(raw_date)
    if when is None:
        if inline:
            yield finding("BR-KVK-4.20", value=raw_date, concept="DocumentAdoptionDate")
        return
    if end is not None and when <= end:
        yield finding("GW-ADO-04", date=when, end=end)
    if inline and when > ctx.filed_on:
        yield finding("BR-KVK-4.10", date=when, filed=ctx.filed_on)
