"""Text from outside (a sender's aanleverkenmerk, bestandsnaam, certificate subject) made
safe to print: control characters and bidirectional overrides are shown as escapes, so
they cannot move the cursor, recolour the terminal or reorder what the operator reads."""

from __future__ import annotations

import unicodedata

#: Bidirectional controls (embedding, override, isolate, marks) and other invisible format
#: characters that can make text read differently from what it is.
_BIDI_AND_INVISIBLE = frozenset(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
)


def _unsafe(ch: str) -> bool:
    # Cc: C0, DEL and C1 (U+0080-U+009F, e.g. U+009B, the one-byte CSI); Cf: format
    # characters; Zl/Zp: line and paragraph separators.
    return ch in _BIDI_AND_INVISIBLE or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def _escape(ch: str) -> str:
    cp = ord(ch)
    return f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}"


def safe(value: object) -> str:
    """``value`` as one line of printable text (None as '-')."""
    if value is None:
        return "-"
    text = str(value)
    # str.isprintable() is False for every category _unsafe names (Cc, Cf, Zl, Zp, Cs, Co,
    # Cn; the bidirectional and invisible ones are all Cf) and for separators other than the
    # space: printable text is safe as it is, found in C instead of a call per character.
    if text.isprintable() or not any(_unsafe(ch) for ch in text):
        return text
    return "".join(_escape(ch) if _unsafe(ch) else ch for ch in text)
