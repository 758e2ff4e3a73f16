"""The fee regulations as effective-dated data (``schemas/tariffs/*.json``) and the cost engine.

Each file is one version of the prices: every priced item of a regulation with the amount as
the text writes it (``written``), the words around it (``quote``), its unit and, where the
text has them, its volume bands. The price itself is derived from ``written`` so that a number
is typed once, exactly as the regulation gives it.

The engine answers "what did this request cost": the version in force on the request's date
(Dutch calendar date), the item that version charges for the product, and the band the year's
running volume falls in. A date that no version covers gets :class:`NoTariff`, never a guess.
How bands are read is in the README ("KVK API costs").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from gateway.resources import SCHEMAS_DIR

TARIFFS_DIR = SCHEMAS_DIR / "tariffs"
#: Prices are kept in micro-euros (integers) in the store so that sums are exact in SQL.
MICRO = Decimal(1_000_000)
#: What the API charges: a request that KVK answered, or only a delivery of data (HTTP 200).
CHARGED_PER = frozenset({"request", "delivery"})


class TariffError(ValueError):
    """The tariff data is inconsistent (a programming or data error, found at load)."""


_WHOLE = re.compile(r",\s*[-–]$")


def parse_amount(written: str) -> Decimal:
    """An amount as the regulations write it -> Decimal.

    The texts mix conventions: "€ 0,70", "€ 2.65", "€ 1000,-", "€ 1.026,–", "€ 1,500,-",
    "€ 15,000", "€ 0, 016", "€ 50,00". A trailing ",-"/",–" marks whole euros (every other
    separator groups thousands); otherwise one separator followed by exactly three digits after
    a non-zero integer part groups thousands, and any other separator is the decimal mark.
    """
    text = written.replace("€", "").strip()
    if _WHOLE.search(text):
        digits = re.sub(r"[^\d]", "", _WHOLE.sub("", text))
        return Decimal(digits)
    text = text.replace(" ", "")
    if not re.fullmatch(r"\d+([.,]\d+)*", text):
        raise TariffError(f"cannot read the amount {written!r}")
    parts = re.split(r"[.,]", text)
    if len(parts) == 1:
        return Decimal(parts[0])
    if len(parts) == 2 and not (parts[0] != "0" and len(parts[1]) == 3):
        return Decimal(f"{parts[0]}.{parts[1]}")
    if all(len(p) == 3 for p in parts[1:]):
        return Decimal("".join(parts))
    raise TariffError(f"cannot read the amount {written!r}")


@dataclass(frozen=True)
class Band:
    start: int
    below: int | None
    price: Decimal
    written: str
    quote: str
    unit: str

    def holds(self, volume: int) -> bool:
        return volume >= self.start and (self.below is None or volume < self.below)

    @property
    def label(self) -> str:
        return f"{self.start:,}+" if self.below is None else f"{self.start:,}–{self.below - 1:,}"


@dataclass(frozen=True)
class Item:
    id: str
    article: str
    description: str
    unit: str
    price: Decimal | None
    written: str | None
    quote: str | None
    bands: tuple[Band, ...] = ()
    kind: str = "price"


@dataclass(frozen=True)
class TariffVersion:
    id: str
    title: str
    source: str
    valid_from: date
    valid_until: date | None
    items: dict[str, Item]
    api_items: dict[str, str]
    monthly_item: str | None
    charged_per: str

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


@dataclass(frozen=True)
class Charge:
    """The price of one request under one item (and band) of one version."""

    version: str
    item: str
    article: str
    description: str
    price: Decimal
    written: str
    band: str | None
    volume: int

    @property
    def micro_euros(self) -> int:
        return int(self.price * MICRO)


@dataclass(frozen=True)
class NoTariff:
    reason: str


def _band(raw: dict[str, Any], unit: str) -> Band:
    return Band(
        start=int(raw["from"]),
        below=None if raw.get("below") is None else int(raw["below"]),
        price=parse_amount(raw["written"]),
        written=raw["written"],
        quote=raw["quote"],
        unit=raw.get("unit", unit),
    )


def _item(raw: dict[str, Any]) -> Item:
    bands = tuple(_band(b, raw["unit"]) for b in raw.get("bands", ()))
    for lower, upper in pairwise(bands):
        if lower.below != upper.start:
            raise TariffError(f"item {raw['id']}: bands must follow one another without gap or overlap")
    if bands and (bands[0].start != 1 or bands[-1].below is not None):
        raise TariffError(f"item {raw['id']}: bands must start at 1 and end open")
    written = raw.get("written")
    return Item(
        id=raw["id"],
        article=raw["article"],
        description=raw["description"],
        unit=raw["unit"],
        price=parse_amount(written) if written else None,
        written=written,
        quote=raw.get("quote"),
        bands=bands,
        kind=raw.get("kind", "price"),
    )


def load_version(path: Path) -> TariffVersion:
    raw = json.loads(path.read_text(encoding="utf-8"))
    items = {i["id"]: _item(i) for i in raw["items"]}
    api = dict(raw["api"])
    monthly = api.pop("monthly", None)
    charged_per = api.pop("charged_per")
    api.pop("charged_per_note", None)
    if charged_per not in CHARGED_PER:
        raise TariffError(f"{path.name}: charged_per must be one of {sorted(CHARGED_PER)}")
    for product, item_id in [*api.items(), ("monthly", monthly)]:
        if item_id is not None and item_id not in items:
            raise TariffError(f"{path.name}: {product} refers to unknown item {item_id}")
    return TariffVersion(
        id=raw["id"],
        title=raw["title"],
        source=raw["source"],
        valid_from=date.fromisoformat(raw["valid_from"]),
        valid_until=date.fromisoformat(raw["valid_until"]) if raw.get("valid_until") else None,
        items=items,
        api_items=api,
        monthly_item=monthly,
        charged_per=charged_per,
    )


class Tariffs:
    """All known versions, which must not overlap in time."""

    def __init__(self, versions: list[TariffVersion]) -> None:
        self.versions = sorted(versions, key=lambda v: v.valid_from)
        for earlier, later in pairwise(self.versions):
            if earlier.valid_until is None or earlier.valid_until >= later.valid_from:
                raise TariffError(f"tariff versions {earlier.id} and {later.id} overlap")

    def in_force(self, day: date) -> TariffVersion | None:
        return next((v for v in self.versions if v.covers(day)), None)

    def _item_for(self, product: str, day: date) -> tuple[TariffVersion, Item] | NoTariff:
        version = self.in_force(day)
        if version is None:
            return NoTariff(f"no tariff known for {day.isoformat()}")
        item_id = version.api_items.get(product)
        if item_id is None:
            return NoTariff(f"{version.id} has no price for {product}")
        return version, version.items[item_id]

    def volume_key(self, product: str, day: date) -> str | None:
        """The counter whose running yearly volume decides this product's band on this day:
        one per item (the 2014 Profile item counts Basisprofiel and Vestigingsprofiel
        together) and per what is counted. None when no tariff is known."""
        found = self._item_for(product, day)
        if isinstance(found, NoTariff):
            return None
        version, item = found
        return f"{version.id}:{item.id}:{version.charged_per}"

    def charged_per(self, day: date) -> str | None:
        version = self.in_force(day)
        return version.charged_per if version else None

    def price(self, product: str, day: date, volume: int) -> Charge | NoTariff:
        """What the ``volume``-th charged request of ``day``'s year for ``product`` cost."""
        found = self._item_for(product, day)
        if isinstance(found, NoTariff):
            return found
        version, item = found
        if item.bands:
            band = next(b for b in item.bands if b.holds(max(volume, 1)))
            price, written, label = band.price, band.written, band.label
        else:
            assert item.price is not None and item.written is not None
            price, written, label = item.price, item.written, None
        return Charge(version.id, item.id, item.article, item.description, price, written, label, volume)

    def monthly_fee(self, day: date) -> Charge | NoTariff:
        """The connection's monthly fee in force on ``day`` (zero when the version has none)."""
        version = self.in_force(day)
        if version is None:
            return NoTariff(f"no tariff known for {day.isoformat()}")
        if version.monthly_item is None:
            return NoTariff(f"{version.id} has no monthly fee for the API")
        item = version.items[version.monthly_item]
        assert item.price is not None and item.written is not None
        return Charge(version.id, item.id, item.article, item.description, item.price, item.written, None, 0)


@cache
def load_tariffs(directory: Path = TARIFFS_DIR) -> Tariffs:
    return Tariffs([load_version(p) for p in sorted(directory.glob("*.json"))])
