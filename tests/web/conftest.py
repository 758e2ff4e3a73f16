"""Fixtures for the Zelf Deponeren tests: a store with a company, a branch and helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.store.db import Store
from gateway.web.service import Service

COMPANY = {
    "kvk_number": "12345678",
    "name": "Voorbeeld Handel B.V.",
    "legal_form": "Besloten vennootschap met beperkte aansprakelijkheid",
    "status": "active",
    "email": "Administratie@Voorbeeld.test",
    "street": "Kerkstraat",
    "house_number": "12",
    "postal_code": "1234AB",
    "city": "Utrecht",
}
OTHER = {
    "kvk_number": "87654321",
    "name": "Andere Zaak B.V.",
    "legal_form": "Besloten vennootschap met beperkte aansprakelijkheid",
    "status": "active",
    "email": "info@andere.test",
    "street": "Marktplein",
    "house_number": "1",
    "postal_code": "4321ZZ",
    "city": "Zwolle",
}
BRANCH = "000012345678"
OTHER_BRANCH = "000087654321"


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[Service]:
    store = Store.from_url(database_url)
    await store.init_schema()
    for company in (COMPANY, OTHER):
        await store.upsert_company(dict(company))
    svc = Service(store)
    await svc.codes.add_branch(BRANCH, "12345678", "Hoofdvestiging", "test")
    await svc.codes.add_branch(OTHER_BRANCH, "87654321", "Hoofdvestiging", "test")
    try:
        yield svc
    finally:
        await store.close()
