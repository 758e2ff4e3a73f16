"""One gateway for all KVK-rule tests (SQLite), with a register of test companies."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import make_stack, short_tmp
from tests.support.gateway import Stack
from tests.support.pki import Pki
from tests.support.smtp import SmtpSink
from tests.support.wus_client import WusClient

BV = "Besloten vennootschap met beperkte aansprakelijkheid"
# Companies with a special standing; ordinary BVs are numbered from 30000001 on.
SPECIAL = [
    {"kvk_number": "40000001", "name": "Opgeheven B.V.", "legal_form": BV, "status": "dissolved"},
    {"kvk_number": "40000002", "name": "Bakkerij Jansen", "legal_form": "Eenmanszaak", "status": "active"},
    {"kvk_number": "40000003", "name": "Jansen en Zn", "legal_form": "Vennootschap onder firma", "status": "active"},
    {"kvk_number": "40000004", "name": "Stichting Klein", "legal_form": "Stichting", "status": "active"},
    {"kvk_number": "40000005", "name": "Stichting Groot", "legal_form": "Stichting", "status": "active"},
]
ORDINARY = 400


@dataclass
class KvkEnv:
    stack: Stack
    client: WusClient
    numbers: Iterator[str]

    def company(self) -> str:
        """A fresh, active BV nobody has filed for yet."""
        return next(self.numbers)


@pytest.fixture(scope="module")
def kvk(pki: Pki, smtp: SmtpSink) -> Iterator[KvkEnv]:
    data_dir = short_tmp()
    stack = make_stack(pki, smtp, f"sqlite+aiosqlite:///{data_dir / 'gateway.db'}")
    stack.data_dir = data_dir
    rows: list[dict[str, Any]] = [
        {"kvk_number": f"{30000001 + i}", "name": f"Handel {i} B.V.", "legal_form": BV, "status": "active"}
        for i in range(ORDINARY)
    ] + SPECIAL
    path = data_dir / "register.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["kvk_number", "name", "legal_form", "status"])
        writer.writeheader()
        writer.writerows(rows)
    stack.cli("register", "import", str(path))
    stack.start_server()
    stack.start_worker()
    numbers = (f"{30000001 + i}" for i in itertools.count())
    yield KvkEnv(stack, stack.client(pki.client("kvk-filer")), numbers)
    stack.stop()
