"""What the KVK API cost: the request records summed by tariff, month or product, plus the
connection's monthly fee for each month in which the API was asked.

Dates are Dutch calendar dates (the tariff date recorded with each request), both ends
inclusive. Euros are exact (the store keeps micro-euros).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from gateway.domain import utc_now
from gateway.register.entry import dutch_date
from gateway.register.tariffs import MICRO, Charge, Tariffs, load_tariffs
from gateway.store.db import Store
from gateway.store.tables import kvk_requests

GROUPINGS = ("tariff", "month", "product")


@dataclass
class CostRow:
    key: str
    lookups: int = 0
    cache_hits: int = 0
    api_requests: int = 0
    charged: int = 0
    unpriced: int = 0
    micro: int = 0

    @property
    def euros(self) -> Decimal:
        return Decimal(self.micro) / MICRO

    def add(self, g: _Group) -> None:
        self.lookups += g.count
        self.cache_hits += g.count if g.cache_hit else 0
        self.api_requests += 0 if g.cache_hit else g.count
        self.charged += g.count if g.charged else 0
        self.unpriced += g.count if g.charged and g.unpriced else 0
        self.micro += g.micro

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "lookups": self.lookups,
            "cache_hits": self.cache_hits,
            "api_requests": self.api_requests,
            "charged": self.charged,
            "no_tariff_known": self.unpriced,
            "euros": str(self.euros),
        }


@dataclass(frozen=True)
class MonthlyFee:
    month: str
    euros: Decimal | None
    tariff: str | None
    article: str | None
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "euros": None if self.euros is None else str(self.euros),
            "tariff": self.tariff,
            "article": self.article,
            "note": self.note,
        }


@dataclass
class CostReport:
    start: date
    end: date
    by: str
    rows: list[CostRow] = field(default_factory=list)
    total: CostRow = field(default_factory=lambda: CostRow("total"))
    fees: list[MonthlyFee] = field(default_factory=list)

    @property
    def fees_euros(self) -> Decimal:
        return sum((f.euros for f in self.fees if f.euros is not None), Decimal(0))

    @property
    def euros(self) -> Decimal:
        return self.total.euros + self.fees_euros

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "by": self.by,
            "rows": [r.as_json() for r in self.rows],
            "requests": self.total.as_json(),
            "monthly_fees": [f.as_json() for f in self.fees],
            "euros": str(self.euros),
        }


@dataclass(frozen=True)
class _Group:
    day: str
    product: str
    version: str | None
    item: str | None
    article: str | None
    band: str | None
    cache_hit: bool
    charged: bool
    unpriced: bool
    price: int | None
    count: int
    micro: int


async def _groups(store: Store, start: date, end: date) -> list[_Group]:
    c = kvk_requests.c
    cols = [c.tariff_date, c.product, c.tariff_version, c.tariff_item, c.tariff_article, c.band, c.cache_hit, c.charged]
    unpriced = c.price_micro.is_(None)
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(*cols, unpriced, func.max(c.price_micro), func.count(), func.coalesce(func.sum(c.price_micro), 0))
            .where(c.tariff_date >= start.isoformat(), c.tariff_date <= end.isoformat())
            .group_by(*cols, unpriced)
        )
        return [
            _Group(
                *r[:6], bool(r[6]), bool(r[7]), bool(r[8]), None if r[9] is None else int(r[9]), int(r[10]), int(r[11])
            )
            for r in rows
        ]


def _key(g: _Group, by: str) -> str:
    if by == "month":
        return g.day[:7]
    if by == "product":
        return g.product
    if g.cache_hit:
        return "cache hits (free)"
    if not g.charged:
        return "not charged (no answer, or no data delivered)"
    if g.unpriced:
        return "no tariff known"
    # Requests of one item and band share one unit price, so the group's max() is that price.
    unit = Decimal(g.price or 0) / MICRO
    band = f", band {g.band}" if g.band else ""
    return f"{g.version} {g.item} ({g.article}{band}) at € {unit.normalize():f}"


def _fees(groups: list[_Group], tariffs: Tariffs) -> list[MonthlyFee]:
    """The connection fee for each month with at least one request to the API, under the
    version in force on that month's first such request."""
    first: dict[str, str] = {}
    for g in groups:
        if not g.cache_hit and (g.day[:7] not in first or g.day < first[g.day[:7]]):
            first[g.day[:7]] = g.day
    fees = []
    for month, day in sorted(first.items()):
        fee = tariffs.monthly_fee(date.fromisoformat(day))
        if isinstance(fee, Charge):
            fees.append(MonthlyFee(month, fee.price, fee.version, fee.article))
        else:
            fees.append(MonthlyFee(month, None, None, None, fee.reason))
    return fees


async def cost_report(
    store: Store, start: date, end: date, by: str = "tariff", tariffs: Tariffs | None = None
) -> CostReport:
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUPINGS)}")
    groups = await _groups(store, start, end)
    rows: dict[str, CostRow] = {}
    report = CostReport(start, end, by)
    for g in sorted(groups, key=lambda g: (g.day, g.product)):
        key = _key(g, by)
        rows.setdefault(key, CostRow(key)).add(g)
        report.total.add(g)
    report.rows = sorted(rows.values(), key=lambda r: r.key) if by != "tariff" else list(rows.values())
    report.fees = _fees(groups, tariffs or load_tariffs())
    return report


@dataclass(frozen=True)
class MonthCosts:
    """The current month so far, for the operators' dashboard."""

    month: str
    lookups: int
    cache_hits: int
    api_requests: int
    requests_euros: Decimal
    monthly_fee_euros: Decimal
    no_tariff_known: int

    @property
    def euros(self) -> Decimal:
        return self.requests_euros + self.monthly_fee_euros

    def summary(self) -> str:
        """One line for the dashboard (plain text: the caller escapes it for HTML)."""
        unknown = f"; {self.no_tariff_known} with no tariff known" if self.no_tariff_known else ""
        return (
            f"KVK API {self.month}: {self.lookups} look-ups, {self.cache_hits} from the cache, "
            f"{self.api_requests} requests: EUR {_plain(self.requests_euros)} + monthly fee EUR "
            f"{_plain(self.monthly_fee_euros)} = EUR {_plain(self.euros)}{unknown}"
        )


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}" if value else "0"


async def costs_this_month(store: Store, now: datetime | None = None) -> MonthCosts:
    today = dutch_date(now or utc_now())
    report = await cost_report(store, today.replace(day=1), today, by="product")
    t = report.total
    return MonthCosts(
        month=today.strftime("%Y-%m"),
        lookups=t.lookups,
        cache_hits=t.cache_hits,
        api_requests=t.api_requests,
        requests_euros=t.euros,
        monthly_fee_euros=report.fees_euros,
        no_tariff_known=t.unpriced,
    )
