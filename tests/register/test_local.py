"""Importing the local register (CSV and JSON), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.register import StoreRegister, import_file
from gateway.store.db import Store

CSV = """kvk_number,name,legal_form,postal_code,status,size_history,house_number
12345678,Voorbeeld B.V.,BV,1234 AB,Active,"{""2023"": {""class"": ""small""}}",12
0012345,Nul B.V.,BV,,active,,
23456789,,BV,1234 ABCD,gone,[1,12a
"""


async def test_import_reports_every_problem_and_keeps_the_good_rows(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text(CSV, encoding="utf-8")
    inserted, updated, errors = await import_file(store, path)
    assert (inserted, updated) == (1, 0)
    assert [(e.line, e.message) for e in errors] == [
        (3, "kvk_number '0012345' must be 8 digits and must not start with 00"),
        (
            4,
            "name is required; house_number '12a' must be at most 8 digits; postal_code '1234 ABCD' must be at "
            "most 6 characters; status 'gone' must be active or dissolved; size_history is not valid JSON",
        ),
    ]
    row = await store.get_company("12345678")
    assert row is not None and (row.postal_code, row.status, row.size_history) == (
        "1234AB",
        "active",
        {"2023": {"class": "small"}},
    )
    again = tmp_path / "register.json"
    again.write_text(json.dumps([{"kvk_number": "12345678", "name": "Nieuw B.V.", "legal_form": "BV"}]))
    assert await import_file(store, again) == (0, 1, [])
    company = await StoreRegister(store).lookup("12345678")
    assert company is not None and company.name == "Nieuw B.V."
