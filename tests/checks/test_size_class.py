"""Size class through the real path: threshold edges per financial-year regime, the
two-dates rule, declared class vs entrypoint, and the parts each class must file."""

from __future__ import annotations

import json

import pytest

from tests.checks.conftest import KvkEnv
from tests.support.outcome import file_statement
from tests.support.xbrl import Figures, Statement

# (year, class) -> (assets limit, turnover limit, employees limit) from the law's tables.
LIMITS = {
    (2015, "micro"): (350_000, 700_000, 10),  # micro may already be used for FY 2015, on 2016 amounts
    (2015, "small"): (6_000_000, 12_000_000, 50),  # likewise the 2016 small amounts
    (2015, "medium"): (20_000_000, 40_000_000, 250),
    (2019, "micro"): (350_000, 700_000, 10),
    (2019, "small"): (6_000_000, 12_000_000, 50),
    (2019, "medium"): (20_000_000, 40_000_000, 250),
    (2024, "micro"): (450_000, 900_000, 10),
    (2024, "small"): (7_500_000, 15_000_000, 50),
    (2024, "medium"): (25_000_000, 50_000_000, 250),
}
NEXT = {"micro": "klein", "small": "middelgroot", "medium": "groot"}


@pytest.mark.parametrize(("year", "size"), list(LIMITS))
@pytest.mark.parametrize("over", [0, 1], ids=["on-limit", "one-euro-over"])
def test_threshold_edges(kvk: KvkEnv, year: int, size: str, over: int) -> None:
    assets, turnover, employees = LIMITS[(year, size)]
    figures = Figures(assets + over, turnover + over, employees - 1)
    st = Statement(kvk_number=kvk.company(), year=year, size_class=size, current=figures, previous=figures)
    out = file_statement(kvk.stack, kvk.client, st)
    if over == 0:
        assert out.final == "500", out.details
        assert not [c for c in out.codes if c.startswith("GW-SIZE")]
    else:
        assert out.final == "311"
        assert out.foutcode == "GW-SIZE-02"
        assert NEXT[size] in out.details


@pytest.mark.parametrize("year", [2015, 2019, 2024])
def test_large_company_files_as_large(kvk: KvkEnv, year: int) -> None:
    big = Figures(300_000_000, 600_000_000, 2000)
    st = Statement(kvk_number=kvk.company(), year=year, size_class="large", current=big, previous=big)
    assert file_statement(kvk.stack, kvk.client, st).final == "500"


def test_pre_2016_limits_still_apply_to_fy_2015_when_chosen(kvk: KvkEnv) -> None:
    # 5 million assets/turnover: small under the 2016 amounts, medium under the old ones.
    # The company may already apply the 2016 amounts to FY 2015, so small is accepted.
    figures = Figures(5_000_000, 9_000_000, 40)
    st = Statement(kvk_number=kvk.company(), year=2015, size_class="small", current=figures, previous=figures)
    assert file_statement(kvk.stack, kvk.client, st).final == "500"


def test_one_year_over_the_limit_keeps_the_class(kvk: KvkEnv) -> None:
    # Leaving a class takes two consecutive balance-sheet dates over the limits.
    small = Figures(1_000_000, 2_000_000, 10)
    grown = Figures(30_000_000, 60_000_000, 20)
    st = Statement(kvk_number=kvk.company(), year=2024, size_class="small", current=grown, previous=small)
    out = file_statement(kvk.stack, kvk.client, st)
    assert out.final == "500", out.details


def test_previous_year_from_the_register(kvk: KvkEnv) -> None:
    number = kvk.company()
    history = {"2023": {"assets": 30_000_000, "turnover": 60_000_000, "employees": 300, "class": "large"}}
    path = kvk.stack.data_dir / f"history-{number}.json"
    path.write_text(
        json.dumps(
            [
                {
                    "kvk_number": number,
                    "name": "Gegroeid B.V.",
                    "legal_form": "Naamloze vennootschap",
                    "status": "active",
                    "size_history": history,
                }
            ]
        )
    )
    kvk.stack.cli("register", "import", str(path))
    big = Figures(30_000_000, 60_000_000, 300)
    # Over the medium limits this year and (per the register) last year: large, not medium.
    st = Statement(kvk_number=number, year=2024, size_class="medium", current=big, previous=None)
    out = file_statement(kvk.stack, kvk.client, st)
    assert out.final == "311"
    assert out.foutcode == "GW-SIZE-02"


def test_declared_class_must_match_the_entrypoint(kvk: KvkEnv) -> None:
    st = Statement(kvk_number=kvk.company(), size_class="small", entrypoint_class="micro")
    out = file_statement(kvk.stack, kvk.client, st)
    assert out.final == "311"
    assert "GW-SIZE-04" in out.codes


def test_medium_without_auditors_report_is_rejected(kvk: KvkEnv) -> None:
    mid = Figures(10_000_000, 20_000_000, 100)
    st = Statement(kvk_number=kvk.company(), size_class="medium", current=mid, previous=mid)
    out = file_statement(kvk.stack, kvk.client, st, bijlage=False)
    assert out.final == "311"
    assert out.foutcode == "GW-SIZE-05"
    assert "accountantsverklaring" in out.details


def test_small_may_file_more_than_required(kvk: KvkEnv) -> None:
    st = Statement(kvk_number=kvk.company(), size_class="small", with_income_statement=True)
    out = file_statement(kvk.stack, kvk.client, st, bijlage=True)
    assert out.final == "500"


def test_filing_as_a_larger_class_is_allowed_with_a_warning(kvk: KvkEnv) -> None:
    small = Figures(1_000_000, 2_000_000, 10)
    st = Statement(kvk_number=kvk.company(), size_class="medium", current=small, previous=small)
    out = file_statement(kvk.stack, kvk.client, st)
    assert out.final == "500"
    assert "GW-SIZE-03" in out.codes
    assert "GW-SIZE-03" in out.mail_text
