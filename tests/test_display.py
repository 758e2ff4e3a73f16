"""display.safe: text from outside shown without control, bidirectional or invisible
characters; its fast path (str.isprintable) never lets one of them through."""

from __future__ import annotations

import sys

from gateway.display import _unsafe, safe


def test_no_printable_character_is_one_safe_must_escape() -> None:
    assert [cp for cp in range(sys.maxunicode + 1) if chr(cp).isprintable() and _unsafe(chr(cp))] == []


def test_unsafe_characters_are_escaped_and_the_rest_kept() -> None:
    assert safe("JR-2024 géén € ü") == "JR-2024 géén € ü"
    assert safe("a\u202eb\x1bc\u00a0d\u2028") == "a\\u202eb\\x1bc\u00a0d\\u2028"  # NBSP is shown, not escaped
    assert safe(None) == "-"
