"""GW-ZDJ-01: web filings are for micro and small companies only, whichever of the declared
class, the class from the figures and the entrypoint's class says otherwise (on real
statements, read as the worker reads them)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.checks.base import CheckContext, Company, PartInfo
from gateway.checks.channel import size_gate
from tests.support.xbrl import Figures, Statement

BV = Company("12345678", "X", "Besloten vennootschap met beperkte aansprakelijkheid", "active")
MICRO_FIGURES = Figures(100_000, 200_000, 3)
LARGE_FIGURES = Figures(90_000_000, 150_000_000, 400)


def ctx(statement: Statement) -> CheckContext:
    data = statement.build()
    c = CheckContext(
        "Jaarverantwoording_KvK",
        "12345678",
        "KvK",
        datetime(2025, 7, 1, tzinfo=UTC),
        [PartInfo(0, "application/xml", "jaarrekening.xbrl", len(data))],
        data,
    )
    return c.with_register(BV, [])


@pytest.mark.parametrize("declared", ["micro", "small"])
def test_micro_and_small_pass(declared: str) -> None:
    figures = MICRO_FIGURES if declared == "micro" else Figures(1_000_000, 2_000_000, 12)
    assert list(size_gate(ctx(Statement(size_class=declared, current=figures, previous=figures)))) == []


@pytest.mark.parametrize(
    ("statement", "nl", "en"),
    [
        (Statement(size_class="medium"), "middelgroot", "medium-sized"),
        (Statement(size_class="large", current=LARGE_FIGURES, previous=LARGE_FIGURES), "groot", "large"),
        # declared small, but two years of figures say large
        (Statement(size_class="small", current=LARGE_FIGURES, previous=LARGE_FIGURES), "groot", "large"),
        # declared and counted small, filed on the entrypoint for large companies
        (Statement(size_class="small", entrypoint_class="large"), "groot", "large"),
    ],
)
def test_anything_larger_is_refused_with_the_largest_class_named(statement: Statement, nl: str, en: str) -> None:
    [f] = list(size_gate(ctx(statement)))
    assert f.code == "GW-ZDJ-01" and f.is_error
    assert f"van een {nl} onderneming" in f.message_nl
    assert f"of a {en} company" in f.message_en


def test_nothing_readable_adds_nothing_other_checks_already_report_it() -> None:
    c = CheckContext("Jaarverantwoording_KvK", "12345678", "KvK", datetime.now(UTC), [], b"not xml")
    assert list(size_gate(c)) == []
