"""Builds classic NT (SBR) KVK instances for tests, with every part adjustable.

The defaults make a statement that passes every check: a small BV, adopted, figures
within the class, filed for the financial year given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from xml.sax.saxutils import escape

#: NT version, release folder, dictionary namespaces by financial year (kvk-filing.md 4.1).
NT_BY_YEAR = {
    2015: ("nt10", "20151209", "20151209", "20150301"),
    2019: ("nt14", "20191211", "20191211", "20190301"),
    2023: ("nt18", "20231213", "20231213", "20230301"),
    2024: ("nt19", "20241211", "20241211", "20240301"),
    2025: ("nt20", "20251210", "20251210", "20250301"),
}

CLASS_WORD = {"micro": "Micro", "small": "Klein", "medium": "Middelgroot", "large": "Groot"}
ENTRYPOINT_CLASS = {"micro": "micro", "small": "klein", "medium": "middelgroot", "large": "groot"}


@dataclass
class Figures:
    assets: int
    turnover: int
    employees: int


@dataclass
class Statement:
    kvk_number: str = "12345678"
    year: int = 2024
    size_class: str = "small"
    legal_form: str = "Besloten vennootschap met beperkte aansprakelijkheid"
    name: str = "Voorbeeld Handel B.V."
    current: Figures = field(default_factory=lambda: Figures(1_000_000, 2_000_000, 12))
    previous: Figures | None = field(default_factory=lambda: Figures(900_000, 1_800_000, 11))
    adopted: bool = True
    adoption_date: date | None = None  # default: 1 June after year end
    resubmission: bool = False
    lang: str = "nl"
    entrypoint_class: str | None = None  # default: the declared class
    publicatiestukken: bool = True
    identifier: str | None = None  # context identifier; default kvk_number
    scheme: str = "http://www.kvk.nl/kvk-id"
    with_income_statement: bool = False
    extra_facts: list[str] = field(default_factory=list)
    extra_contexts: list[str] = field(default_factory=list)
    raw_prefix: bytes = b""
    schema_ref: str | None = None
    omit: set[str] = field(default_factory=set)

    @property
    def start(self) -> date:
        return date(self.year, 1, 1)

    @property
    def end(self) -> date:
        return date(self.year, 12, 31)

    def entrypoint(self) -> str:
        nt, release, _, _ = NT_BY_YEAR.get(self.year, NT_BY_YEAR[2024])
        cls = ENTRYPOINT_CLASS[self.entrypoint_class or self.size_class]
        suffix = "-publicatiestukken" if self.publicatiestukken and cls != "groot" else ""
        return (
            f"http://www.nltaxonomie.nl/{nt}/kvk/{release}/entrypoints/"
            f"kvk-rpt-jaarverantwoording-{self.year}-nlgaap-{cls}{suffix}.xsd"
        )

    def build(self) -> bytes:
        nt, release, jenv_rel, sbr_rel = NT_BY_YEAR.get(self.year, NT_BY_YEAR[2024])
        family = "venj" if self.year < 2021 else "jenv"
        bw2 = f"http://www.nltaxonomie.nl/{nt}/{family}/{jenv_rel}/dictionary/{family}-bw2-data"
        kvk = f"http://www.nltaxonomie.nl/{nt}/kvk/{release}/dictionary/kvk-data"
        ncd = f"http://www.nltaxonomie.nl/{nt}/sbr/{sbr_rel}/dictionary/nl-common-data"
        ident = self.identifier or self.kvk_number
        prev_start = date(self.year - 1, 1, 1)
        prev_end = date(self.year - 1, 12, 31)
        adoption_date = self.adoption_date or date(self.year + 1, 6, 1)

        def ctx(cid: str, period: str) -> str:
            return (
                f'<xbrli:context id="{cid}"><xbrli:entity><xbrli:identifier scheme="{self.scheme}">{ident}'
                f"</xbrli:identifier></xbrli:entity><xbrli:period>{period}</xbrli:period></xbrli:context>"
            )

        contexts = [
            ctx("FY", f"<xbrli:startDate>{self.start}</xbrli:startDate><xbrli:endDate>{self.end}</xbrli:endDate>"),
            ctx("FY_end", f"<xbrli:instant>{self.end}</xbrli:instant>"),
        ]

        def fact(name: str, context: str, value: object, unit: str | None = None, decimals: str | None = None) -> str:
            attrs = f' contextRef="{context}"'
            if unit:
                attrs += f' unitRef="{unit}" decimals="{decimals}"'
            return f"<{name}{attrs}>{value}</{name}>"

        cur, prev = self.current, self.previous
        facts = [
            fact("nl-cd:ChamberOfCommerceRegistrationNumber", "FY", self.kvk_number),
            fact("nl-cd:LegalEntityName", "FY", escape(self.name)),
            fact("bw2:LegalEntityLegalForm", "FY", escape(self.legal_form)),
            fact("bw2:LegalEntityRegisteredOffice", "FY", "Amsterdam"),
            fact("kvk-i:LegalSizeCriteriaClassification", "FY", CLASS_WORD[self.size_class]),
            fact("bw2:FinancialReportingPeriodCurrentStartDate", "FY", self.start),
            fact("bw2:FinancialReportingPeriodCurrentEndDate", "FY", self.end),
            fact("bw2:DocumentAdoptionStatus", "FY", "Ja" if self.adopted else "Nee"),
            fact("bw2:Assets", "FY_end", cur.assets, "EUR", "0"),
            fact("bw2:NetRevenue", "FY", cur.turnover, "EUR", "0"),
            fact("bw2:AverageNumberEmployees", "FY", cur.employees, "FTE", "INF"),
        ]
        if self.adopted:
            facts.append(fact("bw2:DocumentAdoptionDate", "FY", adoption_date))
        if prev is not None:
            contexts += [
                ctx("PY", f"<xbrli:startDate>{prev_start}</xbrli:startDate><xbrli:endDate>{prev_end}</xbrli:endDate>"),
                ctx("PY_end", f"<xbrli:instant>{prev_end}</xbrli:instant>"),
            ]
            facts += [
                fact("bw2:FinancialReportingPeriodPreviousStartDate", "FY", prev_start),
                fact("bw2:FinancialReportingPeriodPreviousEndDate", "FY", prev_end),
                fact("bw2:Assets", "PY_end", prev.assets, "EUR", "0"),
                fact("bw2:NetRevenue", "PY", prev.turnover, "EUR", "0"),
                fact("bw2:AverageNumberEmployees", "PY", prev.employees, "FTE", "INF"),
            ]
        if self.resubmission:
            facts.append(fact("kvk-i:DocumentResubmissionDueToUnsurmountableInaccuracies", "FY", "Ja"))
        if self.with_income_statement or self.size_class in ("medium", "large"):
            facts.append(fact("bw2:OperatingResult", "FY", cur.turnover // 10, "EUR", "0"))
        if self.size_class in ("medium", "large"):
            facts.append(fact("bw2:ManagementBoardReport", "FY", "Het bestuur verslaat over het boekjaar."))
        facts = [f for f in facts if not any(f"{o}" in f.split(">", 1)[0] for o in self.omit)]
        facts += self.extra_facts
        contexts += self.extra_contexts
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<xbrli:xbrl xmlns:xbrli="http://www.xbrl.org/2003/instance" '
            'xmlns:link="http://www.xbrl.org/2003/linkbase" xmlns:xlink="http://www.w3.org/1999/xlink" '
            'xmlns:iso4217="http://www.xbrl.org/2003/iso4217" '
            f'xmlns:bw2="{bw2}" xmlns:kvk-i="{kvk}" xmlns:nl-cd="{ncd}" xml:lang="{self.lang}">\n'
            f'<link:schemaRef xlink:type="simple" xlink:href="{self.schema_ref or self.entrypoint()}"/>\n'
            + "\n".join(contexts)
            + '\n<xbrli:unit id="EUR"><xbrli:measure>iso4217:EUR</xbrli:measure></xbrli:unit>'
            + '\n<xbrli:unit id="FTE"><xbrli:measure>xbrli:pure</xbrli:measure></xbrli:unit>\n'
            + "\n".join(facts)
            + "\n</xbrli:xbrl>\n"
        )
        return self.raw_prefix + body.encode("utf-8")


def auditors_report(kvk_number: str = "12345678") -> tuple[str, bytes]:
    """A stand-in accountantsverklaring bijlage (its own XBRL instance in SBR Assurance)."""
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?><xbrli:xbrl xmlns:xbrli="http://www.xbrl.org/2003/instance" '
        'xmlns:link="http://www.xbrl.org/2003/linkbase" xmlns:xlink="http://www.w3.org/1999/xlink" xml:lang="nl">'
        '<link:schemaRef xlink:type="simple" xlink:href="http://www.nltaxonomie.nl/nt19/rpo/20241211/entrypoints/'
        'rpo-rpt-accountantsverklaring.xsd"/></xbrli:xbrl>'
    )
    return "accountantsverklaring.xbrl", doc.encode()


def padded(statement: bytes, target_bytes: int) -> bytes:
    """A valid statement made big with many allowed explanation facts (checking it takes
    time in proportion to its size)."""
    note = "Toelichting op de jaarrekening. " * 8
    facts, size, i = [], len(statement), 0
    while size < target_bytes:
        fact = f'<bw2:DisclosureNote{i} contextRef="FY">{note}</bw2:DisclosureNote{i}>\n'
        facts.append(fact)
        size += len(fact)
        i += 1
    return statement.replace(b"</xbrli:xbrl>", "".join(facts).encode() + b"</xbrli:xbrl>")
