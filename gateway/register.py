"""The company register the checks consult, and importing it from CSV or JSON.

The checks see only the ``Register`` protocol, so a backend that asks the KVK API can
replace the database one without touching them.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gateway.checks.base import Company
from gateway.store.db import Store

KVK_NUMBER = re.compile(r"^(?!00)\d{8}$")
STATUSES = {"active", "dissolved"}


class Register(Protocol):
    async def lookup(self, kvk_number: str) -> Company | None: ...


class StoreRegister:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def lookup(self, kvk_number: str) -> Company | None:
        row = await self.store.get_company(kvk_number)
        if row is None:
            return None
        return Company(
            kvk_number=row.kvk_number,
            name=row.name,
            legal_form=row.legal_form,
            status=row.status,
            size_history=row.size_history or {},
        )


@dataclass
class RowError:
    line: int
    kvk_number: str
    message: str


def validate(raw: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """One register row -> (values for the store, problems). Problems say what to fix."""
    problems: list[str] = []

    def text(key: str) -> str | None:
        v = raw.get(key)
        if v is None:
            return None
        v = str(v).strip()
        return v or None

    kvk = text("kvk_number") or ""
    if not KVK_NUMBER.match(kvk):
        problems.append(f"kvk_number {kvk!r} must be 8 digits and must not start with 00")
    name = text("name")
    if not name:
        problems.append("name is required")
    legal_form = text("legal_form")
    if not legal_form:
        problems.append("legal_form is required")
    house_number = text("house_number")
    if house_number is not None and not re.fullmatch(r"\d{1,8}", house_number):
        problems.append(f"house_number {house_number!r} must be at most 8 digits")
    suffix = text("house_number_suffix")
    if suffix is not None and len(suffix) > 4:
        problems.append(f"house_number_suffix {suffix!r} must be at most 4 characters")
    postal = text("postal_code")
    if postal is not None and len(postal.replace(" ", "")) > 6:
        problems.append(f"postal_code {postal!r} must be at most 6 characters")
    status = (text("status") or "active").lower()
    if status not in STATUSES:
        problems.append(f"status {status!r} must be active or dissolved")
    history = raw.get("size_history")
    if isinstance(history, str):
        try:
            history = json.loads(history) if history.strip() else None
        except json.JSONDecodeError:
            problems.append("size_history is not valid JSON")
            history = None
    if history is not None and not isinstance(history, dict):
        problems.append("size_history must map a year to its figures")
    if problems:
        return None, problems
    return {
        "kvk_number": kvk,
        "name": name,
        "legal_form": legal_form,
        "street": text("street"),
        "house_number": house_number,
        "house_number_suffix": suffix,
        "postal_code": postal.replace(" ", "") if postal else None,
        "city": text("city"),
        "status": status,
        "email": text("email"),
        "registered_on": text("registered_on"),
        "size_history": history,
    }, []


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or index, row) from a CSV file with a header, or a JSON list of objects."""
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValueError("a JSON register file must hold a list of companies")
        for i, item in enumerate(data, start=1):
            yield i, item if isinstance(item, dict) else {}
        return
    yield from read_csv(path)


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            yield reader.line_num, row


async def import_file(store: Store, path: Path) -> tuple[int, int, list[RowError]]:
    """Upsert every valid row; returns (inserted, updated, errors)."""
    rows: Iterable[tuple[int, dict[str, Any]]] = read_rows(path)
    inserted = updated = 0
    errors: list[RowError] = []
    for line, raw in rows:
        values, problems = validate(raw)
        if values is None:
            errors.append(RowError(line, str(raw.get("kvk_number", "")), "; ".join(problems)))
            continue
        if await store.upsert_company(values):
            inserted += 1
        else:
            updated += 1
    return inserted, updated, errors
