"""Schema migrations (Alembic) and the start-up check that the database is current.

- A new, empty database gets the current tables and is stamped at the newest revision.
- A database at the newest revision is used as it is.
- Anything else is refused with what to do: ``gateway db upgrade`` for an older schema
  (including a database made before migrations existed, whose schema_info table says version
  1: that is revision 0001), a new database for one this code cannot upgrade.

Migrations live in gateway/store/migrations/versions/, one file per change, made with
``scripts/migration "what changed"`` (see the README).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Integer, column, inspect, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.store.db import SchemaMismatch
from gateway.store.tables import metadata

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Alembic says "Context impl SQLiteImpl." and the like at INFO on every check; `gateway db
# upgrade` reports what it applied itself.
logging.getLogger("alembic").setLevel(logging.WARNING)
#: The revision that is the schema of every database made before migrations existed.
BASELINE = "0001"
#: PostgreSQL advisory lock key held while the schema is checked, created or upgraded.
SCHEMA_LOCK = 0x6777_5343


#: Until revision 0002 the schema version was a row in this table (version 1 = revision 0001).
SCHEMA_INFO = table("schema_info", column("id", Integer), column("version", Integer))
SchemaNotCurrent = SchemaMismatch


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    heads = ScriptDirectory.from_config(config()).get_heads()
    if len(heads) != 1:
        # Two branches each added a migration on the same parent: renumber one (README).
        raise RuntimeError(f"the migrations have {len(heads)} heads ({', '.join(heads)}); they must form one line")
    return heads[0]


def steps(before: str | None, after: str) -> list[str]:
    """'NNNN: what changed' for every revision applied going from ``before`` to ``after``."""
    scripts = ScriptDirectory.from_config(config())
    applied = scripts.iterate_revisions(after, before or "base")
    return [f"{s.revision}: {(s.doc or '').strip()}" for s in reversed(list(applied)) if s is not None]


def current_revision(conn: Connection) -> str | None:
    """The database's revision; BASELINE for a pre-migration database; None for an empty one."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:
        return MigrationContext.configure(conn).get_current_revision()
    if "schema_info" in tables:
        version = conn.scalar(select(SCHEMA_INFO.c.version).where(SCHEMA_INFO.c.id == 1))
        if version == 1:
            return BASELINE
        raise SchemaNotCurrent(f"the database has unknown schema version {version}; use a new database")
    if "submissions" in tables:
        raise SchemaNotCurrent(
            "the database was made by a pre-release gateway and cannot be upgraded; point GATEWAY_DATABASE_URL "
            "at a new database (or, for a development data folder, remove it)"
        )
    return None


def ensure_current(conn: Connection) -> None:
    """Create a new database's schema, accept a current one, refuse the rest (see module doc)."""
    wanted = head()
    found = current_revision(conn)
    if found is None:
        metadata.create_all(conn)
        MigrationContext.configure(conn).stamp(ScriptDirectory.from_config(config()), wanted)
        return
    if found == wanted:
        return
    known = {s.revision for s in ScriptDirectory.from_config(config()).walk_revisions()}
    if found in known:
        raise SchemaNotCurrent(
            f"the database has schema revision {found}, this gateway needs {wanted}: "
            "back it up and run `gateway db upgrade`"
        )
    raise SchemaNotCurrent(
        f"the database has schema revision {found}, made by a newer gateway than this one ({wanted})"
    )


def upgrade(conn: Connection, target: str = "head") -> tuple[str | None, str]:
    """Bring the database to ``target``; returns (revision before, revision after)."""
    before = current_revision(conn)
    cfg = config(conn)
    if before is not None and "alembic_version" not in inspect(conn).get_table_names():
        command.stamp(cfg, BASELINE)  # a pre-migration database is the baseline
    command.upgrade(cfg, target)
    after = MigrationContext.configure(conn).get_current_revision()
    assert after is not None
    return before, after


def new_revision(message: str) -> Path:
    """Write the next migration file: what gateway/store/tables.py has that the migrations
    do not yet make (Alembic autogenerate against a scratch SQLite database at head).
    Review it before committing: autogenerate misses renames and some type changes."""
    import tempfile

    from sqlalchemy import create_engine

    scripts = ScriptDirectory.from_config(config())
    numbers = [int(s.revision) for s in scripts.walk_revisions() if s.revision.isdigit()]
    rev_id = f"{max(numbers, default=0) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/scratch.db")
        with engine.begin() as conn:
            cfg = config(conn)
            if numbers:
                command.upgrade(cfg, "head")
            slug = "_".join("".join(c if c.isalnum() else " " for c in message.lower()).split())[:40]
            script = command.revision(cfg, message, autogenerate=True, rev_id=rev_id)
        engine.dispose()
    assert script is not None and not isinstance(script, list)
    path = Path(script.path)
    return path.rename(path.with_name(f"{rev_id}_{slug}.py"))


@contextlib.asynccontextmanager
async def _schema_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One process at a time: processes starting together on an empty database must not
    both create the tables (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL)."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(sqlite_immediate=True)
        async with conn.begin():
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
            yield conn


def is_current(conn: Connection) -> bool:
    return current_revision(conn) == head()


async def ensure_current_async(engine: AsyncEngine) -> None:
    # The common case, a database already at this gateway's revision, takes no lock: a
    # process must start while another holds SQLite's write lock (a long commit, say).
    async with engine.connect() as conn:
        if await conn.run_sync(is_current):
            return
    async with _schema_transaction(engine) as conn:
        await conn.run_sync(ensure_current)


async def upgrade_async(engine: AsyncEngine, target: str = "head") -> tuple[str | None, str]:
    async with _schema_transaction(engine) as conn:
        return await conn.run_sync(upgrade, target)


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        sys.exit('usage: python -m gateway.store.migrate revision "what changed"')
    print(new_revision(sys.argv[2]))
