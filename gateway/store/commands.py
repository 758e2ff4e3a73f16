"""``gateway db``: the database schema's commands (registered in gateway/cli.py), and
``with_store``, which any package's command uses to run with a store opened from the settings."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import click

from gateway.settings import Settings
from gateway.store import migrate
from gateway.store.db import SchemaMismatch, Store

T = TypeVar("T")


async def _upgrade(url: str, target: str) -> tuple[str | None, str]:
    store = Store.from_url(url)
    try:
        return await migrate.upgrade_async(store.engine, target)
    finally:
        await store.close()


async def _current(url: str) -> str | None:
    store = Store.from_url(url)
    try:
        async with store.engine.connect() as conn:
            return await conn.run_sync(migrate.current_revision)
    finally:
        await store.close()


def run(coro: Awaitable[T]) -> T:
    """Run a command's coroutine; a schema that does not match and a port that cannot be
    bound are the user's to fix, so they end as a one-line error, not a stack trace."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except SchemaMismatch as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise click.ClickException(f"cannot listen: {exc.strerror}: {exc}") from None
        raise


def with_store(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """Run an async command body with a Store opened from the environment's settings."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        settings = Settings.from_env()

        async def main() -> Any:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            store = Store.from_url(settings.effective_database_url)
            try:
                await store.init_schema()
                return await fn(store, settings, *args, **kwargs)
            finally:
                await store.close()

        return run(main())

    return wrapper


@click.group()
def db() -> None:
    """The database schema: which revision it has, and upgrading it."""


@db.command()
@click.option("--to", "target", default="head", show_default=True, help="Revision to upgrade to.")
def upgrade(target: str) -> None:
    """Apply this gateway's schema migrations to GATEWAY_DATABASE_URL (back it up first).

    A database made before migrations existed is taken as revision 0001. Safe to run again:
    a current database is left alone."""
    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        before, after = asyncio.run(_upgrade(settings.effective_database_url, target))
    except migrate.SchemaNotCurrent as exc:
        raise click.ClickException(str(exc)) from None
    if before == after:
        click.echo(f"database schema is at revision {after}; nothing to do")
    else:
        click.echo(f"database schema upgraded from revision {before or 'none (empty database)'} to {after}")
        for step in migrate.steps(before, after):
            click.echo(f"  applied {step}")


@db.command()
def current() -> None:
    """Print the database's schema revision and the one this gateway needs."""
    settings = Settings.from_env()
    try:
        found = asyncio.run(_current(settings.effective_database_url))
    except migrate.SchemaNotCurrent as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"database: {found or 'empty'}\nthis gateway: {migrate.head()}")
