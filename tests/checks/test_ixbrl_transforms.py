"""The transformation formats (TR4/TR5) the KVK examples use and their relatives."""

from __future__ import annotations

import pytest

from gateway.checks.ixbrl.transforms import TR4, TR5, TransformError, apply, plain_number


@pytest.mark.parametrize(
    ("fmt", "text", "value"),
    [
        ("num-dot-decimal", "1,234,567.89", "1234567.89"),
        ("num-dot-decimal", " 1 234\u00a0567 ", "1234567"),
        ("num-dot-decimal", "0.00", "0.00"),
        ("num-comma-decimal", "1.234,56", "1234.56"),
        ("num-comma-decimal", "12 345", "12345"),
        ("fixed-true", "Vastgesteld door de algemene vergadering", "true"),
        ("fixed-false", "Enkelvoudig", "false"),
        ("fixed-zero", "-", "0"),
        ("date-day-monthname-year-nl", "19 maart 2024", "2024-03-19"),
        ("date-day-monthname-year-nl", "1 MRT 24", "2024-03-01"),
        ("date-day-monthname-year-nl", "31 december\n 2023", "2023-12-31"),
        ("date-day-monthname-year-nl", "3 mei 2025", "2025-05-03"),
        ("date-day-monthname-year-nl", "15 okt. 2024", "2024-10-15"),
        ("date-day-monthname-year-en", "19 March 2024", "2024-03-19"),
        ("date-monthname-day-year-en", "March 19, 2024", "2024-03-19"),
        ("date-day-monthname-year-de", "1. Mai 2024", "2024-05-01"),
        ("date-day-monthname-year-fr", "1 juillet 2024", "2024-07-01"),
        ("date-day-monthname-year-fr", "1 juin 2024", "2024-06-01"),
        ("date-day-month-year", "31-12-2023", "2023-12-31"),
        ("date-year-month-day", "2023/12/31", "2023-12-31"),
        ("date-month-day-year", "12/31/2023", "2023-12-31"),
    ],
)
def test_formats(fmt: str, text: str, value: str) -> None:
    assert apply(TR4, fmt, text) == value
    assert apply(TR5, fmt, text) == value


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("num-dot-decimal", "1.234,56"),
        ("num-dot-decimal", "-5"),
        ("num-comma-decimal", "1,234,567"),
        ("date-day-monthname-year-nl", "31 februari 2024"),
        ("date-day-monthname-year-nl", "19 march 2024"),
        ("date-day-month-year", "2023-12-31"),
        ("no-such-format", "1"),
    ],
)
def test_texts_that_do_not_fit_their_format(fmt: str, text: str) -> None:
    with pytest.raises(TransformError):
        apply(TR4, fmt, text)


def test_without_format_only_a_plain_non_negative_number() -> None:
    assert plain_number(" 12.50 ") == "12.50"
    for bad in ("1,000", "-1", "1e3", ""):
        with pytest.raises(TransformError):
            plain_number(bad)
