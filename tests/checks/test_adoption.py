"""Adoption and duplicates: one adopted statement per company and year; non-adopted ones
may be replaced; an adopted one only corrected with the resubmission flag."""

from __future__ import annotations

from datetime import date

from tests.checks.conftest import KvkEnv
from tests.support.outcome import file_statement
from tests.support.xbrl import Statement


def test_second_adopted_statement_for_the_year_is_rejected(kvk: KvkEnv) -> None:
    number = kvk.company()
    assert file_statement(kvk.stack, kvk.client, Statement(kvk_number=number)).final == "500"
    second = file_statement(kvk.stack, kvk.client, Statement(kvk_number=number))
    assert second.final == "311"
    assert second.foutcode == "GW-KVK-DUP"
    assert "vastgestelde jaarrekening" in second.mail_text
    # another year is fine
    assert file_statement(kvk.stack, kvk.client, Statement(kvk_number=number, year=2025)).final == "500"


def test_non_adopted_is_replaced_by_non_adopted_and_then_adopted(kvk: KvkEnv) -> None:
    number = kvk.company()
    for adopted in (False, False, True):
        out = file_statement(kvk.stack, kvk.client, Statement(kvk_number=number, adopted=adopted))
        assert out.final == "500", out.details
    after = file_statement(kvk.stack, kvk.client, Statement(kvk_number=number, adopted=False))
    assert after.final == "311"
    assert after.foutcode == "GW-KVK-DUP"


def test_correction_of_an_adopted_statement(kvk: KvkEnv) -> None:
    number = kvk.company()
    assert file_statement(kvk.stack, kvk.client, Statement(kvk_number=number)).final == "500"
    fixed = file_statement(kvk.stack, kvk.client, Statement(kvk_number=number, resubmission=True))
    assert fixed.final == "500", fixed.details
    # the correction is now the adopted statement on file
    again = file_statement(kvk.stack, kvk.client, Statement(kvk_number=number))
    assert again.foutcode == "GW-KVK-DUP"


def test_correction_needs_a_statement_to_correct(kvk: KvkEnv) -> None:
    out = file_statement(kvk.stack, kvk.client, Statement(kvk_number=kvk.company(), resubmission=True))
    assert out.final == "311"
    assert "GW-ADO-05" in out.codes


def test_correction_must_be_adopted(kvk: KvkEnv) -> None:
    st = Statement(kvk_number=kvk.company(), resubmission=True, adopted=False)
    out = file_statement(kvk.stack, kvk.client, st)
    assert "BR-KVK-4.12" in out.codes


def test_adopted_needs_a_date_and_not_adopted_none(kvk: KvkEnv) -> None:
    no_date = Statement(kvk_number=kvk.company(), omit={"DocumentAdoptionDate"})
    assert "GW-ADO-02" in file_statement(kvk.stack, kvk.client, no_date).codes
    with_date = Statement(
        kvk_number=kvk.company(),
        adopted=False,
        extra_facts=['<bw2:DocumentAdoptionDate contextRef="FY">2025-05-01</bw2:DocumentAdoptionDate>'],
    )
    assert "GW-ADO-03" in file_statement(kvk.stack, kvk.client, with_date).codes


def test_adoption_date_between_period_end_and_filing(kvk: KvkEnv) -> None:
    early = Statement(kvk_number=kvk.company(), adoption_date=date(2024, 12, 31))
    assert "GW-ADO-04" in file_statement(kvk.stack, kvk.client, early).codes
    future = Statement(kvk_number=kvk.company(), adoption_date=date(2099, 1, 1))
    assert "BR-KVK-4.10" in file_statement(kvk.stack, kvk.client, future).codes
