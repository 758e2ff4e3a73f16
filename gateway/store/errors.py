"""Which database errors say something about the database rather than about the data.

A dropped connection, a server shutting down, a full connection table, a locked SQLite
file: the same work succeeds later, so it is retried, never judged. A deadlock or a
serialization failure is retried at once: the other transaction has gone by then.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import exc as sa

#: SQLSTATE classes of PostgreSQL errors that are the infrastructure's: connection
#: exception, insufficient resources, operator intervention (e.g. 57P01 admin shutdown),
#: system error, and transaction rollback (deadlock, serialization failure).
_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")
_CONFLICT_SQLSTATES = ("40001", "40P01")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what SQLAlchemy wraps (``orig``) and its causes, each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend([getattr(e, "orig", None), e.__cause__, e.__context__])


def _sqlstate(e: BaseException) -> str:
    return str(getattr(e, "sqlstate", None) or getattr(e, "pgcode", None) or "")


def _transient_one(e: BaseException) -> bool:
    if isinstance(e, sa.DBAPIError) and e.connection_invalidated:
        return True
    if isinstance(e, (sa.OperationalError, sa.InterfaceError, sa.DisconnectionError, sa.TimeoutError)):
        return True
    if isinstance(e, (ConnectionError, TimeoutError)):
        return True
    if _sqlstate(e).startswith(_TRANSIENT_SQLSTATE_CLASSES):
        return True
    # asyncpg's client-side errors on a lost connection carry no SQLSTATE.
    return type(e).__name__ in ("ConnectionDoesNotExistError", "InterfaceError") and "connection" in str(e).lower()


def is_transient(exc: BaseException) -> bool:
    """True if the error is the database's (or its connection's), not the statement's."""
    return any(_transient_one(e) for e in _chain(exc))


def is_conflict(exc: BaseException) -> bool:
    """True for a deadlock or serialization failure: run the transaction again at once."""
    return any(_sqlstate(e) in _CONFLICT_SQLSTATES for e in _chain(exc))
