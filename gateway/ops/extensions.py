"""Room for other parts of the gateway on the operators' pages: figures on /metrics and tiles
on the dashboard.

A source is an async function that gets the store and is called on every scrape or page view,
so it should be a cheap query. A source that raises makes the endpoint answer 503 with the
cause, like the built-in figures. The operators' package depends on the packages whose figures
it shows (the register's KVK API requests and costs, below), not the other way round; a test
may append a source of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from prometheus_client.metrics_core import Metric

from gateway.register import metrics as kvk
from gateway.store.db import Store


@dataclass(frozen=True)
class Tile:
    """One figure on the dashboard: ``key`` becomes the tile's HTML id."""

    key: str
    label: str
    value: str


MetricSource = Callable[[Store], Awaitable[Iterable[Metric]]]
TileSource = Callable[[Store], Awaitable[Iterable[Tile]]]


async def kvk_month_tile(store: Store) -> list[Tile]:
    """This month's KVK API look-ups and euros."""
    month = await kvk.kvk_month(store)
    return [Tile("kvk-costs", f"KVK API costs {month.month}", month.summary())]


METRIC_SOURCES: list[MetricSource] = [kvk.kvk_metrics]
TILE_SOURCES: list[TileSource] = [kvk_month_tile]


async def extra_metrics(store: Store) -> list[Metric]:
    return [m for source in METRIC_SOURCES for m in await source(store)]


async def extra_tiles(store: Store) -> list[Tile]:
    return [t for source in TILE_SOURCES for t in await source(store)]
