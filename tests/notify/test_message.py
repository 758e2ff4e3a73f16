"""The outcome mail built on its own (gateway.notify.message.build_message), read back the
way a mail client reads it: from the bytes that would go over SMTP."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default

import pytest

from gateway import notice
from gateway.domain import Finding
from gateway.notice import Notice
from gateway.notify import message
from gateway.notify.message import build_message

FINDINGS = [
    Finding("FG-001", "error", "Het balanstotaal ontbreekt", "The balance sheet total is missing", "ctx-2024"),
    Finding("FG-017", "warning", "Let op: géén toelichting", "Note: no explanatory notes", None),
]


def _notice(**changes: object) -> Notice:
    fields: dict[str, object] = {
        "kenmerk": "k-1a2b",
        "run": 1,
        "outcome": "rejected",
        "aanleverkenmerk": "JR-2024-001",
        "kvk_number": "12345678",
        "final_status": "311",
        "findings": FINDINGS,
    }
    fields.update(changes)
    return Notice(**fields)  # type: ignore[arg-type]


def _received(n: Notice) -> EmailMessage:
    sent = build_message(n, "gateway@example.nl", "filer@example.nl")
    parsed = email.message_from_bytes(sent.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _part(msg: EmailMessage, kind: str) -> str:
    body = msg.get_body((kind,))
    assert body is not None
    return str(body.get_content())


def test_findings_are_listed_in_dutch_then_in_english() -> None:
    msg = _received(_notice())
    text = _part(msg, "plain")
    nl, en = text.index("Bevindingen:"), text.index("Findings:")
    assert nl < en
    assert "- [FG-001] fout: Het balanstotaal ontbreekt (ctx-2024)" in text[nl:en]
    assert "- [FG-017] waarschuwing: Let op: géén toelichting" in text[nl:en]
    assert "- [FG-001] error: The balance sheet total is missing (ctx-2024)" in text[en:]
    assert "- [FG-017] warning: Note: no explanatory notes" in text[en:]
    assert "Uw aanleverkenmerk: JR-2024-001" in text and "Your reference (aanleverkenmerk): JR-2024-001" in text
    page = _part(msg, "html")
    dutch, english = page.split('<div lang="en">')
    assert '<div lang="nl">' in dutch and "<li>[FG-001] fout: Het balanstotaal ontbreekt (ctx-2024)</li>" in dutch
    assert "<li>[FG-001] error: The balance sheet total is missing (ctx-2024)</li>" in english


def test_without_findings_both_languages_say_so() -> None:
    text = _part(_received(_notice(outcome="accepted", final_status="500", findings=[])), "plain")
    assert "Bevindingen:\nGeen bevindingen." in text and "Findings:\nNo findings." in text


@pytest.mark.parametrize(
    ("outcome", "subject"),
    [
        ("accepted", "Uw jaarrekening is aangenomen / Your annual statement has been accepted — kenmerk k-1a2b"),
        ("rejected", "Uw jaarrekening is afgekeurd / Your annual statement has been rejected — kenmerk k-1a2b"),
        (
            "error",
            "Uw jaarrekening kon door een technische fout niet worden beoordeeld / "
            "Your annual statement could not be assessed because of a technical error — kenmerk k-1a2b",
        ),
    ],
)
def test_the_subject_is_dutch_then_english(outcome: str, subject: str) -> None:
    assert build_message(_notice(outcome=outcome), "gateway@example.nl", "filer@example.nl")["Subject"] == subject
    msg = _received(_notice(outcome=outcome))
    # Folded over two lines on the wire; Python's parser may read a space twice at the fold.
    assert " ".join(msg["Subject"].split()) == subject
    assert msg["X-Gateway-Outcome"] == outcome and msg["X-Gateway-Kenmerk"] == "k-1a2b"
    assert _part(msg, "plain").startswith(subject.split(" / ")[0] + ".")


def test_control_and_bidi_characters_from_the_sender_are_shown_as_escapes() -> None:
    # A right-to-left override that would show "JR-fdp.exe" as "JR-exe.pdf", a terminal
    # escape, and a line break trying to start a line of its own.
    sneaky = "JR-\u202efdp.exe\x1b[31m\r\nStatus: 500\u2066"
    finding = Finding("FG-002", "error", "Waarde \u202eabc\u202c onjuist", "Value \x00abc wrong", None)
    msg = _received(_notice(aanleverkenmerk=sneaky, findings=[finding]))
    raw = msg.as_string()
    for ch in ("\u202e", "\u202c", "\u2066", "\x1b", "\x00"):
        assert ch not in raw
    text = _part(msg, "plain")
    assert "Uw aanleverkenmerk: JR-\\u202efdp.exe\\x1b[31m\\x0d\\x0aStatus: 500\\u2066\n" in text
    assert "\nStatus: 500" not in text
    assert "[FG-002] fout: Waarde \\u202eabc\\u202c onjuist" in text
    assert "[FG-002] error: Value \\x00abc wrong" in text
    page = _part(msg, "html")
    assert "<td>JR-\\u202efdp.exe\\x1b[31m\\x0d\\x0aStatus: 500\\u2066</td>" in page


def test_html_is_escaped() -> None:
    finding = Finding("FG-003", "error", "<b>vet</b> & meer", 'say "hi" <img src=x onerror=alert(1)>', "a<b")
    msg = _received(_notice(aanleverkenmerk="<script>alert(1)</script>", findings=[finding]))
    page = _part(msg, "html")
    assert "<script>" not in page and "<img" not in page and "<b>vet" not in page
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page
    assert "[FG-003] fout: &lt;b&gt;vet&lt;/b&gt; &amp; meer (a&lt;b)" in page
    assert "say &quot;hi&quot; &lt;img src=x onerror=alert(1)&gt;" in page
    # The plain-text part is not HTML: it shows the text as it is.
    assert "Uw aanleverkenmerk: <script>alert(1)</script>" in _part(msg, "plain")


def test_the_message_id_is_the_same_for_a_kenmerk_and_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mail sent again after a crash carries the same Message-ID, so the receiver can tell."""
    first = build_message(_notice(), "gateway@example.nl", "filer@example.nl", domain="gw.example.nl")
    monkeypatch.setattr(message, "utc_now", lambda: datetime(2031, 1, 1, tzinfo=UTC))
    again = build_message(_notice(), "gateway@example.nl", "filer@example.nl", domain="gw.example.nl")
    assert first["Message-ID"] == again["Message-ID"] == "<k-1a2b.1@gw.example.nl>"
    assert first["Date"] != again["Date"]
    replay = build_message(_notice(run=2), "gateway@example.nl", "filer@example.nl", domain="gw.example.nl")
    other = build_message(_notice(kenmerk="k-9z"), "gateway@example.nl", "filer@example.nl", domain="gw.example.nl")
    assert len({first["Message-ID"], replay["Message-ID"], other["Message-ID"]}) == 3


def test_the_plain_text_part_is_the_notice_text() -> None:
    """The OphaalService hands out notice.text as the mail's text; the mail must say the same,
    also with non-ASCII text and characters that were escaped."""
    n = _notice(aanleverkenmerk="JR\u202e-ü", findings=[*FINDINGS, Finding("X-1", "warning", "é\x85", "e", "1:2")])
    assert _part(_received(n), "plain") == notice.text(n)
