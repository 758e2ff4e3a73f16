"""Schema migrations through ``gateway db upgrade``, on SQLite and PostgreSQL.

- The migrations make exactly the tables gateway/store/tables.py declares (so a table change
  without its migration fails here, with what to run).
- A database of the schema before migrations (main's tables, filled) is refused at start with
  what to do, upgrades without losing a row, and then serves the CLI.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, inspect, select, text

from gateway.store import migrate
from gateway.store.db import Store
from gateway.store.tables import metadata

#: The tables and columns of the schema before migrations (schema_info version 1), as main
#: had them; guards revision 0001 against edits.
SCHEMA_BEFORE_MIGRATIONS = {
    "companies": "kvk_number name legal_form street house_number house_number_suffix postal_code city status email "
    "registered_on size_history updated_at",
    "documents": "id kenmerk position mime_type bestandsnaam sha256 size content",
    "filings": "id kvk_number financial_year kenmerk adopted active accepted_at figures",
    "findings": "id kenmerk run code severity message_nl message_en location",
    "notifications": "id kenmerk run outcome recipient state attempts last_error created_at sent_at",
    "raw_messages": "kenmerk content",
    "replays": "id kenmerk run actor reason created_at",
    "schema_info": "id version",
    "statuses": "id kenmerk run code description created_at foutcode foutbeschrijving details fetched_at",
    "submissions": "kenmerk berichtsoort aanleverkenmerk eerder_aanleverkenmerk belanghebbende_nummer "
    "belanghebbende_type rol_belanghebbende ontvanger_nummer ontvanger_type rol_ontvanger autorisatie_adres "
    "sender_subject sender_oin notify_address received_at state run outcome final_status kvk_number "
    "financial_year check_seconds raw_sha256 raw_size updated_at",
}

T0 = datetime(2026, 3, 1, 12, 0, 0)


def _rows(n_submissions: int = 3) -> dict[str, list[dict[str, Any]]]:
    """Rows for every table of the old schema: a few submissions with everything they own."""
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in SCHEMA_BEFORE_MIGRATIONS if t != "schema_info"}
    rows["companies"].append(
        dict(
            kvk_number="12345678",
            name="Voorbeeld Handel B.V.",
            legal_form="BV",
            status="active",
            size_history={"2023": {"assets": 1}},
            updated_at=T0,
            city="Utrecht",
        )
    )
    for i in range(n_submissions):
        k = f"00000000-0000-4000-8000-00000000000{i}"
        rows["submissions"].append(
            dict(
                kenmerk=k,
                berichtsoort="Jaarverantwoording_KvK",
                aanleverkenmerk=f"JR-{i}",
                belanghebbende_nummer="12345678",
                belanghebbende_type="KvK",
                rol_belanghebbende="Bedrijf",
                sender_subject="CN=Filer",
                sender_oin="00000003123456780000",
                notify_address="f@example.test",
                received_at=T0,
                state="done",
                run=1,
                outcome="accepted",
                final_status="500",
                kvk_number="12345678",
                financial_year=2020 + i,
                check_seconds=0.25,
                raw_sha256="a" * 64,
                raw_size=3,
                updated_at=T0,
            )
        )
        rows["raw_messages"].append(dict(kenmerk=k, content=b"<x/>" + bytes([i, 0, 255])))
        rows["documents"].append(
            dict(
                id=i + 1,
                kenmerk=k,
                position=0,
                mime_type="application/xml",
                bestandsnaam="j.xbrl",
                sha256="b" * 64,
                size=4,
                content=b"\x00\x01xbrl",
            )
        )
        for j, code in enumerate(("105", "100", "500")):
            rows["statuses"].append(
                dict(
                    id=3 * i + j + 1,
                    kenmerk=k,
                    run=1,
                    code=code,
                    description=f"status {code}",
                    created_at=T0,
                    fetched_at=T0 if j == 0 else None,
                    details="één regel" if j == 2 else None,
                )
            )
        rows["findings"].append(
            dict(
                id=i + 1,
                kenmerk=k,
                run=1,
                code="GW-DL-01",
                severity="warning",
                message_nl="laat",
                message_en="late",
                location="line 1",
            )
        )
        rows["notifications"].append(
            dict(
                id=i + 1,
                kenmerk=k,
                run=1,
                outcome="accepted",
                recipient="f@example.test",
                state="sent",
                attempts=1,
                created_at=T0,
                sent_at=T0,
            )
        )
        rows["filings"].append(
            dict(
                id=i + 1,
                kvk_number="12345678",
                financial_year=2020 + i,
                kenmerk=k,
                adopted=True,
                active=True,
                accepted_at=T0,
                figures={"assets": 1000 + i},
            )
        )
        rows["replays"].append(dict(id=i + 1, kenmerk=k, run=1, actor="ops", reason="test", created_at=T0))
    return rows


def _with_connection(url: str, fn: Callable[[Connection], Any]) -> Any:
    async def go() -> Any:
        store = Store.from_url(url)
        try:
            async with store.engine.begin() as conn:
                return await conn.run_sync(fn)
        finally:
            await store.close()

    return asyncio.run(go())


def _make_database_before_migrations(url: str) -> dict[str, list[dict[str, Any]]]:
    """What main's gateway left behind: its tables (revision 0001 without Alembic's own
    table), schema_info version 1, and rows in every table."""
    rows = _rows()

    def build(conn: Connection) -> None:
        migrate.upgrade(conn, migrate.BASELINE)
        conn.execute(text("DROP TABLE alembic_version"))
        found = {t: " ".join(c["name"] for c in inspect(conn).get_columns(t)) for t in inspect(conn).get_table_names()}
        assert found == SCHEMA_BEFORE_MIGRATIONS
        old = MetaData()
        old.reflect(conn)
        for table in ("companies", "submissions", "raw_messages", "documents", "statuses", "findings",
                      "notifications", "filings", "replays"):  # fmt: skip
            conn.execute(old.tables[table].insert(), rows[table])

    _with_connection(url, build)
    return rows


def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the old schema's tables, old columns only, in key order."""

    def dump(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
        now = MetaData()
        now.reflect(conn)
        out = {}
        for name, columns in SCHEMA_BEFORE_MIGRATIONS.items():
            if name not in now.tables:
                continue
            table = now.tables[name]
            cols = [table.c[c] for c in columns.split()]
            out[name] = [tuple(r) for r in conn.execute(select(*cols).order_by(*table.primary_key.columns))]
        return out

    result: dict[str, list[tuple[Any, ...]]] = _with_connection(url, dump)
    return result


def gateway(url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_DATABASE_URL=url, GATEWAY_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _differences(url: str) -> list[Any]:
    def compare(conn: Connection) -> list[Any]:
        diff: list[Any] = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        return diff

    result: list[Any] = _with_connection(url, compare)
    return result


def test_migrations_make_the_tables_the_code_declares(database_url: str, tmp_path: Path) -> None:
    upgraded = gateway(database_url, tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    first, *applied = upgraded.stdout.splitlines()
    assert first == f"database schema upgraded from revision none (empty database) to {migrate.head()}"
    assert applied[:2] == [
        "  applied 0001: baseline: the schema before migrations",
        "  applied 0002: drop schema_info: the revision lives in alembic_version",
    ]
    assert upgraded.stderr == ""
    differences = _differences(database_url)
    assert differences == [], (
        "gateway/store/tables.py and the migrations disagree; write the migration with "
        f'scripts/migration "what changed" (README, Schema migrations): {differences}'
    )
    assert gateway(database_url, tmp_path, "db", "current").stdout.split() == [
        "database:",
        migrate.head(),
        "this",
        "gateway:",
        migrate.head(),
    ]


def test_a_new_database_is_made_current_at_start(database_url: str, tmp_path: Path) -> None:
    listed = gateway(database_url, tmp_path, "submissions", "list")
    assert listed.returncode == 0, listed.stderr
    assert _differences(database_url) == []
    again = gateway(database_url, tmp_path, "db", "upgrade")
    assert again.stdout.strip() == f"database schema is at revision {migrate.head()}; nothing to do"


def test_a_database_of_the_previous_schema_upgrades_without_losing_a_row(database_url: str, tmp_path: Path) -> None:
    rows = _make_database_before_migrations(database_url)
    before = _dump(database_url)
    assert sum(len(v) for v in before.values()) == sum(len(v) for v in rows.values()) + 1  # + schema_info

    refused = gateway(database_url, tmp_path, "submissions", "list")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == (
        f"Error: the database has schema revision 0001, this gateway needs {migrate.head()}: "
        "back it up and run `gateway db upgrade`"
    )

    upgraded = gateway(database_url, tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    first, *applied = upgraded.stdout.splitlines()
    assert first == f"database schema upgraded from revision 0001 to {migrate.head()}"
    assert applied[0] == "  applied 0002: drop schema_info: the revision lives in alembic_version"
    assert upgraded.stderr == ""
    after = _dump(database_url)
    # schema_info's one row became the revision in alembic_version (0002); every other row stays.
    assert before.pop("schema_info") == [(1, 1)] and "schema_info" not in after
    assert after == before
    assert _differences(database_url) == []

    shown = gateway(database_url, tmp_path, "submissions", "show", rows["submissions"][1]["kenmerk"], "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["aanleverkenmerk"] == "JR-1"


def test_processes_starting_together_on_an_empty_database_create_it_once(database_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_DATABASE_URL=database_url, GATEWAY_DATA_DIR=str(tmp_path))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "submissions", "list", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    assert [r[2] for r in results] == [0, 0, 0, 0], [r[1] for r in results]
    assert _differences(database_url) == []
