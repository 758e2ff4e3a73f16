"""The reader's and the character rule's fast paths give what the slow ones give: every fact
of a long statement (read in batches), its attributes, and every forbidden character, also
past the first mebibyte and outside Latin-1."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway import checks
from gateway.checks.base import CheckContext, Finding, PartInfo
from gateway.checks.xbrl import read_instance
from tests.support.xbrl import Statement

XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def with_facts(extra: str) -> bytes:
    return Statement().build().replace(b"</xbrli:xbrl>", extra.encode() + b"</xbrli:xbrl>")


def message_findings(data: bytes) -> list[Finding]:
    ctx = CheckContext(
        berichtsoort="Jaarverantwoording_KvK",
        belanghebbende_nummer="12345678",
        belanghebbende_type="KvK",
        filed_at=datetime(2025, 7, 1, tzinfo=UTC),
        parts=[PartInfo(0, "application/xml", "jaarrekening.xbrl", len(data))],
        raw_instance=data,
    )
    return checks.run(checks.MESSAGE_CHECKS, ctx)


def test_every_fact_of_a_long_statement_is_read_with_its_attributes() -> None:
    notes = "".join(
        f'\n<bw2:Note{i} contextRef="FY" xml:lang="en" id="n{i}">Toelichting {i}</bw2:Note{i}>' for i in range(1000)
    )
    nil = f'\n<bw2:Nothing contextRef="FY" {XSI} xsi:nil="true"/>'
    inst = read_instance(with_facts(notes + nil))
    notes_read = [f for f in inst.facts if f.name.startswith("Note")]
    assert [f.name for f in notes_read] == [f"Note{i}" for i in range(1000)]
    last = notes_read[-1]
    assert (last.value, last.lang, last.has_id, last.context_ref, last.prefix) == (
        "Toelichting 999",
        "en",
        True,
        "FY",
        "bw2",
    )
    assert notes_read[1].line == notes_read[0].line + 1
    nothing = inst.facts[-1]
    assert (nothing.name, nothing.nil, nothing.nil_attribute, nothing.value) == ("Nothing", True, True, "")
    assert "en" in inst.langs
    assert "http://www.w3.org/2001/XMLSchema-instance" in inst.used_namespaces


def test_a_forbidden_character_past_the_first_mebibyte_is_found_where_it_is() -> None:
    filler = "".join(f'\n<bw2:Note{i} contextRef="FY">{"x" * 2000}</bw2:Note{i}>' for i in range(600))
    data = with_facts(filler + '\n<bw2:Late contextRef="FY">a\u2018b</bw2:Late>')
    assert len(data) > 1 << 20
    found = [f for f in message_findings(data) if f.code == "FR-NL-1.02"]
    assert len(found) == 1
    line = data.decode().splitlines()[found[0].line - 1]  # type: ignore[operator]
    assert line[found[0].column - 1] == "\u2018"  # type: ignore[operator]


def test_allowed_characters_outside_latin_1_pass_and_c1_controls_do_not() -> None:
    euro = with_facts('<bw2:Note contextRef="FY">5 \u20ac</bw2:Note>')
    assert [f for f in message_findings(euro) if f.code == "FR-NL-1.02"] == []
    control = with_facts('<bw2:Note contextRef="FY">5 \u0085</bw2:Note>')
    # The value is shown escaped: control characters never reach a text as such.
    assert [f.value for f in message_findings(control) if f.code == "FR-NL-1.02"] == ["\\u0085"]
