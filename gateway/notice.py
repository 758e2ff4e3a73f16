"""The outcome notice: what the sender is told about a run, in Dutch first, then English.

Pure text, no I/O. The mail (gateway/notify/message.py) sends it as its plain-text part and
renders the same rows as HTML; the OphaalService hands the same text out as an attachment of
the bericht (gateway/intake/outcomes.py). Text that came from outside (the aanleverkenmerk,
a value quoted in a finding) is passed through ``display.safe``, so control and
bidirectional characters are shown as escapes and cannot reorder what the reader sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.display import safe
from gateway.domain import Finding

OUTCOME_TEXT = {
    "accepted": ("Uw jaarrekening is aangenomen", "Your annual statement has been accepted"),
    "rejected": ("Uw jaarrekening is afgekeurd", "Your annual statement has been rejected"),
    "error": (
        "Uw jaarrekening kon door een technische fout niet worden beoordeeld",
        "Your annual statement could not be assessed because of a technical error",
    ),
}

_LABELS = {
    "nl": ("Kenmerk", "Uw aanleverkenmerk", "KVK-nummer", "Status"),
    "en": ("Reference (kenmerk)", "Your reference (aanleverkenmerk)", "KVK number", "Status"),
}
_SEVERITY = {"nl": {"error": "fout", "warning": "waarschuwing"}, "en": {"error": "error", "warning": "warning"}}


@dataclass(frozen=True)
class Notice:
    """One run's outcome as the sender is told it."""

    kenmerk: str
    run: int
    outcome: str
    aanleverkenmerk: str | None
    kvk_number: str | None
    final_status: str
    findings: list[Finding]


@dataclass(frozen=True)
class Section:
    """The notice in one language: its title, the rows about the submission, the findings."""

    lang: str
    title: str
    heading: str
    rows: list[tuple[str, str]]
    findings: list[str]
    no_findings: str


def titles(n: Notice) -> tuple[str, str]:
    """The Dutch and the English title of the outcome."""
    return OUTCOME_TEXT[n.outcome]


def finding_line(f: Finding, lang: str) -> str:
    text = f.message_nl if lang == "nl" else f.message_en
    where = f" ({f.location})" if f.location else ""
    return safe(f"[{f.code}] {_SEVERITY[lang][f.severity]}: {text}{where}")


def sections(n: Notice) -> list[Section]:
    """The Dutch section, then the English one."""
    nl_title, en_title = titles(n)
    out = []
    for lang, title, heading, none in (
        ("nl", nl_title, "Bevindingen", "Geen bevindingen."),
        ("en", en_title, "Findings", "No findings."),
    ):
        labels = _LABELS[lang]
        values = (n.kenmerk, n.aanleverkenmerk or "-", n.kvk_number or "-", n.final_status)
        rows = [(label, safe(value)) for label, value in zip(labels, values, strict=True)]
        out.append(Section(lang, title, heading, rows, [finding_line(f, lang) for f in n.findings], none))
    return out


def text(n: Notice) -> str:
    """The notice as plain text, one line per row and finding."""
    out: list[str] = []
    for s in sections(n):
        out += [s.title + ".", ""]
        out += [f"{k}: {v}" for k, v in s.rows]
        out += ["", s.heading + ":"]
        out += [f"- {line}" for line in s.findings] or [s.no_findings]
        out += ["", "-" * 60, ""]
    return "\n".join(out)
