"""Errors every layer shares.

The one distinction that matters everywhere: a failure of the infrastructure (database, Redis,
SMTP, the KVK API) says nothing about the statement. It is retried, never turned into a verdict.
"""

from __future__ import annotations


class InfrastructureError(Exception):
    """Something outside the statement failed; the work must be retried, not judged."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        #: A short operator-facing reason, e.g. "KVK API unreachable (timeout)".
        self.cause = cause
