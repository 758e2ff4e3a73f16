"""``gateway costs`` and ``gateway register lookup|waiting`` (registered in gateway/cli.py)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import click

from gateway.register.costs import GROUPINGS, CostReport, cost_report
from gateway.register.entry import dutch_today, plain
from gateway.settings import Settings
from gateway.store.commands import with_store
from gateway.store.db import Store


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


def _money(value: Decimal) -> str:
    return f"{value.normalize():f}" if value else "0"


def _print_report(report: CostReport) -> None:
    click.echo(f"KVK API costs from {report.start} to {report.end}, by {report.by} (Dutch calendar dates)")
    click.echo(f"{'look-ups':>9} {'cache':>7} {'API':>7} {'charged':>8} {'no tariff':>9} {'EUR':>12}  {report.by}")
    for r in [*report.rows, report.total]:
        click.echo(
            f"{r.lookups:>9} {r.cache_hits:>7} {r.api_requests:>7} {r.charged:>8} {r.unpriced:>9} "
            f"{_money(r.euros):>12}  {r.key}"
        )
    for fee in report.fees:
        if fee.euros is None:
            click.echo(f"monthly fee {fee.month}: {fee.note}")
        else:
            click.echo(f"monthly fee {fee.month}: EUR {_money(fee.euros)} ({fee.tariff}, {fee.article})")
    click.echo(f"total EUR {_money(report.euros)}")
    if report.total.unpriced:
        click.echo(f"{report.total.unpriced} charged request(s) fall on dates no known tariff covers; not counted.")


async def _costs(store: Store, settings: Settings, start: date, end: date, by: str, as_json: bool) -> None:
    report = await cost_report(store, start, end, by)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        _print_report(report)


@click.command("costs")
@click.option("--from", "start", help="First day (YYYY-MM-DD; default: the 1st of this month).")
@click.option("--to", "end", help="Last day, inclusive (default: today).")
@click.option("--by", type=click.Choice(GROUPINGS), default="tariff", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def costs(start: str | None, end: str | None, by: str, as_json: bool) -> None:
    """What the KVK API cost: every request priced by the tariff in force on its date and the
    band its place in the year falls in, plus the monthly connection fee."""
    last = _day(end, "--to") or dutch_today()
    first = _day(start, "--from") or last.replace(day=1)
    if first > last:
        raise click.BadParameter(f"{first} is after {last}", param_hint="--from")
    with_store(_costs)(first, last, by, as_json)


async def _lookup(store: Store, settings: Settings, kvk_number: str, as_json: bool) -> None:
    from gateway.errors import InfrastructureError
    from gateway.register.source import make_register

    try:
        register = make_register(settings, store)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        company = await register.lookup(kvk_number)
    except InfrastructureError as exc:
        raise click.ClickException(exc.cause) from None
    finally:
        await register.close()
    if company is None:
        raise click.ClickException(f"KVK number {kvk_number} is not in the register")
    data: dict[str, Any] = {
        "kvk_number": company.kvk_number,
        "name": company.name,
        "legal_form": company.legal_form,
        "status": company.status,
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        for k, v in data.items():
            click.echo(f"{k:<14}{plain(v)}")


@click.command("lookup")
@click.argument("kvk_number")
@click.option("--json", "as_json", is_flag=True)
def lookup(kvk_number: str, as_json: bool) -> None:
    """Look a company up in the configured register source (GATEWAY_REGISTER_SOURCE); through
    the KVK API this is a recorded, priced request unless the cache answers."""
    with_store(_lookup)(kvk_number, as_json)


async def _waiting(store: Store, settings: Settings, as_json: bool) -> None:
    from gateway.store.kvk import KvkStore

    rows = await KvkStore(store).waiting()
    if as_json:
        for w in rows:
            row = {"kenmerk": w.kenmerk, "reason": w.reason, "since": w.since.isoformat(), "attempts": w.attempts}
            click.echo(json.dumps(row))
        return
    for w in rows:
        since = w.since.isoformat(timespec="seconds")
        click.echo(f"{plain(w.kenmerk)}  since {since}  attempts {w.attempts}  {plain(w.reason)}")
    click.echo(f"{len(rows)} submission(s) waiting")


@click.command("waiting")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def waiting(as_json: bool) -> None:
    """Unfinished submissions that wait on the infrastructure (the KVK API, say), and why."""
    with_store(_waiting)(as_json)
