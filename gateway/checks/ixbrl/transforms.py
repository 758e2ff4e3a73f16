"""Inline XBRL transformation formats (Transformation Registry 4 and 5): the visible text of
a tagged fact to its XBRL value. The formats the KVK examples use and their close relatives
(kvk-inline.md section 6): fixed values, dot- and comma-decimal numbers, numeric and
month-name dates in Dutch, English, German and French."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

TR4 = "http://www.xbrl.org/inlineXBRL/transformation/2020-02-12"
TR5 = "http://www.xbrl.org/inlineXBRL/transformation/2022-02-16"


MAX_TEXT = 256


class TransformError(ValueError):
    """The text does not fit the format."""


_WS = re.compile(r"[ \t\n\r]+")
_DOT_DECIMAL = re.compile(r"^([0-9]{1,3}(?:[, \u00a0]?[0-9]{3})*)(?:\.([0-9]+))?$")
_COMMA_DECIMAL = re.compile(r"^([0-9]{1,3}(?:[. \u00a0]?[0-9]{3})*)(?:,([0-9]+))?$")
_PLAIN = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")

MONTHS: dict[str, dict[str, int]] = {
    "nl": {
        "jan": 1,
        "feb": 2,
        "maa": 3,
        "mrt": 3,
        "apr": 4,
        "mei": 5,
        "jun": 6,
        "jul": 7,
        "aug": 8,
        "sep": 9,
        "okt": 10,
        "nov": 11,
        "dec": 12,
    },
    "en": {
        "jan": 1,
        "feb": 2,
        "mar": 3,
        "apr": 4,
        "may": 5,
        "jun": 6,
        "jul": 7,
        "aug": 8,
        "sep": 9,
        "oct": 10,
        "nov": 11,
        "dec": 12,
    },
    "de": {
        "jan": 1,
        "jän": 1,
        "feb": 2,
        "mär": 3,
        "mae": 3,
        "apr": 4,
        "mai": 5,
        "jun": 6,
        "jul": 7,
        "aug": 8,
        "sep": 9,
        "okt": 10,
        "nov": 11,
        "dez": 12,
    },
    "fr": {
        "jan": 1,
        "fév": 2,
        "fev": 2,
        "mar": 3,
        "avr": 4,
        "mai": 5,
        "jui": 6,
        "jul": 7,
        "aoû": 8,
        "aou": 8,
        "sep": 9,
        "oct": 10,
        "nov": 11,
        "déc": 12,
        "dec": 12,
    },
}
# French juin/juillet share "jui": the fourth letter tells them apart.
_FR_JU = {"juin": 6, "juil": 7}

_DAY_MONTHNAME_YEAR = re.compile(r"^([0-9]{1,2})[^0-9a-zà-ÿ]*([a-zà-ÿ]+)\.?[^0-9]*?([0-9]{4}|[0-9]{2})$", re.I)
_MONTHNAME_DAY_YEAR = re.compile(r"^([a-z]+)\.?[^0-9]*([0-9]{1,2})[^0-9]+([0-9]{4}|[0-9]{2})$", re.I)
_D_M_Y = re.compile(r"^([0-9]{1,2})[^0-9]+([0-9]{1,2})[^0-9]+([0-9]{4}|[0-9]{2})$")
_Y_M_D = re.compile(r"^([0-9]{4}|[0-9]{2})[^0-9]+([0-9]{1,2})[^0-9]+([0-9]{1,2})$")


def collapse(text: str) -> str:
    """Whitespace is collapsed before any format is applied (Inline XBRL 1.1)."""
    return _WS.sub(" ", text).strip()


def plain_number(text: str) -> str:
    """A nonFraction without format: a non-negative plain number."""
    value = collapse(text)
    if len(value) > MAX_TEXT or not _PLAIN.match(value):
        raise TransformError(value)
    return value


def _number(pattern: re.Pattern[str], text: str) -> str:
    m = pattern.match(text)
    if not m:
        raise TransformError(text)
    whole = re.sub(r"[^0-9]", "", m.group(1))
    return f"{whole}.{m.group(2)}" if m.group(2) else whole


def _year(text: str) -> int:
    y = int(text)
    return 2000 + y if len(text) == 2 else y


def _iso(year: int, month: int, day: int) -> str:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        raise TransformError(f"{year}-{month}-{day}") from None


def _month(name: str, lang: str) -> int:
    n = name.lower()
    if lang == "fr" and n[:3] == "jui":
        found = _FR_JU.get(n[:4])
        if found is None:
            raise TransformError(name)
        return found
    month = MONTHS[lang].get(n[:3])
    if month is None:
        raise TransformError(name)
    return month


def _day_monthname_year(lang: str) -> Callable[[str], str]:
    def transform(text: str) -> str:
        m = _DAY_MONTHNAME_YEAR.match(text)
        if not m:
            raise TransformError(text)
        return _iso(_year(m.group(3)), _month(m.group(2), lang), int(m.group(1)))

    return transform


def _monthname_day_year_en(text: str) -> str:
    m = _MONTHNAME_DAY_YEAR.match(text)
    if not m:
        raise TransformError(text)
    return _iso(_year(m.group(3)), _month(m.group(1), "en"), int(m.group(2)))


def _day_month_year(text: str) -> str:
    m = _D_M_Y.match(text)
    if not m:
        raise TransformError(text)
    return _iso(_year(m.group(3)), int(m.group(2)), int(m.group(1)))


def _month_day_year(text: str) -> str:
    m = _D_M_Y.match(text)
    if not m:
        raise TransformError(text)
    return _iso(_year(m.group(3)), int(m.group(1)), int(m.group(2)))


def _year_month_day(text: str) -> str:
    m = _Y_M_D.match(text)
    if not m:
        raise TransformError(text)
    return _iso(_year(m.group(1)), int(m.group(2)), int(m.group(3)))


FORMATS: dict[str, Callable[[str], str]] = {
    "fixed-true": lambda _text: "true",
    "fixed-false": lambda _text: "false",
    "fixed-zero": lambda _text: "0",
    "fixed-empty": lambda _text: "",
    "num-dot-decimal": lambda text: _number(_DOT_DECIMAL, text),
    "num-comma-decimal": lambda text: _number(_COMMA_DECIMAL, text),
    "date-day-monthname-year-nl": _day_monthname_year("nl"),
    "date-day-monthname-year-en": _day_monthname_year("en"),
    "date-day-monthname-year-de": _day_monthname_year("de"),
    "date-day-monthname-year-fr": _day_monthname_year("fr"),
    "date-monthname-day-year-en": _monthname_day_year_en,
    "date-day-month-year": _day_month_year,
    "date-month-day-year": _month_day_year,
    "date-year-month-day": _year_month_day,
}


def apply(namespace: str, local: str, text: str) -> str:
    """The value of ``text`` under format ``{namespace}local``. The caller checks the
    namespace is an accepted registry; TR4 and TR5 name these formats alike."""
    transform = FORMATS.get(local)
    if transform is None:
        raise TransformError(f"onbekend formaat {local}")
    value = collapse(text)
    if len(value) > MAX_TEXT and not local.startswith("fixed-"):
        # No date or amount is this long; the bound keeps every pattern's work small.
        raise TransformError(value[:40])
    return transform(value)
