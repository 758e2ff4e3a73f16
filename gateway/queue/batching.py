"""Group calls: callers that arrive while a call is under way share the next one.

The worker runs many jobs at once, and each of them claims its run and finishes it in a
transaction. A transaction costs about the same for one run as for thirty (the connection
check, BEGIN, COMMIT with its fsync, and SQLAlchemy's work per statement dominate), so the
jobs that reach the same step while one transaction is under way wait for the next, which
takes them all. Nothing waits on purpose: a lone caller goes at once, and batches grow only
when the database is the bottleneck, which is exactly when they help. (The same idea as
the intake's group commit, gateway/store/db.py ``record_submission``.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: What one call does for many: one result, or an exception for that caller alone, per item.
Call = Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]


class Grouped(Generic[T, R]):
    def __init__(self, call: Call[T, R], *, limit: int = 64) -> None:
        self._call = call
        self._limit = limit
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        """The result for ``item``, or its exception; an exception of the whole call (the
        database is down, say) is every caller's."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        # A caller cancelled meanwhile (its job timed out) no longer reads its outcome.
        future.add_done_callback(_retrieve)
        self._waiting.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        # Shielded: a cancelled caller must not cancel the call its batch shares; what the
        # call wrote for it stays written, and the job that runs again finds it done.
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._limit], self._waiting[self._limit :]
            try:
                results = await self._call([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:  # cancelled (shutting down): nobody may wait for ever
                for _, future in batch + self._waiting:
                    future.cancel()
                self._waiting = []
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
