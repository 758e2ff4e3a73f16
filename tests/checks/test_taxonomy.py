"""Taxonomies: ``gateway taxonomy add`` compiles a concept table per entrypoint into the data
dir, and ``gateway check`` (the worker's checks) then catches unknown concepts, values not
valid for their type, wrong period types and abstract concepts; FR-KVK-5.02 goes by the
concept's type. Without a taxonomy those checks are skipped with one warning naming it.

Material: the NT11 taxonomy (shared/taxonomies/nt11, URL layout), and a taxonomy package
zip made from it at test time.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.checks.cli_support import Run, codes_by_file, gateway
from tests.support.shared import shared

EP = (
    "http://www.nltaxonomie.nl/nt11/kvk/20161214/entrypoints/"
    "kvk-rpt-jaarverantwoording-2016-nlgaap-micro-publicatiestukken.xsd"
)
VENJ = "http://www.nltaxonomie.nl/nt11/venj/20161214/dictionary/venj-bw2-data"
KVK = "http://www.nltaxonomie.nl/nt11/kvk/20161214/dictionary/kvk-data"
ABSTRACTS = "http://www.nltaxonomie.nl/nt11/kvk/20161214/presentation/kvk-abstracts"


def nt11_statement(
    *extra: str, employees_unit: str = "pure", employees_decimals: str = "INF", kvk: str = "12345678"
) -> bytes:
    def fact(name: str, value: str, context: str = "FY", unit: str = "") -> str:
        attrs = f' unitRef="{unit}" decimals="0"' if unit else ""
        return f'<{name} contextRef="{context}"{attrs}>{value}</{name}>'

    facts = [
        fact("venj-bw2-i:ChamberOfCommerceRegistrationNumber", kvk),
        fact("venj-bw2-i:LegalEntityName", "Voorbeeld B.V."),
        fact("kvk-i:LegalSizeCriteriaClassification", "Micro"),
        fact("venj-bw2-i:FinancialReportingPeriodCurrentStartDate", "2016-01-01"),
        fact("venj-bw2-i:FinancialReportingPeriodCurrentEndDate", "2016-12-31"),
        fact("venj-bw2-i:DocumentAdoptionStatus", "Ja"),
        fact("venj-bw2-i:DocumentAdoptionDate", "2017-05-01"),
        fact("venj-bw2-i:Assets", "300000", "FY_end", "EUR"),
        f'<venj-bw2-i:AverageNumberEmployees contextRef="FY" unitRef="{employees_unit}" '
        f'decimals="{employees_decimals}">4</venj-bw2-i:AverageNumberEmployees>',
        *extra,
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<xbrli:xbrl xmlns:xbrli="http://www.xbrl.org/2003/instance" xmlns:link="http://www.xbrl.org/2003/linkbase" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:iso4217="http://www.xbrl.org/2003/iso4217" '
        f'xmlns:venj-bw2-i="{VENJ}" xmlns:kvk-i="{KVK}" xmlns:kvk-abstr="{ABSTRACTS}" xml:lang="nl">\n'
        f'<link:schemaRef xlink:type="simple" xlink:href="{EP}"/>\n'
        '<xbrli:context id="FY"><xbrli:entity><xbrli:identifier scheme="http://www.kvk.nl/kvk-id">'
        f"{kvk}</xbrli:identifier></xbrli:entity><xbrli:period><xbrli:startDate>2016-01-01</xbrli:startDate>"
        "<xbrli:endDate>2016-12-31</xbrli:endDate></xbrli:period></xbrli:context>\n"
        '<xbrli:context id="FY_end"><xbrli:entity><xbrli:identifier scheme="http://www.kvk.nl/kvk-id">'
        f"{kvk}</xbrli:identifier></xbrli:entity><xbrli:period><xbrli:instant>2016-12-31</xbrli:instant>"
        "</xbrli:period></xbrli:context>\n"
        '<xbrli:unit id="EUR"><xbrli:measure>iso4217:EUR</xbrli:measure></xbrli:unit>\n'
        '<xbrli:unit id="pure"><xbrli:measure>xbrli:pure</xbrli:measure></xbrli:unit>\n'
        + "\n".join(facts)
        + "\n</xbrli:xbrl>\n"
    ).encode()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with NT11 installed from the URL-layout folder."""
    data = tmp_path_factory.mktemp("data")
    run = gateway("taxonomy", "add", str(shared("taxonomies", "nt11")), data_dir=data, timeout=300)
    assert run.code == 0, run.stderr
    assert f"{EP}: " in run.stdout and "(compiled)" in run.stdout
    return data


def _check(data_dir: Path, folder: Path, data: bytes, *options: str) -> tuple[Run, list[dict[str, object]]]:
    path = folder / "jaarrekening.xbrl"
    path.write_bytes(data)
    run = gateway("check", "--json", *options, str(path), data_dir=data_dir)
    return run, codes_by_file(run)[str(path)]


def test_install_compiles_once_per_entrypoint(data_dir: Path) -> None:
    index = json.loads((data_dir / "taxonomies" / "index.json").read_text())
    assert EP in index and len(index) == 3
    table = json.loads((data_dir / "taxonomies" / index[EP]).read_text())
    assets = table["concepts"][f"{{{VENJ}}}Assets"]
    # type, base, formatted, period type, balance, abstract, nillable, substitution group, kind
    assert assets[1:9] == [
        "monetary",
        False,
        "instant",
        "debit",
        False,
        False,
        "{http://www.xbrl.org/2003/instance}item",
        "item",
    ]
    again = gateway("taxonomy", "add", str(shared("taxonomies", "nt11")), data_dir=data_dir, timeout=300)
    assert again.code == 0 and "(compiled)" not in again.stdout and "already installed" in again.stdout


def test_a_valid_statement_passes_the_taxonomy_checks(data_dir: Path, tmp_path: Path) -> None:
    run, found = _check(data_dir, tmp_path, nt11_statement())
    assert [f for f in found if str(f["code"]).startswith("GW-TAX")] == []
    assert run.code == 0, found


def test_unknown_concept_and_wrongly_typed_values_are_caught(data_dir: Path, tmp_path: Path) -> None:
    data = nt11_statement(
        '<venj-bw2-i:NoSuchConcept contextRef="FY">x</venj-bw2-i:NoSuchConcept>',
        '<venj-bw2-i:Equity contextRef="FY_end" unitRef="EUR" decimals="0">12.5.3</venj-bw2-i:Equity>',
        '<venj-bw2-i:DocumentPresentationCurrency contextRef="FY">Florijn</venj-bw2-i:DocumentPresentationCurrency>',
        '<venj-bw2-i:NetRevenue contextRef="FY_end" unitRef="EUR" decimals="0">5</venj-bw2-i:NetRevenue>',
        '<kvk-abstr:AnnualReportTitle contextRef="FY">Jaarrekening</kvk-abstr:AnnualReportTitle>',
    ).replace(b">Micro<", b">Piepklein<")
    run, found = _check(data_dir, tmp_path, data)
    assert run.code == 1
    by = {(f["code"], f["location"]["concept"]) for f in found}  # type: ignore[index]
    assert ("GW-TAX-01", "venj-bw2-i:NoSuchConcept") in by
    assert ("GW-TAX-02", "venj-bw2-i:Equity") in by
    assert ("GW-TAX-02", "kvk-i:LegalSizeCriteriaClassification") in by  # not in the enumeration
    assert ("GW-TAX-03", "venj-bw2-i:NetRevenue") in by  # a duration concept in an instant context
    assert ("GW-TAX-04", "kvk-abstr:AnnualReportTitle") in by
    unknown = next(f for f in found if f["code"] == "GW-TAX-01")
    text = data.decode().splitlines()[unknown["location"]["line"] - 1]  # type: ignore[index]
    assert text.startswith("<venj-bw2-i:NoSuchConcept")
    # With the taxonomy no separate "not a number" finding: the type check says it.
    assert "GW-XBRL-04" not in {f["code"] for f in found}


def test_decimals_go_by_the_concepts_type(data_dir: Path, tmp_path: Path) -> None:
    # AverageNumberEmployees is a decimal, not monetary, whatever unit it carries.
    _, found = _check(data_dir, tmp_path, nt11_statement(employees_unit="EUR", employees_decimals="0"))
    assert ("FR-KVK-5.02", "venj-bw2-i:AverageNumberEmployees") in {
        (f["code"], f["location"]["concept"])  # type: ignore[index]
        for f in found
    }
    assert "FR-KVK-5.01" not in {f["code"] for f in found}


def test_without_a_taxonomy_one_warning_names_it(tmp_path: Path) -> None:
    data = nt11_statement('<venj-bw2-i:NoSuchConcept contextRef="FY">x</venj-bw2-i:NoSuchConcept>')
    _, found = _check(tmp_path / "empty", tmp_path, data)
    skipped = [f for f in found if f["code"] == "GW-TAX-00"]
    assert len(skipped) == 1 and skipped[0]["severity"] == "warning"
    assert EP in str(skipped[0]["message_en"]) and "NT11" in str(skipped[0]["message_nl"])
    assert not [f for f in found if str(f["code"]).startswith("GW-TAX-0") and f["code"] != "GW-TAX-00"]


def test_a_taxonomy_package_zip(tmp_path: Path) -> None:
    """An XBRL taxonomy package (catalog rewrite, taxonomyPackage.xml) made from NT11,
    installed, and the same package given to one run with --taxonomy."""
    root = shared("taxonomies", "nt11")
    package = tmp_path / "nt11.zip"
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr(
            "NT11/META-INF/catalog.xml",
            '<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">'
            '<rewriteURI uriStartString="http://www.nltaxonomie.nl/" rewritePrefix="../www.nltaxonomie.nl/"/>'
            '<rewriteURI uriStartString="http://www.xbrl.org/" rewritePrefix="../www.xbrl.org/"/></catalog>',
        )
        zf.writestr(
            "NT11/META-INF/taxonomyPackage.xml",
            '<tp:taxonomyPackage xmlns:tp="http://xbrl.org/2016/taxonomy-package"><tp:entryPoints><tp:entryPoint>'
            f'<tp:entryPointDocument href="{EP}"/></tp:entryPoint></tp:entryPoints></tp:taxonomyPackage>',
        )
        for path in root.rglob("*"):
            if path.is_file():
                zf.write(path, "NT11/" + path.relative_to(root).as_posix())
    data = nt11_statement('<venj-bw2-i:NoSuchConcept contextRef="FY">x</venj-bw2-i:NoSuchConcept>')
    run, found = _check(tmp_path / "d", tmp_path, data, "--taxonomy", str(package))
    assert "GW-TAX-01" in {f["code"] for f in found}, run.stderr
    installed = gateway("taxonomy", "add", str(package), data_dir=tmp_path / "d2", timeout=300)
    assert installed.code == 0, installed.stderr
    assert f"{EP}: " in installed.stdout
