"""Server-rendered HTML for the ZDJ pages: one layout, every value escaped, control and
bidirectional characters neutralised so that no name or finding can reorder what is shown."""

from __future__ import annotations

import html
import re
import unicodedata

_UNSAFE = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def esc(value: object) -> str:
    text = "" if value is None else str(value)
    text = _UNSAFE.sub("\ufffd", unicodedata.normalize("NFC", text))
    return html.escape(text, quote=True)


STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1b2733}
header{background:#00526e;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}
main{max-width:880px;margin:24px auto;background:#fff;padding:24px;border-radius:6px}
label{display:block;margin-top:12px;font-weight:600}input[type=text],input[type=password],input[type=email]
{width:100%;padding:8px;font-size:16px;box-sizing:border-box}button{margin-top:16px;padding:8px 16px;font-size:16px;
background:#00526e;color:#fff;border:0;border-radius:4px;cursor:pointer}button.link{background:#8a1c1c}
.error{background:#fde8e8;border-left:4px solid #b00020;padding:8px 12px;margin:12px 0}
.notice{background:#e8f4fd;border-left:4px solid #00526e;padding:8px 12px;margin:12px 0}
.ok{color:#1b6e1b;font-weight:700}.bad{color:#b00020;font-weight:700}
table{border-collapse:collapse;width:100%;margin-top:12px}td,th{border-bottom:1px solid #dde;padding:6px;
text-align:left;vertical-align:top}small{color:#555}form.inline{display:inline}
"""


def page(title: str, body: str, *, refresh: int | None = None) -> str:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return (
        "<!doctype html><html lang=nl><head><meta charset=utf-8>"
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{meta}'
        f"<title>{esc(title)} – Zelf Deponeren Jaarrekening</title><style>{STYLE}</style></head>"
        f"<body><header><h1>Zelf Deponeren Jaarrekening</h1></header><main><h2>{esc(title)}</h2>{body}"
        "</main></body></html>"
    )


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(token)}">'


def error(message: str) -> str:
    return f'<div class="error" role="alert">{esc(message)}</div>' if message else ""


def notice(message: str) -> str:
    return f'<div class="notice" role="status">{esc(message)}</div>' if message else ""
