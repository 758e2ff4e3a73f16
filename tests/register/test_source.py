"""The register source is chosen by configuration; the local table stays the default."""

from __future__ import annotations

import dataclasses

from gateway.register import StoreRegister, make_register
from gateway.register.api_source import KvkApiRegister
from gateway.register.config import RegisterConfig
from gateway.settings import Settings
from gateway.store.db import Store


async def test_the_local_table_is_the_default(store: Store) -> None:
    await store.upsert_company(
        {"kvk_number": "12345678", "name": "Voorbeeld B.V.", "legal_form": "BV", "status": "active"}
    )
    register = make_register(Settings(), store, RegisterConfig())
    try:
        assert isinstance(register, StoreRegister)
        company = await register.lookup("12345678", kenmerk="K-1")
        assert company is not None and (company.name, company.legal_form) == ("Voorbeeld B.V.", "BV")
        assert await register.lookup("87654321") is None
    finally:
        await register.close()


async def test_an_api_lookup_gets_at_most_half_a_jobs_time(store: Store, api_config: RegisterConfig) -> None:
    register = make_register(Settings(job_timeout=10), store, dataclasses.replace(api_config, deadline=30, timeout=10))
    try:
        assert isinstance(register, KvkApiRegister)
        assert (register.config.deadline, register.config.timeout) == (5.0, 5.0)
    finally:
        await register.close()
