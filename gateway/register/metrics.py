"""Prometheus counters of KVK API requests and euros, computed from the request records at
scrape time (like the rest of /metrics, so every process agrees)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from gateway.register.costs import MonthCosts, costs_this_month
from gateway.register.tariffs import MICRO
from gateway.store.db import Store
from gateway.store.kvk import KvkStore
from gateway.store.tables import kvk_requests


@dataclass(frozen=True)
class KvkSnapshot:
    #: (product, outcome, count) of HTTP requests to the API
    requests: list[tuple[str, str, int]]
    #: (product, count) of look-ups answered from the cache
    cache_hits: list[tuple[str, int]]
    #: (product, micro-euros, charged requests without a known tariff)
    costs: list[tuple[str, int, int]]
    waiting: int


async def snapshot(store: Store) -> KvkSnapshot:
    c = kvk_requests.c
    async with store.engine.connect() as conn:
        rows = list(
            await conn.execute(
                select(
                    c.product, c.outcome, c.cache_hit, func.count(), func.coalesce(func.sum(c.price_micro), 0)
                ).group_by(c.product, c.outcome, c.cache_hit)
            )
        )
        unpriced = dict(
            (r[0], int(r[1]))
            for r in await conn.execute(
                select(c.product, func.count()).where(c.charged, c.price_micro.is_(None)).group_by(c.product)
            )
        )
    costs: dict[str, int] = {}
    for product, _, hit, _, micro in rows:
        if not hit:
            costs[product] = costs.get(product, 0) + int(micro)
    return KvkSnapshot(
        requests=[(p, o, int(n)) for p, o, hit, n, _ in rows if not hit],
        cache_hits=[(p, int(n)) for p, _, hit, n, _ in rows if hit],
        costs=[(p, m, unpriced.get(p, 0)) for p, m in sorted(costs.items())],
        waiting=len(await KvkStore(store).waiting()),
    )


class _Collector(Collector):
    def __init__(self, snap: KvkSnapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "gateway_kvk_api_requests",
            "HTTP requests to the KVK API, by product and outcome.",
            labels=["product", "outcome"],
        )
        for product, outcome, n in self.snap.requests:
            requests.add_metric([product, outcome], n)
        yield requests
        hits = CounterMetricFamily(
            "gateway_kvk_cache_hits", "Register look-ups answered from the cache.", labels=["product"]
        )
        for product, n in self.snap.cache_hits:
            hits.add_metric([product], n)
        yield hits
        euros = CounterMetricFamily(
            "gateway_kvk_api_cost_euros",
            "What the KVK API requests cost under the tariff of their date.",
            labels=["product"],
        )
        unpriced = CounterMetricFamily(
            "gateway_kvk_api_unpriced_requests",
            "Charged KVK API requests on a date no known tariff covers.",
            labels=["product"],
        )
        for product, micro, without in self.snap.costs:
            euros.add_metric([product], float(Decimal(micro) / MICRO))
            unpriced.add_metric([product], without)
        yield euros
        yield unpriced
        yield GaugeMetricFamily(
            "gateway_submissions_waiting",
            "Unfinished submissions waiting on the infrastructure (e.g. the KVK API unreachable).",
            value=self.snap.waiting,
        )


async def kvk_metrics(store: Store) -> list[Metric]:
    """The KVK API families for /metrics (gateway.ops.extensions puts them there)."""
    return list(_Collector(await snapshot(store)).collect())


async def kvk_month(store: Store) -> MonthCosts:
    """This month's KVK API look-ups and euros, for the operators' dashboard (issue: operators
    see what the register costs while it accrues)."""
    return await costs_this_month(store)
