"""The gateway as real processes (TLS port, worker) for the interoperability tests, with its
own OIN configured: Digipoort answers its OIN as identiteitOntvanger."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import make_stack, running
from tests.support.gateway import Stack
from tests.support.pki import Pki
from tests.support.smtp import SmtpSink

GATEWAY_OIN = "00000004000000000099"


@pytest.fixture
def interop_stack(pki: Pki, smtp: SmtpSink, sqlite_url: str) -> Iterator[Stack]:
    yield from running(make_stack(pki, smtp, sqlite_url, extra_env={"GATEWAY_OIN": GATEWAY_OIN}))


@pytest.fixture
def interop_stack_any_db(pki: Pki, smtp: SmtpSink, database_url: str) -> Iterator[Stack]:
    """The same on SQLite and on PostgreSQL (the outcome and MessageID queries run on both)."""
    yield from running(make_stack(pki, smtp, database_url, extra_env={"GATEWAY_OIN": GATEWAY_OIN}))
