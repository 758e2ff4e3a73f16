"""Shared pieces of the operators' server-rendered pages: safe text, times, the page frame.

No build step, no external assets: the CSS is inline, the only graphics are inline SVG.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from urllib.parse import quote, urlencode

# C0/C1 controls (except tab and newline) and the bidi overrides/isolates/marks: shown as
# [U+XXXX] so a sender's text cannot reorder or hide what an operator reads.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def neutralise(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def esc(value: object) -> str:
    """Text for HTML: control and bidi characters made visible, then escaped."""
    return "" if value is None else html.escape(neutralise(str(value)))


def when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float) -> str:
    s = int(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def submission_url(kenmerk: str) -> str:
    return "/submissions/" + quote(kenmerk, safe="")


def search_url(**params: str | int | None) -> str:
    kept = {k: str(v) for k, v in params.items() if v not in (None, "")}
    return "/submissions" + (f"?{urlencode(kept)}" if kept else "")


def kenmerk_link(kenmerk: str) -> str:
    return f'<a class="k" href="{esc(submission_url(kenmerk))}">{esc(kenmerk)}</a>'


def table(table_id: str, headers: Sequence[str], rows: Iterable[str], empty: str = "none") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(rows)
    if not body:
        body = f'<tr><td colspan="{max(len(headers), 1)}" class="empty">{esc(empty)}</td></tr>'
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


STATUS_CLASS = {"500": "ok", "311": "bad", "321": "warn", "210": "bad"}

CSS = """
* { box-sizing: border-box }
body { font-family: system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9 }
header { background: #1f2a44; color: #fff; padding: .6em 1.5em; display: flex; gap: 2em; align-items: center;
  flex-wrap: wrap }
header a { color: #fff; text-decoration: none; font-weight: 600 }
header form { margin-left: auto; display: flex; gap: .4em }
header input { width: 26em; padding: .3em .5em }
main { padding: 1em 1.5em; max-width: 1500px }
h1 { font-size: 1.4em; margin: .3em 0 } h2 { font-size: 1.1em; margin: 1.4em 0 .5em }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(11em, 1fr)); gap: .7em }
.tile { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; padding: .5em .8em }
.tile b { display: block; font-size: 1.6em; font-variant-numeric: tabular-nums }
.tile small { color: #5b6474 }
.panel { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; padding: .8em }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #d8dce3 }
th, td { border-bottom: 1px solid #eceef2; padding: .3em .6em; text-align: left; vertical-align: top;
  font-size: .9em }
th { background: #eef0f4; white-space: nowrap }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap }
td.t, .k, code { white-space: nowrap }
.k { font-family: ui-monospace, monospace }
td.text { white-space: pre-wrap; overflow-wrap: anywhere; min-width: 20em }
td.empty { color: #5b6474; font-style: italic }
.badge { display: inline-block; padding: 0 .5em; border-radius: 3px; background: #e3e6ec; font-weight: 600 }
.ok { background: #d7f0dc; color: #1b5e20 } .bad { background: #fadada; color: #8e1414 }
.warn { background: #ffe6c7; color: #8a4b00 } .open { background: #dce8fa; color: #0d47a1 }
form.filters { display: flex; gap: .6em; align-items: end; flex-wrap: wrap; margin-bottom: 1em }
form.filters label { display: flex; flex-direction: column; font-size: .85em; gap: .2em }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25em 1.2em; margin: 0 }
dl.facts dt { color: #5b6474 } dl.facts dd { margin: 0; overflow-wrap: anywhere }
.notice { background: #d7f0dc; border: 1px solid #9ccc9f; padding: .5em .8em; border-radius: 4px }
.replay label { display: block; margin: .3em 0 }
.replay input[type=text] { width: 30em; max-width: 100% }
svg text { font-family: system-ui, sans-serif }
"""


def page(title: str, body: str, *, query: str = "", refresh: int | None = None) -> str:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">{meta}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} — filing gateway</title>
<style>{CSS}</style></head><body>
<header><a href="/dashboard">Filing gateway — operations</a><a href="/submissions">Submissions</a>
<form method="get" action="/submissions" role="search">
<input type="search" name="q" id="search" value="{esc(query)}"
 placeholder="kenmerk, KVK number, aanleverkenmerk or sender" aria-label="search">
<button type="submit">Search</button></form></header>
<main>{body}</main></body></html>"""
