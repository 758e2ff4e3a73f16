"""The statement model: both readers produce it, and the company checks read only it, so the
same mistake draws the same finding whichever format the statement came in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from gateway import checks
from gateway.checks.base import CheckContext, Company, FilingOnFile, Finding, PartInfo
from gateway.checks.ixbrl.inline import read_document
from gateway.checks.ixbrl.package import fact_value
from gateway.checks.reading import read_berichtinhoud
from gateway.checks.statement import IXBRL, XBRL, Statement
from tests.support.ixbrl import MICRO, Package
from tests.support.xbrl import Figures
from tests.support.xbrl import Statement as Classic

FILED = datetime(2024, 6, 1, 12, tzinfo=UTC)
BV = "Besloten vennootschap met beperkte aansprakelijkheid"


def classic(**kw: object) -> Classic:
    base: dict[str, object] = {
        "year": 2023,
        "size_class": "micro",
        "adoption_date": date(2024, 3, 19),
        "current": Figures(0, 0, 2),
        "previous": Figures(0, 0, 2),
    }
    return Classic(**{**base, **kw})  # type: ignore[arg-type]


def context(data: bytes, name: str, berichtsoort: str) -> CheckContext:
    return CheckContext(berichtsoort, "12345678", "KvK", FILED, [PartInfo(0, "application/zip", name, len(data))], data)


def both(
    change_classic: dict[str, object] | None = None, change_inline: Callable[[Package], object] | None = None
) -> list[CheckContext]:
    pkg = Package.example(MICRO).current().clean()
    if change_inline is not None:
        change_inline(pkg)
    return [
        context(classic(**(change_classic or {})).build(), "jaarrekening.xbrl", "Jaarverantwoording_KvK"),
        context(pkg.build(), pkg.bestandsnaam, "jaarrekening_ixbrl_esd"),
    ]


def company_findings(
    ctx: CheckContext, company: Company | None, on_file: list[FilingOnFile] | None = None
) -> list[str]:
    later = ctx.with_register(company, on_file or [])
    found: list[Finding] = checks.run(checks.REGISTER_CHECKS, later)
    return sorted(f.code for f in found)


def test_both_readers_derive_the_same_kvk_data() -> None:
    xbrl, ixbrl = (ctx.statement for ctx in both())
    assert isinstance(xbrl, Statement) and isinstance(ixbrl, Statement)
    assert (xbrl.route, ixbrl.route) == (XBRL, IXBRL)
    for st in (xbrl, ixbrl):
        k = st.kvk
        assert k.kvk_number == "12345678"
        assert k.financial_year == 2023
        assert (k.period.start, k.period.end) == (date(2023, 1, 1), date(2023, 12, 31))
        assert (k.period.previous_start, k.period.previous_end) == (date(2022, 1, 1), date(2022, 12, 31))
        assert k.adopted and k.adoption_date == "2024-03-19"
        assert not k.resubmission
        assert k.size_class_declared == "micro"
        assert k.size_class_derived == "micro"
        assert k.figures_current.assets == Decimal(0)
        assert "balance_sheet" in k.parts_present
    assert ixbrl.kvk.consolidated is False
    assert ixbrl.kvk.size_class_declared_raw.endswith("#LegalEntitySizeMicroMember")  # type: ignore[union-attr]
    assert ixbrl.entrypoint is not None and ixbrl.entrypoint.version == "2024-12-31" and ixbrl.entrypoint.known


def test_facts_carry_their_location() -> None:
    _, ixbrl = (ctx.statement for ctx in both())
    assert ixbrl is not None
    (number,) = ixbrl.by_name("ChamberOfCommerceRegistrationNumber")
    assert number.location.file == "reports/jaarrekening-2023/demicrobv-2023-12-31-nl.html"
    assert number.location.line == 487
    assert ixbrl.contexts["context_2"].dimensions[0][0].endswith("}FinancialStatementsTypeAxis")


ACTIVE = Company("12345678", "De Micro B.V.", BV, "active")

SAME_MISTAKE = {
    "clean": ({}, None, ACTIVE, []),
    "another company's number": (
        {"kvk_number": "87654321"},
        lambda p: p.edit_report(">12345678<", ">87654321<", count=-1),
        ACTIVE,
        ["GW-KVK-06"],
    ),
    "dissolved": ({}, None, Company("12345678", "Weg B.V.", BV, "dissolved"), ["GW-KVK-08"]),
    "not in the register": ({}, None, None, ["GW-KVK-07"]),
    "adopted before the year ended": (
        {"adoption_date": date(2023, 12, 1)},
        lambda p: p.edit_report("19 maart 2024", "1 december 2023"),
        ACTIVE,
        ["GW-ADO-04"],
    ),
    "declared too small": (
        {"current": Figures(5_000_000, 9_000_000, 40), "previous": Figures(5_000_000, 9_000_000, 40)},
        lambda p: p.edit_report(">0</ix:nonFraction>", ">5,000,000</ix:nonFraction>", count=-1),
        ACTIVE,
        ["GW-SIZE-02"],
    ),
}


@pytest.mark.parametrize("case", sorted(SAME_MISTAKE))
def test_the_company_checks_run_unchanged_on_both_formats(case: str) -> None:
    change_classic, change_inline, company, expected = SAME_MISTAKE[case]
    for ctx in both(change_classic, change_inline):
        assert company_findings(ctx, company) == expected, ctx.berichtsoort


def test_duplicates_and_corrections_on_both_formats() -> None:
    adopted_on_file = [FilingOnFile(7, "k", adopted=True)]
    for ctx in both():
        assert company_findings(ctx, ACTIVE, adopted_on_file) == ["GW-KVK-DUP"]
    resubmit = lambda p: p.add_body(  # noqa: E731
        '<ix:nonNumeric contextRef="context_1" name="kvk:DocumentResubmissionDueToUnsurmountableInaccuracies"'
        ' format="ixt:fixed-true" id="re">Correctie</ix:nonNumeric>'
    )
    for ctx in both({"resubmission": True}, resubmit):
        assert ctx.statement is not None and ctx.statement.kvk.resubmission
        assert company_findings(ctx, ACTIVE, adopted_on_file) == []


def test_the_context_is_not_changed_by_the_checks() -> None:
    for ctx in both():
        before = (ctx.statement, ctx.company, list(ctx.on_file))
        checks.run(checks.MESSAGE_CHECKS, ctx)
        checks.run(checks.REGISTER_CHECKS, ctx.with_register(ACTIVE, []))
        assert (ctx.statement, ctx.company, list(ctx.on_file)) == before
        with pytest.raises(AttributeError):
            ctx.company = ACTIVE  # type: ignore[misc]


INLINE = b"""<html xmlns="http://www.w3.org/1999/xhtml" xmlns:ix="http://www.xbrl.org/2013/inlineXBRL"
 xmlns:ixt="http://www.xbrl.org/inlineXBRL/transformation/2022-02-16" xmlns:b="urn:b" xml:lang="nl"><body>
<p><ix:nonFraction name="b:Loss" contextRef="c" unitRef="u" decimals="-3" scale="3" sign="-"
 format="ixt:num-comma-decimal">1.234,5</ix:nonFraction></p>
<p><ix:nonNumeric name="b:Note" contextRef="c" continuedAt="k1">Eerste <ix:exclude>(weggelaten)</ix:exclude>deel
</ix:nonNumeric></p><ix:continuation id="k1" continuedAt="k2">, tweede</ix:continuation>
<ix:continuation id="k2">, derde.</ix:continuation></body></html>"""


def test_sign_scale_format_continuations_and_exclusions() -> None:
    doc = read_document("reports/r/x.html", INLINE)
    loss, note = doc.facts
    assert fact_value(loss, doc.continuations) == "-1234500"
    assert " ".join(fact_value(note, doc.continuations).split()) == "Eerste deel , tweede, derde."


def test_gateway_check_reads_a_package_without_a_berichtsoort() -> None:
    pkg = Package.example(MICRO).current()
    reading = read_berichtinhoud(pkg.build(), pkg.bestandsnaam, "application/zip")
    assert reading.statement is not None and reading.statement.route == IXBRL
    instance = classic().build()
    reading = read_berichtinhoud(instance, "jaarrekening.xbrl", "application/xml")
    assert reading.statement is not None and reading.statement.route == XBRL


def test_a_context_for_a_file_on_its_own() -> None:
    from gateway.checks.reading import context_for

    pkg = Package.example(MICRO).current().clean()
    ctx = context_for(pkg.build(), pkg.bestandsnaam, "application/zip", FILED)
    assert ctx.berichtsoort == "jaarrekening_ixbrl_esd" and ctx.belanghebbende_nummer == "12345678"
    assert [f.code for f in checks.run(checks.MESSAGE_CHECKS, ctx)] == []
    ctx = context_for(classic().build(), "jaarrekening.xbrl", "application/xml", FILED)
    assert ctx.berichtsoort == "Jaarverantwoording_KvK" and ctx.statement is not None
