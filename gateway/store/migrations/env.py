"""Alembic's entry point: runs migrations on the connection gateway.store.migrate hands over.

There is no alembic.ini: gateway.store.migrate builds the configuration, opens the database
the way the gateway does (same engine options) and passes the connection in
``config.attributes["connection"]``.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

from gateway.store.tables import UTCDateTime, metadata


def render_item(kind: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write the database type, not our Python-side wrapper: a migration must not change
    meaning when gateway code changes later."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=True,
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
