"""KVK report packages for tests, built at test time from the real examples in
``../shared/ixbrl/`` (see its SOURCES.md).

The examples use the 2024-03-31 pilot taxonomy. ``Package.current(version)`` points one at a
current KVK taxonomy the way a filer updating it would: the extension schema imports the
current nlgaap-ext entrypoint, the report uses the current bw2-titel9/rj/kvk namespaces, the
size class becomes the ``kvk:LegalEntitySize`` member (kept in ``ix:hidden`` and shown through
``-ix-hidden``, as SCOPE writes it), and the klein example's open hypercube is closed.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from tests.support.gateway import Stack
from tests.support.outcome import Outcome
from tests.support.shared import shared
from tests.support.wus_client import WusClient

MICRO = "nba-micro-nl-inrichtingsjaarrekening-2023"
KLEIN = "nba-klein-nl-commercieel-inrichtingsjaarrekening-2023"
CLASS_MEMBER = {MICRO: "Micro", KLEIN: "Small"}
PILOT = "2024-03-31"
BERICHTSOORT = "jaarrekening_ixbrl_esd"
MIME_TYPE = "application/zip"
WIDER_NARROWER = "http://www.esma.europa.eu/xbrl/esef/arcrole/wider-narrower"
CONCEPT = (
    '<xs:element name="ReceivablesOther" id="micro_ReceivablesOther" type="xbrli:monetaryItemType"'
    ' substitutionGroup="xbrli:item" xbrli:balance="debit" xbrli:periodType="instant" nillable="true"'
    ' abstract="false"/>'
)


def example_zip(name: str) -> bytes:
    """The example exactly as SBR-NL's CI zipped it."""
    return shared("ixbrl", f"{name}.zip").read_bytes()


@dataclass
class Package:
    """A report package as files (paths inside the zip, top folder included)."""

    name: str
    files: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def example(cls, name: str) -> Package:
        with zipfile.ZipFile(io.BytesIO(example_zip(name))) as zf:
            files = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
        return cls(name, files)

    @property
    def report_path(self) -> str:
        return next(p for p in self.files if "/reports/" in p and p.endswith(".html"))

    def path_ending(self, suffix: str) -> str:
        return next(p for p in self.files if p.endswith(suffix))

    @property
    def report(self) -> str:
        return self.files[self.report_path].decode("utf-8")

    @report.setter
    def report(self, text: str) -> None:
        self.files[self.report_path] = text.encode("utf-8")

    def edit(self, suffix: str, old: str, new: str, count: int = 1) -> Package:
        """Replace text in the file whose path ends in ``suffix``; the text must be there."""
        path = self.path_ending(suffix)
        text = self.files[path].decode("utf-8")
        assert old in text, f"{old!r} not in {path}"
        self.files[path] = text.replace(old, new, count if count > 0 else -1).encode("utf-8")
        return self

    def edit_report(self, old: str, new: str, count: int = 1) -> Package:
        return self.edit(self.report_path, old, new, count)

    def current(self, version: str = "2024-12-31", kvk_number: str | None = None) -> Package:
        bw2 = "bw2-titel9" if version != PILOT else "jenv"
        for path in list(self.files):
            if path.endswith((".html", ".xsd", ".xml")):
                text = self.files[path].decode("utf-8")
                text = text.replace(
                    f"https://www.nltaxonomie.nl/jenv/{PILOT}/bw2-titel9-cor",
                    f"https://www.nltaxonomie.nl/{bw2}/{version}/bw2-titel9-cor",
                )
                text = text.replace(
                    f"https://www.nltaxonomie.nl/rj/{PILOT}/", f"https://www.nltaxonomie.nl/rj/{version}/"
                )
                text = text.replace(
                    f"https://www.nltaxonomie.nl/kvk/{PILOT}/", f"https://www.nltaxonomie.nl/kvk/{version}/"
                )
                self.files[path] = text.encode("utf-8")
        member = CLASS_MEMBER[self.name]
        flag = f'name="kvk:LegalEntitySize{member}" format="ixt:fixed-true" id="ID000050"></ix:nonNumeric>'
        report = self.report
        start = report.index("<ix:nonNumeric", report.index(flag) - 80)
        end = report.index(flag) + len(flag)
        report = report[:start] + f'<span style="-ix-hidden:size-class">{member}</span>' + report[end:]
        hidden = (
            '<ix:hidden><ix:nonNumeric contextRef="context_1" name="kvk:LegalEntitySize" id="size-class">'
            f"https://www.nltaxonomie.nl/kvk/{version}/kvk-cor#LegalEntitySize{member}Member</ix:nonNumeric></ix:hidden>"
        )
        report = report.replace("</ix:resources>", "</ix:resources>" + hidden, 1)
        self.report = report
        if self.name == KLEIN:
            self.edit(
                "_def.xml",
                'xbrldt:contextElement="scenario"/>',
                'xbrldt:contextElement="scenario" xbrldt:closed="true"/>',
            )
        if kvk_number is not None:
            self.edit_report(">12345678<", f">{kvk_number}<", count=-1)
        return self

    def rename_report(self, name: str) -> Package:
        old = self.report_path
        self.files[old.rsplit("/", 1)[0] + "/" + name] = self.files.pop(old)
        return self

    def clean(self) -> Package:
        """Also follow the report naming convention (the examples do not: NL-KVK.3.6.3.2)."""
        return self.rename_report(
            "demicrobv-2023-12-31-nl.html" if self.name == MICRO else "dekleinebv-2023-12-31-nl.html"
        )

    def add_body(self, html: str) -> Package:
        return self.edit_report('<div class="content">', '<div class="content">' + html)

    def add_hidden(self, html: str) -> Package:
        return self.edit_report("<ix:hidden>", "<ix:hidden>" + html)

    def add_resources(self, xml: str) -> Package:
        return self.edit_report("</ix:resources>", xml + "</ix:resources>")

    def with_extension_concept(self, version: str = "2024-12-31") -> Package:
        """A well-formed extension concept (micro example): a debit monetary item with a Dutch
        standard label, in a presentation and a definition tree, anchored to a core concept,
        and tagged in the report."""
        core = f"https://www.nltaxonomie.nl/bw2-titel9/{version}/bw2-titel9-cor.xsd"
        xsd = "demicrobv-2023-12-31.xsd"
        self.edit(".xsd", "</xs:schema>", CONCEPT + "</xs:schema>")
        self.edit(
            "_lab.xml",
            '<link:labelLink xlink:type="extended" xlink:role="http://www.xbrl.org/2003/role/link"/>',
            '<link:labelLink xlink:type="extended" xlink:role="http://www.xbrl.org/2003/role/link">'
            f'<link:loc xlink:type="locator" xlink:href="{xsd}#micro_ReceivablesOther" xlink:label="ext"/>'
            '<link:label xlink:type="resource" xlink:label="ext_lbl" xlink:role="http://www.xbrl.org/2003/role/label"'
            ' xml:lang="nl">Overige vorderingen</link:label>'
            '<link:labelArc xlink:type="arc" xlink:arcrole="http://www.xbrl.org/2003/arcrole/concept-label"'
            ' xlink:from="ext" xlink:to="ext_lbl"/></link:labelLink>',
        )
        pre = self.files[self.path_ending("_pre.xml")].decode()
        start = pre.index("<link:presentationLink ")
        end = pre.index(">", start) + 1
        self.edit(
            "_pre.xml",
            pre[start:end],
            pre[start:end]
            + f'<link:loc xlink:type="locator" xlink:href="{core}#bw2-titel9_AssetsCurrent" xlink:label="p_core"/>'
            f'<link:loc xlink:type="locator" xlink:href="{xsd}#micro_ReceivablesOther" xlink:label="p_ext"/>'
            '<link:presentationArc xlink:type="arc" xlink:arcrole="http://www.xbrl.org/2003/arcrole/parent-child"'
            ' xlink:from="p_core" xlink:to="p_ext" order="99"/>',
        )
        self.edit(
            "_def.xml",
            'xlink:role="https://www.nltaxonomie.nl/kvk/role/items-separate-fs">',
            'xlink:role="https://www.nltaxonomie.nl/kvk/role/items-separate-fs">'
            f'<link:loc xlink:type="locator" xlink:href="{core}#bw2-titel9_AssetsCurrent" xlink:label="d_core"/>'
            f'<link:loc xlink:type="locator" xlink:href="{xsd}#micro_ReceivablesOther" xlink:label="d_ext"/>'
            '<link:definitionArc xlink:type="arc" xlink:arcrole="http://xbrl.org/int/dim/arcrole/domain-member"'
            ' xlink:from="d_core" xlink:to="d_ext" order="99"/>',
        )
        self.edit(
            "_def.xml",
            "</link:linkbase>",
            '<link:definitionLink xlink:type="extended" xlink:role="https://www.demicrobv.nl/role/Anchoring">'
            f'<link:loc xlink:type="locator" xlink:href="{core}#bw2-titel9_AssetsCurrentOther" xlink:label="a_core"/>'
            f'<link:loc xlink:type="locator" xlink:href="{xsd}#micro_ReceivablesOther" xlink:label="a_ext"/>'
            f'<link:definitionArc xlink:type="arc" xlink:arcrole="{WIDER_NARROWER}"'
            ' xlink:from="a_core" xlink:to="a_ext"/>'
            "</link:definitionLink></link:linkbase>",
        )
        self.add_body(
            '<p><ix:nonFraction contextRef="context_2" name="demicrobv:ReceivablesOther" unitRef="EUR" decimals="0"'
            ' format="ixt:num-dot-decimal" id="ext1">1.000</ix:nonFraction></p>'
        )
        return self

    def build(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for path, data in self.files.items():
                zf.writestr(path, data)
        return out.getvalue()

    @property
    def bestandsnaam(self) -> str:
        return f"{self.name}.xbri"


def zip_of(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return out.getvalue()


def file_package(stack: Stack, client: WusClient, data: bytes, bestandsnaam: str, kvk: str) -> Outcome:
    """Submit a report package as a filer would (berichtsoort jaarrekening_ixbrl_esd, the
    .xbri zip in berichtInhoud as application/zip), wait for the final status and the mail."""
    response = client.aanlever.service.aanleveren(
        berichtsoort=BERICHTSOORT,
        aanleverkenmerk=f"IX-{kvk}",
        identiteitBelanghebbende={"nummer": kvk, "type": "KvK"},
        rolBelanghebbende="Bedrijf",
        berichtInhoud={"mimeType": MIME_TYPE, "bestandsnaam": bestandsnaam, "inhoud": data},
        autorisatieAdres="http://geenausp.nl",
    )
    statuses = stack.wait_final(client, response.kenmerk)
    last = statuses[-1]
    (mail,) = stack.smtp.wait_for(response.kenmerk)
    foutcode = last.statusFoutcode.foutcode if last.statusFoutcode is not None else None
    assert [s.statuscode for s in statuses][:4] == ["105", "100", "110", "200"]
    return Outcome(response.kenmerk, last.statuscode, foutcode, last.statusdetails or "", mail)
