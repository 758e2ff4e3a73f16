"""Any damage to a report package or to its XHTML ends in findings, never an exception:
the package reader and every check, on mutated zips and mutated reports. Bounded for CI."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import checks
from gateway.checks.base import CheckContext, Company, PartInfo
from tests.support.ixbrl import MICRO, Package

FUZZ = settings(
    max_examples=int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FILLERS = [
    b"<",
    b">",
    b"&",
    b"&x;",
    b"<!DOCTYPE html [<!ENTITY x 'y'>]>",
    b"\x00",
    b"<ix:nonFraction>",
    b"</ix:header>",
    b'format="ixt:nope"',
    b'scale="99999999999"',
    b'contextRef="nope"',
    b'continuedAt="ID000010"',
    b"PK\x03\x04",
]


@cache
def package() -> Package:
    return Package.example(MICRO).current()


def splice(seed: bytes) -> st.SearchStrategy[bytes]:
    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        start = draw(st.integers(0, len(seed)))
        end = draw(st.integers(start, min(len(seed), start + 300)))
        filler = draw(st.binary(max_size=64) | st.sampled_from(FILLERS))
        return seed[:start] + filler + seed[end:]

    return mutate()


def check_all(data: bytes) -> None:
    ctx = CheckContext(
        "jaarrekening_ixbrl_esd",
        "12345678",
        "KvK",
        datetime(2024, 6, 1, tzinfo=UTC),
        [PartInfo(0, "application/zip", "p.xbri", len(data))],
        data,
    )
    found = checks.run(checks.MESSAGE_CHECKS, ctx)
    company = Company("12345678", "X", "Besloten vennootschap met beperkte aansprakelijkheid", "active")
    found += checks.run(checks.REGISTER_CHECKS, ctx.with_register(company, []))
    assert all(f.code and f.message_nl and f.message_en for f in found)


@FUZZ
@given(splice(package().build()))
def test_damaged_zips_end_in_findings(data: bytes) -> None:
    check_all(data)


@FUZZ
@given(splice(package().files[package().report_path]))
def test_damaged_reports_end_in_findings(report: bytes) -> None:
    pkg = Package(MICRO, dict(package().files))
    pkg.files[pkg.report_path] = report
    check_all(pkg.build())
