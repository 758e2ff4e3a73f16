"""The tariffs in schemas/tariffs against the regulations' texts, and the cost engine against
cases worked out by hand at the band and validity edges."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.register.tariffs import (
    TARIFFS_DIR,
    Charge,
    NoTariff,
    TariffError,
    Tariffs,
    load_tariffs,
    load_version,
    parse_amount,
)
from tests.support.shared import shared

T = load_tariffs()


def _norm(text: str) -> str:
    return " ".join(text.split())


def _quotes(item: dict[str, object]) -> list[tuple[str, str]]:
    bands = item.get("bands")
    if isinstance(bands, list):
        return [(b["written"], b["quote"]) for b in bands]
    return [(str(item["written"]), str(item["quote"]))]


@pytest.mark.parametrize("path", sorted(TARIFFS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_every_amount_is_written_as_the_text_writes_it(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    text = _norm(shared(*raw["source"].split("/")).read_text(encoding="utf-8"))
    assert _norm(raw["valid_from_quote"]) in text
    for item in raw["items"]:
        for written, quote in _quotes(item):
            assert written in quote, (item["id"], written)
            assert _norm(quote) in text, (item["id"], quote)
            parse_amount(written)  # readable


def test_every_amount_in_the_regulations_is_in_the_data() -> None:
    """No price of either text is left out: as many amounts in the data as "€" in the text."""
    for name, stem in (
        ("financial-regulation-trade-register-2014.txt", "frh-2014"),
        ("financiele-regeling-handelsregister-2019.txt", "frh-2019-2021-07"),
    ):
        text = shared("reference", "seeds", name).read_text(encoding="utf-8")
        raw = json.loads((TARIFFS_DIR / f"{stem}.json").read_text(encoding="utf-8"))
        written = [w for item in raw["items"] for w, _ in _quotes(item)]
        assert len(written) == text.count("€"), stem


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("€ 0,70", "0.70"),
        ("€ 2.65", "2.65"),
        ("€ 2,-", "2"),
        ("€ 1000,-", "1000"),
        ("€ 1,500,-", "1500"),
        ("€ 15,000", "15000"),
        ("€ 0,001", "0.001"),
        ("€ 50,00", "50.00"),
        ("€ 1.026,–", "1026"),
        ("€ 15.000,–", "15000"),
        ("€ 0, 016", "0.016"),
        ("€ 0,008", "0.008"),
        ("€ 11", "11"),
        ("€ 0", "0"),
    ],
)
def test_amounts_are_read_as_written(written: str, value: str) -> None:
    assert parse_amount(written) == Decimal(value)


def _price(product: str, day: str, volume: int = 1) -> Charge:
    charge = T.price(product, date.fromisoformat(day), volume)
    assert isinstance(charge, Charge), charge
    return charge


def test_validity_edges_of_the_2019_version() -> None:
    assert isinstance(T.price("basisprofiel", date(2021, 6, 30), 1), NoTariff)
    july = _price("basisprofiel", "2021-07-01")
    assert (july.price, july.version, july.article) == (
        Decimal("0.016"),
        "frh-2019-2021-07",
        "Artikel 3, tweede lid, onderdeel l",
    )
    assert july.written == "€ 0, 016" and july.micro_euros == 16_000
    assert _price("zoeken", "2021-07-01").price == Decimal("0.008")
    assert _price("vestigingsprofiel", "2021-12-31").price == Decimal("0.016")
    gone = T.price("basisprofiel", date(2022, 1, 1), 1)
    assert isinstance(gone, NoTariff) and gone.reason == "no tariff known for 2022-01-01"


def test_validity_edges_of_the_2014_version_and_todays_price() -> None:
    assert isinstance(T.price("zoeken", date(2013, 12, 31), 1), NoTariff)
    assert _price("zoeken", "2014-01-01").version == "frh-2014"
    assert _price("zoeken", "2019-10-28").version == "frh-2014"
    assert isinstance(T.price("zoeken", date(2019, 10, 29), 1), NoTariff)
    assert isinstance(T.price("basisprofiel", date(2026, 11, 23), 1), NoTariff)
    today = _price("basisprofiel", "2026-11-24")
    assert (today.price, today.version) == (Decimal("0.02"), "kvk-published-2026-11-24")
    assert _price("zoeken", "2030-01-01").price == Decimal("0")


@pytest.mark.parametrize(
    ("product", "volume", "price", "band"),
    [
        # Search, 2014, Article 3(2)(m): [1, 50,000) 0.03; [50,000, 100,000) 0.025; 100,000+ 0.02
        ("zoeken", 1, "0.03", "1–49,999"),
        ("zoeken", 49_999, "0.03", "1–49,999"),
        ("zoeken", 50_000, "0.025", "50,000–99,999"),
        ("zoeken", 50_001, "0.025", "50,000–99,999"),
        ("zoeken", 99_999, "0.025", "50,000–99,999"),
        ("zoeken", 100_000, "0.02", "100,000+"),
        # Profile, 2014, Article 3(2)(n): [1, 15,000) 0.23; [15,000, 35,000) 0.18; 35,000+ 0.15
        ("basisprofiel", 14_999, "0.23", "1–14,999"),
        ("basisprofiel", 15_000, "0.18", "15,000–34,999"),
        ("vestigingsprofiel", 34_999, "0.18", "15,000–34,999"),
        ("basisprofiel", 35_000, "0.15", "35,000+"),
    ],
)
def test_2014_bands_by_the_years_running_volume(product: str, volume: int, price: str, band: str) -> None:
    charge = _price(product, "2016-05-01", volume)
    assert (charge.price, charge.band, charge.volume) == (Decimal(price), band, volume)
    assert charge.article.startswith("Article 3, paragraph 2")


def test_a_years_searches_add_up_by_hand() -> None:
    # 49,999 x 0.03 = 1,499.97; the 50,000th and 50,001st at 0.025 = 0.05; total 1,500.02
    total = sum((_price("zoeken", "2016-12-31", n).price for n in range(1, 50_002)), Decimal(0))
    assert total == Decimal("1500.02")


def test_profiles_count_basisprofiel_and_vestigingsprofiel_together_in_2014_only() -> None:
    d14, d21 = date(2016, 1, 1), date(2021, 7, 1)
    assert T.volume_key("basisprofiel", d14) == T.volume_key("vestigingsprofiel", d14) == "frh-2014:3.2.n:delivery"
    assert T.volume_key("basisprofiel", d21) != T.volume_key("vestigingsprofiel", d21)
    assert T.volume_key("basisprofiel", date(2022, 1, 1)) is None
    assert (T.charged_per(d14), T.charged_per(d21)) == ("delivery", "request")


def test_monthly_connection_fee() -> None:
    fee = T.monthly_fee(date(2021, 8, 1))
    assert isinstance(fee, Charge) and fee.price == Decimal("5.15")
    now = T.monthly_fee(date(2026, 12, 1))
    assert isinstance(now, Charge) and now.price == Decimal("6.20")
    assert isinstance(T.monthly_fee(date(2016, 1, 1)), NoTariff)  # 2014 has no monthly fee for the API


def test_overlapping_versions_are_refused(tmp_path: Path) -> None:
    a = load_version(TARIFFS_DIR / "frh-2019-2021-07.json")
    raw = json.loads((TARIFFS_DIR / "kvk-published-2026-11-24.json").read_text(encoding="utf-8"))
    raw["valid_from"] = "2021-12-31"
    (tmp_path / "b.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(TariffError, match="overlap"):
        Tariffs([a, load_version(tmp_path / "b.json")])
