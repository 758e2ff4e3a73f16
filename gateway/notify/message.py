"""The outcome email: the notice (gateway/notice.py) as plain text and as HTML, Dutch first,
then English."""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import format_datetime

from gateway.domain import utc_now
from gateway.notice import Notice, sections, text, titles


def build_message(n: Notice, sender: str, recipient: str, domain: str = "gateway.invalid") -> EmailMessage:
    nl_title, en_title = titles(n)
    msg = EmailMessage()
    msg["Subject"] = f"{nl_title} / {en_title} — kenmerk {n.kenmerk}"
    msg["From"] = sender
    msg["To"] = recipient
    # One Message-ID per outcome: should a mail ever be sent twice (a crash between the
    # SMTP answer and our bookkeeping), the receiving side sees the same message.
    msg["Message-ID"] = f"<{n.kenmerk}.{n.run}@{domain}>"
    msg["X-Gateway-Kenmerk"] = n.kenmerk
    msg["X-Gateway-Outcome"] = n.outcome
    msg["Date"] = format_datetime(utc_now())
    msg.set_content(text(n))
    msg.add_alternative(_html(n), subtype="html")
    return msg


def _html(n: Notice) -> str:
    parts = ["<!doctype html><html><body>"]
    for s in sections(n):
        parts.append(f'<div lang="{s.lang}"><h2>{html.escape(s.title)}</h2><table>')
        parts.extend(f"<tr><th align=left>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in s.rows)
        parts.append(f"</table><h3>{html.escape(s.heading)}</h3>")
        if s.findings:
            parts.append("<ul>")
            parts.extend(f"<li>{html.escape(line)}</li>" for line in s.findings)
            parts.append("</ul>")
        else:
            parts.append(f"<p>{html.escape(s.no_findings)}</p>")
        parts.append("</div><hr>")
    parts.append("</body></html>")
    return "".join(parts)
