"""Which failures are the infrastructure's (retried, never a verdict), and how long to wait."""

from __future__ import annotations

from redis.exceptions import RedisError

from gateway.errors import InfrastructureError
from gateway.queue.checking import CheckStalled
from gateway.store.errors import is_transient


def is_infrastructure(exc: BaseException) -> bool:
    """A failure of the database, Redis, the network or a register backend: retried for as
    long as it lasts, never a verdict on the statement."""
    return isinstance(exc, InfrastructureError | RedisError | OSError | CheckStalled) or is_transient(exc)


def backoff(job_try: int, cap: float = 60.0) -> float:
    return float(min(cap, 0.5 * 2 ** max(0, job_try - 1)))
