"""Every NL-KVK rule the gateway runs, with a package that breaks it and one that does not.

In process, at the seam the worker and ``gateway check`` use (``read_berichtinhoud`` and the
check lists). Packages are the real examples from ../shared/ixbrl, pointed at a current KVK
taxonomy and then changed in one place. The passing side of every rule is the clean package
(with a well-formed extension concept, so the extension-taxonomy rules have something to
judge), which must draw no finding at all.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from gateway import checks
from gateway.checks.base import CheckContext, Company, Finding, PartInfo
from gateway.checks.ixbrl.package import Limits, read_report_package
from tests.support.ixbrl import KLEIN, MICRO, Package

FILED = datetime(2024, 6, 1, 12, tzinfo=UTC)  # after the examples' adoption date, within the deadline
BV = Company("12345678", "De Micro B.V.", "Besloten vennootschap met beperkte aansprakelijkheid", "active")
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
CORE = "https://www.nltaxonomie.nl/bw2-titel9/2024-12-31/bw2-titel9-cor.xsd"


def run_checks(data: bytes, name: str = "package.xbri", filed: datetime = FILED) -> list[Finding]:
    ctx = CheckContext(
        berichtsoort="jaarrekening_ixbrl_esd",
        belanghebbende_nummer="12345678",
        belanghebbende_type="KvK",
        filed_at=filed,
        parts=[PartInfo(0, "application/zip", name, len(data))],
        raw_instance=data,
    )
    found = checks.run(checks.MESSAGE_CHECKS, ctx)
    return found + checks.run(checks.REGISTER_CHECKS, ctx.with_register(BV, []))


def codes(pkg: Package) -> list[str]:
    return [f.code for f in run_checks(pkg.build(), pkg.bestandsnaam)]


def clean(version: str = "2024-12-31") -> Package:
    return Package.example(MICRO).current(version).clean().with_extension_concept(version)


def test_the_clean_packages_draw_no_finding() -> None:
    assert codes(clean()) == []
    assert codes(clean("2025-12-31")) == []
    assert codes(Package.example(KLEIN).current("2025-12-31").clean()) == ["GW-SIZE-06"]  # no turnover tagged


def test_the_examples_as_they_are_fail_on_the_pilot_taxonomy_and_nothing_else_blocks() -> None:
    micro = codes(Package.example(MICRO))
    assert [c for c in micro if c.startswith("NL-KVK")] == ["NL-KVK.3.6.3.2", "NL-KVK.4.1.2.1", "NL-KVK.4.1.2.2"]
    klein = codes(Package.example(KLEIN))
    assert [c for c in klein if c.startswith("NL-KVK")] == [
        "NL-KVK.3.6.3.2",
        "NL-KVK.4.1.2.1",
        "NL-KVK.4.1.2.2",
        "NL-KVK.4.4.2.2",
    ]


def _img(src: str) -> Callable[[Package], object]:
    return lambda p: p.add_body(f'<img src="{src}" alt="x" />')


def _second_document(name: str, body: str) -> Callable[[Package], object]:
    def change(p: Package) -> None:
        folder = p.report_path.rsplit("/", 1)[0]
        p.files[f"{folder}/{name}"] = (
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:ix="http://www.xbrl.org/2013/inlineXBRL"'
            ' xmlns:bw2-titel9="https://www.nltaxonomie.nl/bw2-titel9/2025-12-31/bw2-titel9-cor" xml:lang="nl">'
            f"<head><title>x</title></head><body>{body}</body></html>"
        ).encode()

    return change


def _exemption(value: str, article: str) -> Callable[[Package], object]:
    def change(p: Package) -> None:
        p.edit(
            ".html",
            'xlink:href="https://www.demicrobv.nl/xbrl/2023-12-31/demicrobv-2023-12-31.xsd"',
            'xlink:href="https://www.nltaxonomie.nl/kvk/2025-12-31/kvk-annual-report-other.xsd"',
        )
        p.add_body(
            f'<ix:nonNumeric contextRef="context_1" name="kvk:AnnualReportOfForeignGroupHeadForExemptionUnder'
            f'Article{article}" format="ixt:fixed-{value}" id="ex{article}">x</ix:nonNumeric>'
        )

    return change


def _element(xml: str) -> Callable[[Package], object]:
    return lambda p: p.edit(".xsd", "</xs:schema>", xml + "</xs:schema>")


IDENT = '<xbrli:identifier scheme="http://www.kvk.nl/kvk-id">12345678</xbrli:identifier>'
MUTATIONS: dict[str, Callable[[Package], object]] = {
    "NL-KVK.3.1.1.1": lambda p: p.edit_report(IDENT, IDENT.replace("12345678", "00123456"), count=-1),
    "NL-KVK.3.1.1.2": lambda p: p.edit_report(
        IDENT, IDENT.replace("http://www.kvk.nl/kvk-id", "http://example.com/id"), -1
    ),
    "NL-KVK.3.1.2.1": lambda p: p.edit_report("<xbrli:instant>2023-12-31<", "<xbrli:instant>2023-12-31T00:00:00<"),
    "NL-KVK.3.1.2.2": lambda p: p.edit_report("<xbrli:instant>2023-12-31<", "<xbrli:instant>2023-12-31Z<"),
    "NL-KVK.3.1.3.1": lambda p: p.edit_report(
        IDENT, IDENT + "<xbrli:segment><demicrobv:S>x</demicrobv:S></xbrli:segment>"
    ),
    "NL-KVK.3.1.3.2": lambda p: p.edit_report("<xbrli:scenario>", "<xbrli:scenario><demicrobv:Note>x</demicrobv:Note>"),
    "NL-KVK.3.1.4.1": lambda p: p.edit_report(IDENT, IDENT.replace("12345678", "87654321")),
    "NL-KVK.3.1.4.2": lambda p: p.edit_report(IDENT, IDENT.replace("12345678", "87654321"), count=-1),
    "NL-KVK.3.2.1.1": lambda p: p.edit_report(
        'decimals="0" scale="0" id="ID0000130"', 'precision="4" scale="0" id="ID0000130"'
    ),
    "NL-KVK.3.2.3.1": lambda p: p.edit_report("transformation/2020-02-12", "transformation/2015-02-26"),
    "NL-KVK.3.2.4.1": lambda p: p.add_body(
        '<ix:nonFraction contextRef="context_2" name="bw2-titel9:Assets" unitRef="EUR"'
        ' decimals="0" id="dup1">5</ix:nonFraction>'
    ),
    "NL-KVK.3.2.4.2": lambda p: p.add_body(
        '<ix:nonNumeric contextRef="context_1" name="bw2-titel9:LegalEntityRegisteredOffice"'
        ' id="dup2">Elders</ix:nonNumeric>'
    ),
    "NL-KVK.3.2.7.1": lambda p: p.add_body(
        '<ix:nonNumeric contextRef="context_1" name="bw2-titel9:DocumentTitle" id="t1">Jansen &amp; Zn</ix:nonNumeric>'
    ),
    "NL-KVK.3.2.8.1": lambda p: p.edit_report(' id="ID000010"', ""),
    "NL-KVK.3.3.1.1": lambda p: p.add_body('<ix:footnote id="fn1" xml:lang="nl">Toelichting</ix:footnote>'),
    "NL-KVK.3.3.1.2": lambda p: (
        p.add_body('<ix:footnote id="fn1" xml:lang="de">Fussnote</ix:footnote>'),
        p.add_resources('<ix:relationship fromRefs="ID000010" toRefs="fn1" />'),
    ),
    "NL-KVK.3.3.1.3": lambda p: (
        p.add_body('<ix:footnote id="fn1" xml:lang="de">Fussnote</ix:footnote>'),
        p.add_resources('<ix:relationship fromRefs="ID000010" toRefs="fn1" />'),
    ),
    "NL-KVK.3.4.1.1": lambda p: p.add_body('<ix:tuple name="demicrobv:T" />'),
    "NL-KVK.3.4.1.2": lambda p: p.add_body('<ix:fraction name="demicrobv:F" contextRef="context_2" unitRef="EUR" />'),
    "NL-KVK.3.4.1.3": lambda p: p.add_hidden(
        '<ix:nonFraction contextRef="context_2" name="bw2-titel9:Provisions"'
        ' unitRef="EUR" decimals="0" id="h1">0</ix:nonFraction>'
    ),
    "NL-KVK.3.4.1.4": lambda p: p.edit_report('style="-ix-hidden:size-class"', 'style="font-weight:bold"'),
    "NL-KVK.3.4.1.5": lambda p: p.add_body('<span style="-ix-hidden:nothing">x</span>'),
    "NL-KVK.3.4.2.1": lambda p: p.edit_report("<head>", '<head><base href="https://example.com/" />'),
    "NL-KVK.3.5.1.1": lambda p: p.edit_report("<head>", "<head><script>alert(1)</script>"),
    "NL-KVK.3.5.1.2": _img("data:;base64," + base64.b64encode(PNG).decode()),
    "NL-KVK.3.5.1.3": _img("data:image/gif;base64," + base64.b64encode(PNG).decode()),
    "NL-KVK.3.5.1.4": lambda p: (
        p.files.__setitem__(p.report_path.rsplit("/", 1)[0] + "/logo.gif", PNG),
        p.add_body('<img src="logo.gif" alt="logo" />'),
    ),
    "NL-KVK.3.5.1.5": _img("data:image/bmp;base64,Qk0eAAAAAAAAABoAAAAMAAAAAQABAAEAGAAAAP8A"),
    "NL-KVK.3.5.1": _img("missing.png"),
    "NL-KVK.3.6.2.1": _img("https://example.com/logo.png"),
    "NL-KVK.3.5.2.1": lambda p: p.edit_report(' xml:lang="nl" xmlns:demicrobv', " xmlns:demicrobv"),
    "NL-KVK.3.5.2.2": lambda p: p.edit_report("<body>", '<body xml:lang="en">'),
    "NL-KVK.3.5.2.3": lambda p: p.add_body('<p xml:lang="es">Hola</p>'),
    "NL-KVK.3.5.3.1": lambda p: p.edit_report('id="ID000010"', 'id="ID000010" target="other"'),
    "NL-KVK.3.5.4.1": lambda p: p.edit_report(
        '<div class="first-page-subtitle">', '<div class="first-page-subtitle" style="display: none">'
    ),
    "NL-KVK.3.6.3.1": lambda p: p.rename_report("averyveryverylongbasename-2023-12-31-nl.html"),
    "NL-KVK.3.6.3.2": lambda p: p.rename_report("jaarrekening.html"),
    "NL-KVK.3.6.3.3": lambda p: p.rename_report("demicro+bv-2023-12-31-nl.html"),
    "NL-KVK.4.1.1.1": lambda p: p.files.pop(p.path_ending("_cal.xml")),
    "NL-KVK.4.1.1.2": lambda p: p.edit(
        "_cal.xml",
        "</link:linkbase>",
        '<link:presentationLink xlink:type="extended"'
        ' xlink:role="https://www.demicrobv.nl/role/BalanceSheet"/></link:linkbase>',
    ),
    "NL-KVK.4.1.2.1": lambda p: p.edit(".xsd", "kvk-annual-report-nlgaap-ext.xsd", "kvk-annual-report-other-gaap.xsd"),
    "NL-KVK.4.1.2.2": lambda p: p.edit(
        ".xsd", "kvk/2024-12-31/kvk-annual-report-nlgaap-ext.xsd", "kvk/2024-03-31/kvk-annual-report-nlgaap-ext.xsd"
    ),
    "NL-KVK.4.1.5.1": lambda p: p.files.__setitem__(
        p.path_ending("_lab.xml").replace("demicrobv-", "averyveryverylongbasename-"),
        p.files.pop(p.path_ending("_lab.xml")),
    ),
    "NL-KVK.4.1.5.2": lambda p: p.files.__setitem__(
        p.path_ending("_lab.xml").rsplit("/", 1)[0] + "/labels.xml", p.files.pop(p.path_ending("_lab.xml"))
    ),
    "NL-KVK.4.2.0.1": _element('<xs:element name="T" id="micro_T" substitutionGroup="xbrli:tuple" nillable="true"/>'),
    "NL-KVK.4.2.0.2": _element(
        '<xs:element name="F" id="micro_F" type="xbrli:fractionItemType"'
        ' substitutionGroup="xbrli:item" xbrli:periodType="instant"/>'
    ),
    "NL-KVK.4.2.1.1": lambda p: p.edit(
        "_def.xml",
        'arcrole/domain-member" xlink:from="d_core"',
        'arcrole/all" xlink:from="d_core" xbrldt:closed="true"',
    ),
    "NL-KVK.4.2.2.2": lambda p: p.edit(
        "_def.xml", 'arcrole/domain-member" xlink:from="d_core"', 'arcrole/dimension-domain" xlink:from="d_core"'
    ),
    "NL-KVK.4.2.3.1": _element(
        '<xs:element name="Ax" id="micro_Ax" substitutionGroup="xbrldt:dimensionItem"'
        ' type="xbrli:stringItemType" abstract="true" xbrldt:typedDomainRef="#x"'
        ' xbrli:periodType="duration"/>'
    ),
    "NL-KVK.4.3.2.1": lambda p: p.edit(
        "_def.xml",
        'xlink:from="a_core" xlink:to="a_ext"/>',
        'xlink:from="a_core" xlink:to="a_ext"/><link:definitionArc xlink:type="arc"'
        ' xlink:arcrole="http://xbrl.org/int/dim/arcrole/domain-member"'
        ' xlink:from="a_core" xlink:to="a_ext"/>',
    ),
    "NL-KVK.4.3.1.1": lambda p: p.edit(".xsd", 'abstract="false"', 'abstract="true"'),
    "NL-KVK.4.4.3.1": lambda p: p.edit(
        "_def.xml",
        'xlink:from="d_core" xlink:to="d_ext" order="99"/>',
        'xlink:from="d_core" xlink:to="d_ext" order="99"/><link:definitionArc xlink:type="arc"'
        ' xlink:arcrole="http://xbrl.org/int/dim/arcrole/dimension-default" xlink:from="d_core" xlink:to="d_ext"/>',
    ),
    "NL-KVK.4.4.4.1": lambda p: p.edit(
        "_pre.xml",
        'xlink:from="p_core" xlink:to="p_ext" order="99"/>',
        'xlink:from="p_core" xlink:to="p_ext" order="99"/><link:presentationArc xlink:type="arc"'
        ' xlink:arcrole="http://www.xbrl.org/2003/arcrole/parent-child" xlink:from="p_core" xlink:to="p_ext"'
        ' order="100"/>',
    ),
    "NL-KVK.IV-11": _element('<xs:complexType name="monetaryItemType"/>'),
    "NL-KVK.4.4.1.1": lambda p: p.edit(
        "_cal.xml",
        'xlink:arcrole="https://xbrl.org/2023/arcrole/summation-item"',
        'xlink:arcrole="http://www.xbrl.org/2003/arcrole/summation-item"',
    ),
    "NL-KVK.4.4.2.1": lambda p: p.edit(
        "_def.xml",
        'arcrole/domain-member" xlink:from="d_core"',
        'arcrole/notAll" xlink:from="d_core" xbrldt:contextElement="scenario"',
    ),
    "NL-KVK.4.4.2.2": lambda p: p.edit(
        "_def.xml",
        'arcrole/domain-member" xlink:from="d_core"',
        'arcrole/all" xlink:from="d_core" xbrldt:contextElement="scenario"',
    ),
    "NL-KVK.4.4.2.3": lambda p: p.edit(
        "_def.xml",
        'arcrole/domain-member" xlink:from="d_core"',
        'arcrole/notAll" xlink:from="d_core" xbrldt:contextElement="scenario" xbrldt:closed="true"',
    ),
    "NL-KVK.4.4.3.2": _element(
        '<xs:element name="Ax" id="micro_Ax" substitutionGroup="xbrldt:dimensionItem"'
        ' type="xbrli:stringItemType" abstract="true" xbrli:periodType="duration"/>'
    ),
    "NL-KVK.4.4.5.1": lambda p: p.edit(
        "_lab.xml",
        'xlink:role="http://www.xbrl.org/2003/role/label"',
        'xlink:role="https://www.demicrobv.nl/role/myLabel"',
    ),
    "NL-KVK.4.4.5.2": lambda p: p.edit(
        "_lab.xml",
        "</link:labelLink>",
        '<link:label xlink:type="resource" xlink:label="ext_lbl2"'
        ' xlink:role="http://www.xbrl.org/2003/role/label" xml:lang="nl">Nog een</link:label>'
        '<link:labelArc xlink:type="arc" xlink:arcrole="http://www.xbrl.org/2003/arcrole/'
        'concept-label" xlink:from="ext" xlink:to="ext_lbl2"/></link:labelLink>',
    ),
    "NL-KVK.5.1.3.1": lambda p: p.edit(
        ".html",
        'xlink:href="https://www.demicrobv.nl/xbrl/2023-12-31/demicrobv-2023-12-31.xsd"',
        'xlink:href="https://www.nltaxonomie.nl/kvk/2025-12-31/kvk-annual-report-other-gaap.xsd"',
    ),
    "NL-KVK.5.1.3.2": lambda p: p.edit(
        ".html",
        'xlink:href="https://www.demicrobv.nl/xbrl/2023-12-31/demicrobv-2023-12-31.xsd"',
        'xlink:href="https://www.nltaxonomie.nl/kvk/2024-03-31/kvk-annual-report-other-gaap.xsd"',
    ),
    "NL-KVK.7.1.4.2": _exemption("false", "403"),
    "NL-KVK.7.2.1.2": _exemption("false", "408"),
    "NL-KVK.Art3.html": lambda p: p.edit_report("<html", "<!DOCTYPE html><html"),
    "NL-KVK.Art3.xhtml": lambda p: p.edit_report(
        "<html",
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"'
        ' "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"><html',
    ),
    "NL-KVK.Art6a": _second_document("demicrobv-2023-12-31-en.html", "<p>Geen feiten</p>"),
    "NL-KVK.IV-4.2": lambda p: p.edit(".xsd", 'xbrli:balance="debit" ', ""),
    "NL-KVK.IV-4.3": lambda p: p.edit("_lab.xml", 'xml:lang="nl">Overige', 'xml:lang="en">Overige'),
    "NL-KVK.IV-5": lambda p: p.edit("_pre.xml", 'xlink:to="p_ext"', 'xlink:to="p_core"'),
    "NL-KVK.IV-6": lambda p: p.files.pop(p.path_ending("_cal.xml")),
    "NL-KVK.IV-8": lambda p: p.edit(
        "_lab.xml",
        'xlink:href="demicrobv-2023-12-31.xsd#micro_ReceivablesOther"',
        f'xlink:href="{CORE}#bw2-titel9_Assets"',
    ),
    "NL-KVK.IV-9-10": lambda p: p.edit(
        "_def.xml", 'xlink:from="a_core" xlink:to="a_ext"', 'xlink:from="a_core" xlink:to="a_core"'
    ),
}
FY2025 = {
    "NL-KVK.3.6.3.4",
    "NL-KVK.3.6.3.5",
    "NL-KVK.3.6.3.6",
    "NL-KVK.3.6.3.7",
}
FILING_DOC = (
    '<ix:nonNumeric contextRef="context_1" name="bw2-titel9:ChamberOfCommerceRegistrationNumber"'
    ' id="k1">12345678</ix:nonNumeric>'
)
WRONG_FILING_DOC = FILING_DOC + (
    '<ix:nonFraction contextRef="context_2" name="bw2-titel9:Assets" unitRef="EUR" decimals="0" id="k2">'
    "0</ix:nonFraction>"
)


@pytest.mark.parametrize("code", sorted(MUTATIONS))
def test_rule_fails_on_a_package_that_breaks_it(code: str) -> None:
    pkg = clean()
    MUTATIONS[code](pkg)
    found = run_checks(pkg.build(), pkg.bestandsnaam)
    hit = [f for f in found if f.code == code]
    assert hit, [f.code for f in found]
    assert all(f.message_nl and f.message_en for f in hit)


@pytest.mark.parametrize(
    "html",
    [
        '<a href="javascript:alert(1)">x</a>',
        '<a href=" &#106;ava&#x09;Script:alert(1)">x</a>',
        '<p onclick="alert(1)">x</p>',
        '<p xmlns:h="http://www.w3.org/1999/xhtml" h:onmouseover = \'x()\'>x</p>',
        '<form action="JAVASCRIPT:x()"><p>x</p></form>',
        '<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>',
        '<p xml:base="https://example.com/">x</p>',
    ],
)
def test_executable_code_in_every_disguise(html: str) -> None:
    pkg = clean()
    pkg.add_body(html)
    found = codes(pkg)
    assert "NL-KVK.3.5.1.1" in found or "NL-KVK.3.4.2.1" in found, found


@pytest.mark.parametrize("code", sorted(FY2025))
def test_fy2025_filing_document_rules(code: str) -> None:
    good = clean("2025-12-31")
    _second_document("kvk-2023-12-31-nl.html", FILING_DOC)(good)
    assert codes(good) == []
    bad = clean("2025-12-31")
    _second_document("zz-filing-2023-12-31-nl.html", WRONG_FILING_DOC)(bad)
    assert code in codes(bad)
    # The rule set of 2024-12-31 has no such rules.
    old = clean("2024-12-31")
    _second_document("zz-filing-2023-12-31-nl.html", WRONG_FILING_DOC)(old)
    assert code not in codes(old)


def test_other_gaap_reports_pass_with_the_current_other_entrypoint() -> None:
    pkg = clean("2025-12-31")
    _exemption("true", "403")(pkg)
    found = codes(pkg)
    assert not [c for c in found if c.startswith(("NL-KVK.5", "NL-KVK.7", "NL-KVK.4"))], found


def test_package_size_rule_uses_the_limit() -> None:
    data = clean().build()
    limits = Limits.default()
    assert not [f for f in read_report_package(data, "p.xbri", "application/zip", limits).findings]
    small = Limits(**{**vars(limits), "max_package_bytes": len(data) - 1})
    found = read_report_package(data, "p.xbri", "application/zip", small).findings
    assert [f.code for f in found] == ["NL-KVK.8.1.1.1"]
    assert limits.max_package_bytes == 100_000_000
