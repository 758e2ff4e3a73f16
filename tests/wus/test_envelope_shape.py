"""The envelope reader's bounds on a document's shape."""

from __future__ import annotations

import pytest

from gateway.wus.envelope import MAX_DEPTH, parse_xml
from gateway.wus.faults import WusFault


def _nested(depth: int) -> bytes:
    return b'<a xmlns="urn:x">' + b"<b>" * (depth - 1) + b"</b>" * (depth - 1) + b"</a>"


def test_nesting_up_to_the_bound_is_read_and_beyond_it_refused() -> None:
    assert parse_xml(_nested(MAX_DEPTH), "Het bericht").getroot().tag == "{urn:x}a"
    with pytest.raises(WusFault, match=f"dieper genest dan {MAX_DEPTH} niveaus"):
        parse_xml(_nested(MAX_DEPTH + 1), "Het bericht")
    # Deep inside a wide document too.
    wide = b"<a>" + b"<c/>" * 500 + _nested(MAX_DEPTH) + b"</a>"
    with pytest.raises(WusFault, match="dieper genest"):
        parse_xml(wide, "Het bericht")


@pytest.mark.parametrize("doc", [b"<x:a/>", b'<a xmlns:x="urn:x"><x:b:c/></a>', b'<a xmlns:x="urn:x"><y:c/></a>'])
def test_undeclared_prefixes_and_bad_names_are_refused(doc: bytes) -> None:
    with pytest.raises(WusFault) as info:
        parse_xml(doc, "Het bericht")
    assert info.value.description  # a specific reason, never a trace
