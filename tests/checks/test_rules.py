"""The filing rules the measurement found wrong, on the gateway's own (NT19) statements, at
the seam: the worker's message and register checks in process."""

from __future__ import annotations

from datetime import UTC, date, datetime

from gateway import checks
from gateway.checks.base import CheckContext, Company, Finding, PartInfo
from tests.support.xbrl import Statement

SEGMENT = (
    '<xbrli:context id="{id}"><xbrli:entity><xbrli:identifier scheme="http://www.kvk.nl/kvk-id">12345678'
    '</xbrli:identifier><xbrli:segment><xbrldi:explicitMember xmlns:xbrldi="http://xbrl.org/2006/xbrldi" '
    'xmlns:d="http://example.com/d" dimension="d:Axis">d:{member}</xbrldi:explicitMember></xbrli:segment>'
    "</xbrli:entity><xbrli:period><xbrli:instant>2024-12-31</xbrli:instant></xbrli:period></xbrli:context>"
)


def run(data: bytes) -> list[Finding]:
    ctx = CheckContext(
        berichtsoort="Jaarverantwoording_KvK",
        belanghebbende_nummer="12345678",
        belanghebbende_type="KvK",
        filed_at=datetime(2025, 7, 1, tzinfo=UTC),
        parts=[PartInfo(0, "application/xml", "jaarrekening.xbrl", len(data))],
        raw_instance=data,
    )
    found = checks.run(checks.MESSAGE_CHECKS, ctx)
    ctx = ctx.with_register(
        Company("12345678", "X", "Besloten vennootschap met beperkte aansprakelijkheid", "active"), []
    )
    return found + checks.run(checks.REGISTER_CHECKS, ctx)


def codes(data: bytes) -> list[str]:
    return [f.code for f in run(data)]


def test_the_default_statement_has_no_errors() -> None:
    assert [f for f in run(Statement().build()) if f.is_error] == []


def test_units_with_the_same_measure_are_duplicates() -> None:
    data = (
        Statement()
        .build()
        .replace(
            b'<xbrli:unit id="EUR">',
            b'<xbrli:unit id="Euro"><xbrli:measure>iso4217:EUR</xbrli:measure></xbrli:unit>\n<xbrli:unit id="EUR">',
        )
    )
    dup = [f for f in run(data) if f.code == "FR-NL-4.01"]
    assert len(dup) == 1 and "Euro, EUR" in dup[0].message_en


def test_contexts_with_the_same_dimensions_are_duplicates() -> None:
    same = [SEGMENT.format(id="a", member="M"), SEGMENT.format(id="b", member="M"), SEGMENT.format(id="c", member="N")]
    facts = [f'<bw2:Equity contextRef="{c}" unitRef="EUR" decimals="0">1</bw2:Equity>' for c in ("a", "b", "c")]
    dup = [f for f in run(Statement(extra_contexts=same, extra_facts=facts).build()) if f.code == "FR-NL-3.04"]
    assert [f.location for f in dup] == ["b"]


def test_adoption_date_after_filing_whatever_the_status() -> None:
    data = (
        Statement(adopted=False)
        .build()
        .replace(
            b"</xbrli:xbrl>",
            b'<bw2:DocumentAdoptionDate contextRef="FY">2025-09-01</bw2:DocumentAdoptionDate></xbrli:xbrl>',
        )
    )
    assert "BR-KVK-4.10" in codes(data)


def test_no_currency_at_all() -> None:
    data = Statement().build().replace(b"iso4217:EUR", b"xbrli:pure")
    assert "BR-KVK-3.01" in codes(data)


def test_employees_are_not_money_whatever_their_unit() -> None:
    data = Statement().build().replace(b'unitRef="FTE" decimals="INF"', b'unitRef="EUR" decimals="0"')
    found = [f for f in run(data) if f.code == "FR-KVK-5.02"]
    assert found and all(f.concept == "bw2:AverageNumberEmployees" for f in found)


def test_correction_without_adoption_is_br_kvk_4_16() -> None:
    data = Statement(resubmission=True, adopted=False, omit={"DocumentAdoptionStatus"}).build()
    found = codes(data)
    assert found.count("BR-KVK-4.16") == 2  # status and date
    assert "BR-KVK-4.12" in found


def test_missing_lang_is_also_fr_kvk_2_01() -> None:
    data = Statement().build().replace(b' xml:lang="nl"', b"")
    found = codes(data)
    assert "FR-KVK-2.01" in found and "FR-NL-2.03" in found


def test_an_invalid_date_is_reported_once() -> None:
    data = Statement(adoption_date=date(2025, 6, 1)).build().replace(b">2025-06-01<", b">2025-02-31<")
    assert codes(data).count("BR-KVK-4.20") == 1


def test_escaped_xhtml_needs_the_concepts_type() -> None:
    # Without a taxonomy the type is unknown: FR-NL-5.11 is not guessed (GW-TAX-00 says so).
    fact = '<bw2:Explanation contextRef="FY">&lt;span&gt;x&lt;/span&gt;</bw2:Explanation>'
    found = codes(Statement(extra_facts=[fact]).build())
    assert "FR-NL-5.11" not in found and found.count("GW-TAX-00") == 1
