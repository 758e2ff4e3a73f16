"""The register source the checks consult, chosen by configuration.

``local``: the company table imported with ``gateway register import`` (the embedded
default). ``kvk-api``: the KVK API, cached in the store and priced (``api_source``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from gateway.domain import Company
from gateway.register.config import RegisterConfig
from gateway.settings import Settings
from gateway.store.db import Store


class RegisterSource(Protocol):
    async def lookup(self, kvk_number: str, *, kenmerk: str | None = None) -> Company | None:
        """The company, None when the register has no such number. ``kenmerk``: the
        submission this look-up is for (a source that can make it wait records why)."""

    async def close(self) -> None: ...


class StoreRegister:
    """The local company table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def lookup(self, kvk_number: str, *, kenmerk: str | None = None) -> Company | None:
        row = await self.store.get_company(kvk_number)
        return company_from_row(row) if row is not None else None

    async def close(self) -> None:
        return None


def company_from_row(row: Any) -> Company:
    """A row of the local company table as the checks read it (the worker also reads the
    row in the transaction that claims a run: gateway/store/runs.py)."""
    return Company(
        kvk_number=row.kvk_number,
        name=row.name,
        legal_form=row.legal_form,
        status=row.status,
        size_history=row.size_history or {},
    )


def make_register(settings: Settings, store: Store, config: RegisterConfig | None = None) -> RegisterSource:
    """The configured source (``GATEWAY_REGISTER_SOURCE``). A look-up through the API gets at
    most half a job's time, so that a job that waited on it still ends in time."""
    config = config or RegisterConfig.from_env()
    if config.source == "kvk-api":
        from gateway.register.api_source import KvkApiRegister

        deadline = min(config.deadline, max(1.0, settings.job_timeout / 2))
        return KvkApiRegister(store, replace(config, deadline=deadline, timeout=min(config.timeout, deadline)))
    return StoreRegister(store)
