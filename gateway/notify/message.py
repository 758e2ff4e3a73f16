"""The outcome email: plain text and HTML, Dutch first, then English."""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from gateway.checks.base import Finding
from gateway.wus.envelope import utc_now

OUTCOME_TEXT = {
    "accepted": ("Uw jaarrekening is aangenomen", "Your annual statement has been accepted"),
    "rejected": ("Uw jaarrekening is afgekeurd", "Your annual statement has been rejected"),
    "error": (
        "Uw jaarrekening kon door een technische fout niet worden beoordeeld",
        "Your annual statement could not be assessed because of a technical error",
    ),
}


@dataclass
class Outcome:
    kenmerk: str
    run: int
    outcome: str
    aanleverkenmerk: str | None
    kvk_number: str | None
    final_status: str
    findings: list[Finding]


def build_message(o: Outcome, sender: str, recipient: str, domain: str = "gateway.invalid") -> EmailMessage:
    nl_title, en_title = OUTCOME_TEXT[o.outcome]
    msg = EmailMessage()
    msg["Subject"] = f"{nl_title} / {en_title} — kenmerk {o.kenmerk}"
    msg["From"] = sender
    msg["To"] = recipient
    # One Message-ID per outcome: should a mail ever be sent twice (a crash between the
    # SMTP answer and our bookkeeping), the receiving side sees the same message.
    msg["Message-ID"] = f"<{o.kenmerk}.{o.run}@{domain}>"
    msg["X-Gateway-Kenmerk"] = o.kenmerk
    msg["X-Gateway-Outcome"] = o.outcome
    msg["Date"] = format_datetime(utc_now())
    msg.set_content(_text(o, nl_title, en_title))
    msg.add_alternative(_html(o, nl_title, en_title), subtype="html")
    return msg


def _rows(o: Outcome, lang: str) -> list[tuple[str, str]]:
    labels = {
        "nl": ("Kenmerk", "Uw aanleverkenmerk", "KVK-nummer", "Status"),
        "en": ("Reference (kenmerk)", "Your reference (aanleverkenmerk)", "KVK number", "Status"),
    }[lang]
    return [
        (labels[0], o.kenmerk),
        (labels[1], o.aanleverkenmerk or "-"),
        (labels[2], o.kvk_number or "-"),
        (labels[3], o.final_status),
    ]


def _finding_line(f: Finding, lang: str) -> str:
    text = f.message_nl if lang == "nl" else f.message_en
    sev = {"nl": {"error": "fout", "warning": "waarschuwing"}, "en": {"error": "error", "warning": "warning"}}[lang][
        f.severity
    ]
    where = f" ({f.location})" if f.location else ""
    return f"[{f.code}] {sev}: {text}{where}"


def _text(o: Outcome, nl_title: str, en_title: str) -> str:
    out: list[str] = []
    for lang, title, heading, none in (
        ("nl", nl_title, "Bevindingen", "Geen bevindingen."),
        ("en", en_title, "Findings", "No findings."),
    ):
        out.append(title + ".")
        out.append("")
        out.extend(f"{k}: {v}" for k, v in _rows(o, lang))
        out.append("")
        out.append(heading + ":")
        if o.findings:
            out.extend(f"- {_finding_line(f, lang)}" for f in o.findings)
        else:
            out.append(none)
        out.append("")
        out.append("-" * 60)
        out.append("")
    return "\n".join(out)


def _html(o: Outcome, nl_title: str, en_title: str) -> str:
    parts = ["<!doctype html><html><body>"]
    for lang, title, heading, none in (
        ("nl", nl_title, "Bevindingen", "Geen bevindingen."),
        ("en", en_title, "Findings", "No findings."),
    ):
        parts.append(f'<div lang="{lang}"><h2>{html.escape(title)}</h2><table>')
        parts.extend(
            f"<tr><th align=left>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in _rows(o, lang)
        )
        parts.append(f"</table><h3>{html.escape(heading)}</h3>")
        if o.findings:
            parts.append("<ul>")
            parts.extend(f"<li>{html.escape(_finding_line(f, lang))}</li>" for f in o.findings)
            parts.append("</ul>")
        else:
            parts.append(f"<p>{html.escape(none)}</p>")
        parts.append("</div><hr>")
    parts.append("</body></html>")
    return "".join(parts)
