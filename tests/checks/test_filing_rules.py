"""SBR/KVK filing rules on the file itself; a failing statement gets every finding at once."""

from __future__ import annotations

from tests.checks.conftest import KvkEnv
from tests.support.outcome import file_statement
from tests.support.xbrl import Statement


def test_forbidden_character_is_reported_with_its_line(kvk: KvkEnv) -> None:
    st = Statement(kvk_number=kvk.company(), name="Handel \u2013 Export B.V.")  # an en dash
    out = file_statement(kvk.stack, kvk.client, st)
    assert out.final == "311"
    assert out.foutcode == "FR-NL-1.02"
    instance = st.build().decode()
    line = next(i for i, text in enumerate(instance.splitlines(), start=1) if "\u2013" in text)
    assert f"regel {line}" in out.details
    assert "U+2013" in out.details


def test_every_finding_is_reported_at_once(kvk: KvkEnv) -> None:
    st = Statement(
        kvk_number=kvk.company(),
        raw_prefix=b"\xef\xbb\xbf",
        lang="es",
        extra_contexts=[
            '<xbrli:context id="unused"><xbrli:entity><xbrli:identifier scheme="http://www.kvk.nl/kvk-id">'
            "XXXX</xbrli:identifier></xbrli:entity><xbrli:period><xbrli:instant>2024-12-31T00:00:00"
            "</xbrli:instant></xbrli:period></xbrli:context>"
        ],
        extra_facts=[
            '<bw2:Assets contextRef="FY_end" unitRef="EUR" precision="4">1</bw2:Assets>',
            '<bw2:NetRevenue contextRef="FY" unitRef="EUR" decimals="1">2000000</bw2:NetRevenue>',
        ],
    )
    out = file_statement(kvk.stack, kvk.client, st)
    assert out.final == "311"
    for code in (
        "FR-NL-1.01",
        "FR-KVK-2.01",
        "FR-NL-3.03",
        "FR-NL-3.01",
        "FR-NL-5.06",
        "FR-NL-5.01",
        "FR-KVK-5.01",
        "GW-KVK-04",
    ):
        assert code in out.codes, (code, out.details)
    text = out.mail_text
    assert "FR-NL-1.01" in text and "FR-NL-5.06" in text  # the mail lists them all too


def test_instance_with_a_doctype_is_rejected(kvk: KvkEnv) -> None:
    st = Statement(kvk_number=kvk.company())
    raw = st.build().replace(b"?>\n", b'?>\n<!DOCTYPE xbrli:xbrl [<!ENTITY a "b">]>\n', 1)
    out = file_statement(kvk.stack, kvk.client, st, instance=raw)
    assert "FR-NL-1.03" in out.codes


def test_file_name_rules(kvk: KvkEnv) -> None:
    out = file_statement(kvk.stack, kvk.client, Statement(kvk_number=kvk.company()), bestandsnaam="jaar rekening.xml")
    assert "FR-KVK-1.01" in out.codes and "FR-NL-1.06" in out.codes


def test_not_an_xbrl_instance(kvk: KvkEnv) -> None:
    out = file_statement(
        kvk.stack, kvk.client, Statement(kvk_number=kvk.company()), instance=b"<html><p>hoi</p></html>"
    )
    assert out.final == "311"
    assert out.foutcode == "GW-XBRL-01"


def test_schema_ref_must_be_a_kvk_entrypoint(kvk: KvkEnv) -> None:
    st = Statement(kvk_number=kvk.company(), schema_ref="http://example.com/my.xsd")
    assert "FR-KVK-2.03" in file_statement(kvk.stack, kvk.client, st).codes


def test_period_end_must_precede_filing(kvk: KvkEnv) -> None:
    st = Statement(kvk_number=kvk.company(), year=2026, adopted=False)
    assert "BR-KVK-4.07" in file_statement(kvk.stack, kvk.client, st).codes


def test_late_filing_is_accepted_with_a_warning(kvk: KvkEnv) -> None:
    out = file_statement(kvk.stack, kvk.client, Statement(kvk_number=kvk.company(), year=2019))
    assert out.final == "500"
    assert "GW-LATE-01" in out.codes
    assert "GW-LATE-01" in out.mail_text


def test_timely_filing_has_no_late_warning(kvk: KvkEnv) -> None:
    out = file_statement(kvk.stack, kvk.client, Statement(kvk_number=kvk.company(), year=2025))
    assert out.final == "500", out.details
    assert "GW-LATE-01" not in out.codes


def test_a_systematic_mistake_gives_a_short_status_and_keeps_the_full_list(kvk: KvkEnv) -> None:
    contexts = [
        f'<xbrli:context id="f{i}"><xbrli:entity><xbrli:identifier scheme="http://www.kvk.nl/kvk-id">{{kvk}}'
        "</xbrli:identifier></xbrli:entity><xbrli:period><xbrli:forever/></xbrli:period></xbrli:context>"
        for i in range(20_000)
    ]
    number = kvk.company()
    st = Statement(kvk_number=number, extra_contexts=[c.replace("{kvk}", number) for c in contexts])
    out = file_statement(kvk.stack, kvk.client, st)
    assert out.final == "311"
    assert len(out.details) <= 1_048_576
    assert out.codes.count("FR-NL-3.02") == 21  # 20 places and "19980 more"
    assert "19980 more places with this finding" in out.details
    assert out.mail_text.count("FR-NL-3.02") == 2 * 21  # the mail too: Dutch and English part
    # Every place is kept with the submission.
    shown = kvk.stack.cli("submissions", "show", out.kenmerk)
    assert shown.stdout.count("FR-NL-3.02") >= 20_000


def test_each_finding_says_where(kvk: KvkEnv) -> None:
    st = Statement(
        kvk_number=kvk.company(),
        extra_facts=['<bw2:Equity contextRef="FY_end" unitRef="EUR" decimals="0">NaN</bw2:Equity>'],
    )
    out = file_statement(kvk.stack, kvk.client, st)
    assert out.final == "311", out.details
    line = next(x for x in out.details.splitlines() if x.startswith("GW-XBRL-04"))
    instance = st.build().decode().splitlines()
    row = next(i for i, text in enumerate(instance, start=1) if "NaN" in text)
    assert f"(regel {row}, kolom " in line and f"(line {row}, column " in line
    assert "bw2:Equity" in line and "NaN" in line
    assert "GW-TECH-01" not in out.codes


def test_the_worker_uses_an_installed_taxonomy(kvk: KvkEnv) -> None:
    from tests.checks.test_taxonomy import nt11_statement
    from tests.support.shared import shared

    kvk.stack.cli("taxonomy", "add", str(shared("taxonomies", "nt11")))
    number = kvk.company()
    bad = nt11_statement('<venj-bw2-i:NoSuchConcept contextRef="FY">x</venj-bw2-i:NoSuchConcept>', kvk=number)
    out = file_statement(kvk.stack, kvk.client, Statement(kvk_number=number), instance=bad)
    assert out.final == "311"
    assert "GW-TAX-01" in out.codes and "GW-TAX-00" not in out.codes
    assert "venj-bw2-i:NoSuchConcept" in out.details
