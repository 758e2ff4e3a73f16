"""``gateway check``: the worker's message-level checks, offline, through the real command;
and what a filer learns from it about files that are not statements at all or carry values
that are not numbers."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

from gateway import checks
from gateway.checks.base import CheckContext, Company, PartInfo
from tests.checks.cli_support import codes_by_file, gateway
from tests.support.xbrl import Statement


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_exit_status_and_json(tmp_path: Path) -> None:
    good = _write(tmp_path, "goed.xbrl", Statement(kvk_number="12345678").build())
    bad = _write(tmp_path, "fout.xbrl", Statement(kvk_number="12345678", lang="es").build())

    ok = gateway("check", str(good), data_dir=tmp_path / "d")
    assert ok.code == 0, ok.stdout + ok.stderr
    assert "0 error(s)" in ok.stdout

    failed = gateway("check", "--json", str(good), str(bad), data_dir=tmp_path / "d")
    assert failed.code == 1
    found = codes_by_file(failed)
    assert [f["code"] for f in found[str(good)] if f["severity"] == "error"] == []
    lang = next(f for f in found[str(bad)] if f["code"] == "FR-KVK-2.01")
    assert lang["severity"] == "error"
    assert "es" in lang["message_nl"] and "es" in lang["message_en"]
    assert lang["location"]["line"] == 2

    missing = gateway("check", str(tmp_path / "nothing.xbrl"), str(good), data_dir=tmp_path / "d")
    assert missing.code == 2
    assert "could not be checked" in missing.stdout


def test_kvk_number_is_compared_with_the_given_one(tmp_path: Path) -> None:
    path = _write(tmp_path, "jaarrekening.xbrl", Statement(kvk_number="12345678").build())
    run = gateway("check", "--json", "--kvk", "87654321", str(path), data_dir=tmp_path / "d")
    assert run.code == 1
    assert "GW-KVK-06" in {f["code"] for f in codes_by_file(run)[str(path)]}


def test_a_file_that_is_not_xml_gets_one_finding_in_each_language(tmp_path: Path) -> None:
    junk = bytes(range(256)) * 40 + "Jaarrekening 2024 – € 1.000.000 ✓".encode()
    path = _write(tmp_path, "jaarrekening.xbrl", junk)
    run = gateway("check", "--json", str(path), data_dir=tmp_path / "d")
    assert run.code == 1
    findings = codes_by_file(run)[str(path)]
    assert [f["code"] for f in findings] == ["GW-XBRL-01"]
    assert "not XML" in findings[0]["message_en"] and "geen XML" in findings[0]["message_nl"]


def test_parser_messages_stay_out_of_the_dutch_text(tmp_path: Path) -> None:
    broken = Statement(kvk_number="12345678").build().replace(b"</xbrli:xbrl>", b"</xbrl>")
    path = _write(tmp_path, "jaarrekening.xbrl", broken)
    run = gateway("check", "--json", str(path), data_dir=tmp_path / "d")
    f = next(f for f in codes_by_file(run)[str(path)] if f["code"] == "GW-XBRL-01")
    assert "not well-formed" in f["message_en"] and "mismatch" in f["message_en"]
    assert "mismatch" not in f["message_nl"] and "well-formed XML" in f["message_nl"]
    assert f["location"]["line"] is not None


def test_values_that_are_not_numbers_are_findings_never_technical_errors(tmp_path: Path) -> None:
    nan = Statement(kvk_number="12345678").build().replace(b">1000000</bw2:Assets>", b">NaN</bw2:Assets>")
    digits = "9" * 5000
    # A numeric character reference of 5,000 digits in the company name.
    huge_ref = (
        Statement(kvk_number="12345678")
        .build()
        .replace(b"Voorbeeld Handel B.V.", f"Voorbeeld &#{digits}; B.V.".encode())
    )
    for name, data in (("nan.xbrl", nan), ("ref.xbrl", huge_ref)):
        path = _write(tmp_path, name, data)
        run = gateway("check", "--json", str(path), data_dir=tmp_path / "d")
        assert run.code == 1, run.stderr
        codes = {f["code"] for f in codes_by_file(run)[str(path)]}
        assert "GW-TECH-01" not in codes
        assert ("GW-XBRL-04" if name == "nan.xbrl" else "FR-NL-1.04") in codes, codes
        # The whole worker pipeline, register checks included, takes them in its stride.
        ctx = CheckContext(
            berichtsoort="Jaarverantwoording_KvK",
            belanghebbende_nummer="12345678",
            belanghebbende_type="KvK",
            filed_at=datetime(2025, 7, 1, tzinfo=UTC),
            parts=[PartInfo(0, "application/xml", name, len(data))],
            raw_instance=data,
        )
        found = checks.run(checks.MESSAGE_CHECKS, ctx)
        ctx = ctx.with_register(
            Company("12345678", "X", "Besloten vennootschap met beperkte aansprakelijkheid", "active"), []
        )
        found += checks.run(checks.REGISTER_CHECKS, ctx)
        assert "GW-TECH-01" not in {f.code for f in found}
        for f in found:
            assert len(f.message_en) < 1000, f  # a 5,000-digit value is shortened in texts


def test_archives_are_checked_entry_by_entry(tmp_path: Path) -> None:
    archive = tmp_path / "stukken.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("jaarrekening.xbrl", b"\xef\xbb\xbf" + Statement(kvk_number="12345678").build())
        zf.writestr("__MACOSX/._jaarrekening.xbrl", b"\x00\x05\x16\x07")
    run = gateway("check", "--json", str(archive), data_dir=tmp_path / "d")
    found = codes_by_file(run)
    assert list(found) == [f"{archive}/jaarrekening.xbrl"]
    assert "FR-NL-1.01" in {f["code"] for f in found[f"{archive}/jaarrekening.xbrl"]}
    single = gateway("check", "--json", f"{archive}/jaarrekening.xbrl", data_dir=tmp_path / "d")
    assert list(codes_by_file(single)) == [f"{archive}/jaarrekening.xbrl"]


def test_schema_ref_must_name_a_published_entrypoint_of_its_version(tmp_path: Path) -> None:
    good = Statement(kvk_number="12345678").entrypoint()
    wrong_year = good.replace("jaarverantwoording-2024", "jaarverantwoording-2023")
    wrong_variant = good.replace("nlgaap-klein-publicatiestukken", "nlgaap-reuze")
    for href, expected in ((good, False), (wrong_year, True), (wrong_variant, True)):
        path = _write(tmp_path, "jaarrekening.xbrl", Statement(kvk_number="12345678", schema_ref=href).build())
        run = gateway("check", "--json", str(path), data_dir=tmp_path / "d")
        assert ("FR-KVK-2.03" in {f["code"] for f in codes_by_file(run)[str(path)]}) is expected, href


def test_a_folder_is_checked_file_by_file(tmp_path: Path) -> None:
    folder = tmp_path / "stukken"
    folder.mkdir()
    _write(folder, "a.xbrl", Statement(kvk_number="12345678").build())
    _write(folder, "b.xbrl", Statement(kvk_number="12345678", lang="xx").build())
    run = gateway("check", "--json", str(folder), data_dir=tmp_path / "d")
    assert run.code == 1
    assert sorted(codes_by_file(run)) == [str(folder / "a.xbrl"), str(folder / "b.xbrl")]


def test_an_inline_xbrl_report_package_is_checked_whole(tmp_path: Path) -> None:
    """A filer checks the .xbri it is about to send: the real example as it is (pilot taxonomy,
    refused for exactly that) and the same pointed at a current entrypoint (no errors)."""
    from tests.support.ixbrl import MICRO, Package

    pilot = _write(tmp_path, "micro-pilot.xbri", Package.example(MICRO).build())
    current = _write(tmp_path, "micro-2024.xbri", Package.example(MICRO).current("2024-12-31").build())
    run = gateway("check", "--json", str(pilot), str(current), data_dir=tmp_path / "d")
    assert run.code == 1, run.stdout + run.stderr
    found = codes_by_file(run)
    assert {f["code"] for f in found[str(pilot)] if f["severity"] == "error"} == {"NL-KVK.4.1.2.1", "NL-KVK.4.1.2.2"}
    assert [f["code"] for f in found[str(current)] if f["severity"] == "error"] == []
