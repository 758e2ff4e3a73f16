"""Findings people can act on: one per rule and place; in statusdetails at most 20 places per
rule plus how many more, within the field's 1,048,576 characters."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway import checks
from gateway.checks.base import CheckContext, PartInfo, finding
from gateway.checks.filing_rules import MAX_FINDINGS
from gateway.checks.report import PER_RULE, STATUSDETAILS_LIMIT, statusdetails, unique
from tests.support.xbrl import Statement


def _forever(n: int) -> bytes:
    contexts = [
        f'<xbrli:context id="f{i}"><xbrli:entity><xbrli:identifier scheme="http://www.kvk.nl/kvk-id">12345678'
        "</xbrli:identifier></xbrli:entity><xbrli:period><xbrli:forever/></xbrli:period></xbrli:context>"
        for i in range(n)
    ]
    return Statement(kvk_number="12345678", extra_contexts=contexts).build()


def _message_checks(data: bytes) -> list[checks.Finding]:
    ctx = CheckContext(
        berichtsoort="Jaarverantwoording_KvK",
        belanghebbende_nummer="12345678",
        belanghebbende_type="KvK",
        filed_at=datetime(2025, 7, 1, tzinfo=UTC),
        parts=[PartInfo(0, "application/xml", "jaarrekening.xbrl", len(data))],
        raw_instance=data,
    )
    return checks.run(checks.MESSAGE_CHECKS, ctx)


def test_twenty_thousand_forever_contexts_make_a_short_status() -> None:
    found = _message_checks(_forever(20_000))
    forever = [f for f in found if f.code == "FR-NL-3.02"]
    assert len(forever) == 20_000  # the full list: every place, once
    assert len({f.location for f in forever}) == 20_000
    details = statusdetails(found)
    assert details is not None and len(details) <= STATUSDETAILS_LIMIT
    lines = details.splitlines()
    for code in ("FR-NL-3.02", "FR-NL-3.03", "BR-KVK-2.04"):
        shown = [line for line in lines if line.startswith(f"{code} [error]")]
        assert len(shown) == PER_RULE + 1, code
        assert shown[-1] == (
            f"{code} [error] Nog 19980 andere plaatsen met deze bevinding; de volledige lijst staat bij de "
            "inzending. / 19980 more places with this finding; the full list is kept with the submission."
        )
    assert len(details) < 60_000


def test_the_limit_cuts_at_a_line_and_says_how_many_were_left_out() -> None:
    found = [finding("FR-NL-3.03", f"c{i}", id=f"c{i}", line=i + 1) for i in range(10)]
    found += [finding(code) for code in ("FR-NL-1.01", "FR-NL-1.03", "FR-NL-2.06", "FR-NL-2.03", "GW-PER-01")]
    details = statusdetails(found, limit=1_500)
    assert details is not None and len(details) <= 1_500
    last = details.splitlines()[-1]
    assert last.startswith("Nog ") and "more findings not shown" in last


def test_one_finding_per_rule_and_place() -> None:
    a = finding("FR-NL-3.03", "c1", id="c1", line=3)
    again = finding("FR-NL-3.03", "c1", id="c1", line=3)
    other_place = finding("FR-NL-3.03", "c2", id="c2", line=4)
    other_rule = finding("FR-NL-3.02", "c1", id="c1", line=3)
    assert unique([a, again, other_place, other_rule]) == [a, other_place, other_rule]


def test_texts_name_the_place_in_their_own_language() -> None:
    f = finding("FR-NL-1.02", char="'–'", codepoint="U+2013", line=7, column=12, value="–")
    assert f.message_nl.endswith("(regel 7, kolom 12).")
    assert f.message_en.endswith("(line 7, column 12).")
    assert (f.line, f.column, f.value, f.location) == (7, 12, "–", "7:12")
    assert "regel" not in f.message_en and "line" not in f.message_nl


def test_checking_stops_at_a_bound_however_bad_the_file() -> None:
    # 300,000 forbidden characters: the job still ends quickly, and says why it stopped.
    data = Statement(kvk_number="12345678").build()
    data = data.replace(b"</xbrli:xbrl>", ("<!-- " + "\u2013" * 300_000 + " -->").encode() + b"</xbrli:xbrl>")
    found = _message_checks(data)
    assert len(found) <= MAX_FINDINGS + 10
    assert found[-1].code == "GW-XBRL-05"
