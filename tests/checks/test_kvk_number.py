"""The KVK number: format, identifier, the request, the register, and the obligation to file."""

from __future__ import annotations

import pytest

from tests.checks.conftest import KvkEnv
from tests.support.outcome import file_statement
from tests.support.xbrl import Figures, Statement


def test_registered_bv_is_accepted(kvk: KvkEnv) -> None:
    number = kvk.company()
    out = file_statement(kvk.stack, kvk.client, Statement(kvk_number=number))
    assert out.final == "500", out.details
    assert number in out.mail_text


@pytest.mark.parametrize(
    ("number", "code"),
    [("00123456", "GW-KVK-02"), ("1234567", "GW-KVK-02"), ("99999999", "GW-KVK-07")],
    ids=["starts-with-00", "seven-digits", "not-in-register"],
)
def test_bad_or_unknown_number_is_rejected(kvk: KvkEnv, number: str, code: str) -> None:
    out = file_statement(kvk.stack, kvk.client, Statement(kvk_number=number))
    assert out.final == "311"
    assert code in out.codes


def test_identifier_must_equal_the_number_fact(kvk: KvkEnv) -> None:
    number = kvk.company()
    out = file_statement(kvk.stack, kvk.client, Statement(kvk_number=number, identifier="30009999"))
    assert out.final == "311"
    assert "GW-KVK-05" in out.codes


def test_identifier_scheme_must_be_kvk(kvk: KvkEnv) -> None:
    st = Statement(kvk_number=kvk.company(), scheme="http://www.example.com/id")
    out = file_statement(kvk.stack, kvk.client, st)
    assert out.final == "311"
    assert "GW-KVK-03" in out.codes


def test_number_must_equal_identiteit_belanghebbende(kvk: KvkEnv) -> None:
    st = Statement(kvk_number=kvk.company())
    out = file_statement(kvk.stack, kvk.client, st, kvk=kvk.company())
    assert out.final == "311"
    assert "GW-KVK-06" in out.codes


@pytest.mark.parametrize(
    ("number", "code", "text"),
    [
        ("40000001", "GW-KVK-08", "opgeheven"),
        ("40000002", "GW-KVK-09", "Eenmanszaak"),
        ("40000003", "GW-KVK-09", "Vennootschap onder firma"),
        ("40000004", "GW-KVK-10", "Stichting"),
    ],
    ids=["dissolved", "eenmanszaak", "vof", "small-stichting"],
)
def test_company_that_may_not_or_need_not_file(kvk: KvkEnv, number: str, code: str, text: str) -> None:
    out = file_statement(kvk.stack, kvk.client, Statement(kvk_number=number, adopted=False))
    assert out.final == "311"
    assert out.foutcode == code
    assert text in out.details


def test_stichting_over_the_turnover_limit_files(kvk: KvkEnv) -> None:
    figures = Figures(2_000_000, 8_000_000, 20)  # at least half the 2024 small turnover limit (7.5M)
    st = Statement(kvk_number="40000005", legal_form="Stichting", current=figures, previous=figures)
    out = file_statement(kvk.stack, kvk.client, st)
    assert out.final == "500", out.details
