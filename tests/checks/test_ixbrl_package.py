"""The report-package reader against hostile and malformed packages: each is refused with
its own finding, never an exception (in process; the real path is in test_ixbrl_end_to_end)."""

from __future__ import annotations

import io
import zipfile

import pytest

from gateway.checks.base import Reading
from gateway.checks.ixbrl.package import Limits, read_report_package
from gateway.checks.reading import read_berichtinhoud
from tests.support.ixbrl import MICRO, Package, example_zip, zip_of

TOP = f"{MICRO}/"


def read(data: bytes, name: str = "p.xbri", limits: Limits | None = None) -> Reading:
    return read_report_package(data, name, "application/zip", limits)


def codes(reading: Reading) -> list[str]:
    return [f.code for f in reading.findings]


def with_entries(extra: dict[str, bytes], drop: str | None = None) -> bytes:
    pkg = Package.example(MICRO).current()
    if drop:
        pkg.files = {k: v for k, v in pkg.files.items() if drop not in k}
    pkg.files.update(extra)
    return pkg.build()


def test_zip_bomb_is_refused_by_its_ratio() -> None:
    bomb = zip_of({TOP + "reports/r/bomb.html": b"\0" * (16 * 1024 * 1024)})
    assert len(bomb) < 100_000
    reading = read(bomb)
    assert codes(reading) == ["GW-PKG-06"]
    assert reading.statement is None


def test_total_unpacked_size_is_bounded() -> None:
    assert codes(read(zip_of({TOP + "reports/r/big.html": b"\0" * (101 * 1024 * 1024)}))) == ["GW-PKG-05"]
    data = Package.example(MICRO).current().build()
    small = Limits(**{**vars(Limits.default()), "max_unpacked_bytes": 50_000})
    assert codes(read(data, limits=small)) == ["GW-PKG-05"]


@pytest.mark.parametrize(
    "name",
    [TOP + "../../etc/passwd", "/etc/passwd", TOP + "reports\\r\\x.html", TOP + "./x", "C:/x", TOP + "a\x01b"],
)
def test_unsafe_paths_are_refused(name: str) -> None:
    reading = read(with_entries({name: b"x"}))
    assert codes(reading) == ["GW-PKG-03"]


def test_ten_thousand_entries_are_refused() -> None:
    data = zip_of({f"{TOP}reports/r/{i}.txt": b"" for i in range(10_000)}, zipfile.ZIP_STORED)
    assert codes(read(data)) == ["GW-PKG-02"]


@pytest.mark.parametrize("name", ["inner.zip", "inner.xbri", "innocent.txt"])
def test_nested_archives_are_refused(name: str) -> None:
    assert codes(read(with_entries({f"{TOP}reports/jaarrekening-2023/{name}": example_zip(MICRO)}))) == ["GW-PKG-07"]


def test_duplicate_entries_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(TOP + "META-INF/reportPackage.json", b"{}")
        with pytest.warns(UserWarning):
            zf.writestr(TOP + "META-INF/reportPackage.json", b"{}")
    assert codes(read(out.getvalue())) == ["GW-PKG-04"]


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><html xmlns="http://www.w3.org/1999/xhtml"><p>&c;</p></html>'
)


def test_xhtml_with_an_entity_declaring_doctype_is_refused_unparsed() -> None:
    data = with_entries({TOP + "reports/jaarrekening-2023/x-2023-12-31-nl.html": BILLION_LAUGHS})
    reading = read(data)
    assert codes(reading) == ["GW-IXBRL-11"]
    assert "x-2023-12-31-nl.html" in reading.findings[0].message_en


def test_xhtml_with_an_undeclared_entity_is_not_well_formed() -> None:
    doc = b'<html xmlns="http://www.w3.org/1999/xhtml"><p>&nbsp;&xxe;</p></html>'
    reading = read(with_entries({TOP + "reports/jaarrekening-2023/x-2023-12-31-nl.html": doc}))
    assert codes(reading) == ["GW-IXBRL-10"]


def test_external_entities_are_never_fetched() -> None:
    doc = (
        b'<!DOCTYPE html SYSTEM "http://127.0.0.1:9/x.dtd"><html xmlns="http://www.w3.org/1999/xhtml">'
        b"<p>&ext;</p></html>"
    )
    reading = read(with_entries({TOP + "reports/jaarrekening-2023/x-2023-12-31-nl.html": doc}))
    assert codes(reading) == ["GW-IXBRL-10"]  # the DTD is not loaded, so &ext; stays undefined


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"other/x.txt": b"x"}, "GW-RP-01"),
        ({"loose.txt": b"x"}, "GW-RP-01"),
        ({TOP + "META-INF/reportPackage.json": b"{not json"}, "GW-RP-03"),
        (
            {
                TOP
                + "META-INF/reportPackage.json": b'{"documentInfo": {"documentType": "https://xbrl.org/report-package/2023/xbr"}}'
            },
            "GW-RP-04",
        ),
        ({TOP + "reports/other/b-2023-12-31-nl.html": b"<html/>"}, "GW-RP-07"),
    ],
)
def test_report_package_structure(change: dict[str, bytes], code: str) -> None:
    assert code in codes(read(with_entries(change)))


def test_missing_package_json_reports_and_report() -> None:
    assert codes(read(with_entries({}, drop="reportPackage.json"))) == ["GW-RP-02"]
    assert codes(read(with_entries({}, drop="/reports/"))) == ["GW-RP-05"]
    no_report = with_entries({TOP + "reports/readme.txt": b"x"}, drop=".html")
    assert codes(read(no_report)) == ["GW-RP-06"]


def test_not_a_zip_and_wrong_names() -> None:
    assert codes(read(b"<html/>")) == ["GW-IXBRL-01"]
    assert codes(read(b"PK\x03\x04garbage")) == ["GW-PKG-01"]
    good = Package.example(MICRO).current().build()
    assert codes(read(good, "jaarrekening.zip")) == ["GW-IXBRL-03"]
    mime = read_report_package(good, "p.xbri", "text/html")
    assert codes(mime) == ["GW-IXBRL-04"] and not mime.findings[0].is_error


def test_a_package_sent_as_a_classic_statement() -> None:
    reading = read_berichtinhoud(example_zip(MICRO), "x.xbrl", "application/xml", "Jaarverantwoording_KvK")
    assert codes(reading) == ["GW-IXBRL-02"]
    assert reading.route == "ixbrl"  # so the classic character rules do not read the zip's bytes


def test_unreadable_values_and_absurd_scales() -> None:
    pkg = Package.example(MICRO).current()
    pkg.edit_report('scale="0" id="ID0000130">', 'scale="0" id="ID0000130">twaalf<span/>', 1)
    pkg.edit_report('scale="0" id="ID0000140"', 'scale="1000000000" id="ID0000140"')
    reading = read(pkg.build())
    assert codes(reading).count("GW-IXBRL-15") == 2
    assert reading.statement is not None  # the rest is still checked


def test_an_inline_document_sent_as_a_classic_statement() -> None:
    report = Package.example(MICRO).report.encode()
    reading = read_berichtinhoud(report, "jaarrekening.xbrl", "application/xml", "Jaarverantwoording_KvK")
    assert codes(reading) == ["GW-IXBRL-05"]
    assert "jaarrekening_ixbrl_esd" in reading.findings[0].message_en
    assert "niet" not in reading.findings[0].message_en  # no Dutch fragment in the English text


def test_pathological_values_end_in_findings() -> None:
    pkg = Package.example(MICRO).current()
    pkg.edit_report('decimals="0" scale="0" id="ID0000130"', f'decimals="{"9" * 5000}" scale="0" id="ID0000130"')
    pkg.add_body(
        '<ix:nonNumeric contextRef="context_1" name="bw2-titel9:DocumentAdoptionDate" id="d9"'
        f' format="ixt:date-day-monthname-year-nl">1 {"a" * 20000}</ix:nonNumeric>'
    )
    pkg.add_body(
        '<ix:nonFraction contextRef="context_2" name="bw2-titel9:CostsIncorporationShareIssue"'
        ' unitRef="EUR" decimals="0" id="dupx">0</ix:nonFraction>'
    )
    pkg.files[pkg.path_ending("reportPackage.json")] = b"[" * 100_000 + b"]" * 100_000
    reading = read(pkg.build())
    assert "GW-RP-03" in codes(reading) and "GW-IXBRL-15" in codes(reading)
    assert reading.statement is not None
    from gateway.checks.ixbrl.rules import duplicates

    assert reading.package is not None
    list(duplicates(reading.package, reading.statement))  # decimals beyond int() do not crash


def test_deeply_nested_facts_cannot_multiply_the_text() -> None:
    inner = "x" * 200_000
    for i in range(40):
        inner = f'<ix:nonNumeric contextRef="context_1" name="bw2-titel9:N{i}" id="n{i}">{inner}</ix:nonNumeric>'
    pkg = Package.example(MICRO).current().add_body(f"<p>{inner}</p>")
    reading = read(pkg.build())
    assert codes(reading) == ["GW-IXBRL-16"]
