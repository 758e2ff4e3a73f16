"""Is a fact's value valid for its type? Lexical forms of the XML Schema built-in types the
NT uses, and the enumeration, pattern and length facets its own types add."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Any

DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
INTEGER = re.compile(r"[+-]?\d+")
FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|INF|-INF|NaN")
DATE = re.compile(r"(\d{4,})-(\d{2})-(\d{2})(Z|[+-]\d{2}:\d{2})?")
DATETIME = re.compile(r"\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
GYEAR = re.compile(r"\d{4,}(Z|[+-]\d{2}:\d{2})?")
BOOLEAN = {"true", "false", "1", "0"}
QNAME = re.compile(r"([A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*")
#: Longest numeral accepted as a number; longer ones are reported, never computed with.
MAX_DIGITS = 64


def _sign_ok(value: str, base: str) -> bool:
    n = int(value)
    if base in ("nonNegativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte"):
        return n >= 0
    if base == "positiveInteger":
        return n > 0
    if base == "nonPositiveInteger":
        return n <= 0
    if base == "negativeInteger":
        return n < 0
    return True


def is_decimal(value: str) -> bool:
    """xs:decimal's lexical space, with a sane length (never NaN, INF or exponents)."""
    return len(value) <= MAX_DIGITS and DECIMAL.fullmatch(value) is not None


def is_date(value: str) -> bool:
    m = DATE.fullmatch(value)
    if m is None:
        return False
    try:
        date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return False
    return True


def _integer(value: str, base: str) -> bool:
    if len(value) > MAX_DIGITS or INTEGER.fullmatch(value) is None:
        return False
    return _sign_ok(value, base)


def lexical_ok(value: str, base: str) -> bool:
    """Whether a (whitespace-collapsed) value is in the lexical space of a built-in type.
    Types not listed here accept any text."""
    if base in ("monetary", "decimal"):
        return is_decimal(value)
    if "nteger" in base or base in ("long", "int", "short", "byte") or base.startswith("unsigned"):
        return _integer(value, base)
    if base in ("float", "double"):
        return len(value) <= MAX_DIGITS and FLOAT.fullmatch(value) is not None
    if base == "date":
        return is_date(value)
    if base == "dateTime":
        return DATETIME.fullmatch(value) is not None or is_date(value)
    if base == "gYear":
        return GYEAR.fullmatch(value) is not None
    if base == "boolean":
        return value in BOOLEAN
    if base == "QName":
        return QNAME.fullmatch(value) is not None
    return True


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    # XML Schema patterns are implicitly anchored; the few XSD-only escapes (\i, \c,
    # \p{Is…} blocks) Python cannot compile are skipped rather than guessed.
    try:
        return re.compile(pattern)
    except re.error:
        return None


def facets_ok(value: str, facets: dict[str, Any]) -> bool:
    enumeration = facets.get("enumeration")
    if enumeration is not None and value not in enumeration:
        return False
    for level in facets.get("pattern", []):
        compiled = [c for p in level if (c := _compiled(p)) is not None]
        if compiled and not any(c.fullmatch(value) for c in compiled):
            return False
    n = len(value)
    if "length" in facets and n != facets["length"]:
        return False
    if "minLength" in facets and n < facets["minLength"]:
        return False
    return not ("maxLength" in facets and n > facets["maxLength"])


def valid(value: str, base: str, facets: dict[str, Any]) -> bool:
    collapsed = " ".join(value.split()) if base not in ("string", "") else value
    return lexical_ok(collapsed, base) and facets_ok(collapsed, facets)
