"""Rules on the file as text: name (FR-KVK-1.01, FR-NL-1.06), byte order mark (FR-NL-1.01),
encoding (FR-NL-1.05), DOCTYPE (FR-NL-1.03), characters (FR-NL-1.02), references
(FR-NL-1.04), the CDATA end sequence (FR-NL-2.06), and on a file that is XML but not
well-formed the root's xml:lang (FR-NL-2.03, FR-KVK-2.01).

A file that is not XML at all gets none of the character rules: one GW-XBRL-01 says what
is wrong, instead of a finding for every byte that happens not to be Latin-1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from gateway.checks.base import Finding, finding
from gateway.checks.rules.lines import LineIndex

if TYPE_CHECKING:
    from gateway.checks.rules import Scope

# FR-NL-1.02: Basic Latin, Latin-1 Supplement and Currency Symbols (plus the XML whitespace).
DISALLOWED = re.compile("[^\t\n\r\u0020-\u007f\u00a0-\u00ff\u20a0-\u20cf]")
REFERENCE = re.compile(r"&(#[xX][0-9a-fA-F]+|#[0-9]+|[A-Za-z_][A-Za-z0-9._-]*);")
ALLOWED_NAMED = {"lt", "gt", "amp", "apos", "quot"}
FILE_NAME = re.compile(r"^[0-9A-Za-z_-]+$")
LANGS = {"nl", "en", "de", "fr"}
BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
ENCODING_DECL = re.compile(r"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
ROOT_TAG = re.compile(r"<([A-Za-z_][\w.:-]*)(\s[^<>]*)?>", re.S)
LANG_ATTR = re.compile(r"""\sxml:lang\s*=\s*(["'])(.*?)\1""", re.S)
#: A numeric reference longer than this cannot name a character (U+10FFFF has 7 digits).
MAX_REFERENCE_DIGITS = 8


def bom_of(raw: bytes) -> tuple[bytes, str] | None:
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            return bom, encoding
    return None


def looks_like_xml(raw: bytes) -> bool:
    """Does the file at least begin like an XML document (after a byte order mark)?"""
    bom = bom_of(raw)
    head = raw[len(bom[0]) :][:512] if bom else raw[:512]
    text = head.decode(bom[1] if bom else "utf-8", errors="replace")
    if "\x00" in text:
        return False
    text = text.lstrip(" \t\r\n")
    return len(text) > 1 and text[0] == "<" and (text[1] in "?!_:" or text[1].isalpha())


def check(scope: Scope) -> Iterator[Finding]:
    ctx = scope.ctx
    yield from _file_name(ctx.parts[0].bestandsnaam if ctx.parts else "instance.xbrl")
    raw = ctx.raw_instance
    if not looks_like_xml(raw):
        return
    bom = bom_of(raw)
    if bom is not None:
        yield finding("FR-NL-1.01", value=bom[0].hex(" ").upper())
    body = raw[3:] if bom is not None and bom[1] == "utf-8" else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield finding("FR-NL-1.05", position=exc.start + (len(raw) - len(body)))
        return
    declared = ENCODING_DECL.match(text)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        yield finding("FR-NL-1.05", position=declared.start(1))
    scope.text = text
    scope.lines = LineIndex(text)
    yield from _characters(scope.lines)
    if scope.inst is None:
        yield from _root_lang(text)


def _file_name(name: str) -> Iterator[Finding]:
    stem, dot, ext = name.rpartition(".")
    if not dot or ext != "xbrl":
        yield finding("FR-KVK-1.01", name=name)
    if not FILE_NAME.match(stem if dot else name):
        yield finding("FR-NL-1.06", name=name)


def _characters(lines: LineIndex) -> Iterator[Finding]:
    text = lines.text
    root = ROOT_TAG.search(text)
    doctype = text.find("<!DOCTYPE", 0, root.start() if root else len(text))
    if doctype >= 0:
        line, column = lines.position(doctype)
        yield finding("FR-NL-1.03", line=line, column=column)
    for m in _disallowed(text):
        line, column = lines.position(m.start())
        char = m.group()
        yield finding(
            "FR-NL-1.02", char=repr(char), codepoint=f"U+{ord(char):04X}", line=line, column=column, value=char
        )
    for m in REFERENCE.finditer(text):
        if _reference_allowed(m.group(1)):
            continue
        line, column = lines.position(m.start())
        yield finding("FR-NL-1.04", ref=m.group(), line=line, column=column, value=m.group())
    start = text.find("]]>")
    while start >= 0:
        line, column = lines.position(start)
        yield finding("FR-NL-2.06", line=line, column=column)
        start = text.find("]]>", start + 3)


#: FR-NL-1.02's allowed characters below U+0100, as Latin-1 bytes.
_ALLOWED_LATIN1 = bytes(b for b in range(256) if DISALLOWED.match(chr(b)) is None)


def _disallowed(text: str) -> Iterator[re.Match[str]]:
    """DISALLOWED's matches. Most files are Latin-1 throughout and have none: encoding to
    Latin-1 and deleting the allowed bytes, both in C, proves that in a fraction of the
    regular expression's scan (a chunk at a time, so no copy of the whole text is made)."""
    if any(_unclean(text[at : at + _CHUNK]) for at in range(0, len(text), _CHUNK)):
        yield from DISALLOWED.finditer(text)


_CHUNK = 1 << 20


def _unclean(chunk: str) -> bool:
    try:
        return bool(chunk.encode("latin-1").translate(None, _ALLOWED_LATIN1))
    except UnicodeEncodeError:
        return True


def _reference_allowed(ref: str) -> bool:
    if not ref.startswith("#"):
        return ref in ALLOWED_NAMED
    digits = ref[2:] if ref[1] in "xX" else ref[1:]
    if len(digits.lstrip("0")) > MAX_REFERENCE_DIGITS:
        return False
    code = int(digits, 16) if ref[1] in "xX" else int(digits)
    return code < 0x110000 and DISALLOWED.match(chr(code)) is None


def _root_lang(text: str) -> Iterator[Finding]:
    """xml:lang of a root element that lxml could not read (the file is not well-formed)."""
    m = ROOT_TAG.search(text)
    if m is None:
        return
    lang = LANG_ATTR.search(m.group(2) or "")
    value = lang.group(2).strip() if lang else ""
    if not value:
        yield finding("FR-NL-2.03")
    if value not in LANGS:
        yield finding("FR-KVK-2.01", lang=value or "-")
