"""Importing the local company register from CSV or JSON (``gateway register import``)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.store.db import Store

KVK_NUMBER = re.compile(r"^(?!00)\d{8}$")
STATUSES = {"active", "dissolved"}


@dataclass
class RowError:
    line: int
    kvk_number: str
    message: str


TEXT_COLUMNS = (
    "kvk_number",
    "name",
    "legal_form",
    "street",
    "house_number",
    "house_number_suffix",
    "postal_code",
    "city",
    "status",
    "email",
    "registered_on",
)
#: (column, test of a present value, what is wrong otherwise)
_RULES: tuple[tuple[str, Callable[[str], bool], str], ...] = (
    ("house_number", lambda v: re.fullmatch(r"\d{1,8}", v) is not None, "must be at most 8 digits"),
    ("house_number_suffix", lambda v: len(v) <= 4, "must be at most 4 characters"),
    ("postal_code", lambda v: len(v.replace(" ", "")) <= 6, "must be at most 6 characters"),
)


def _text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return (str(value).strip() or None) if value is not None else None


def _size_history(raw: dict[str, Any]) -> tuple[Any, str | None]:
    """(the size history, a problem or None); a CSV cell holds it as JSON text."""
    history = raw.get("size_history")
    if isinstance(history, str):
        if not history.strip():
            return None, None
        try:
            history = json.loads(history)
        except json.JSONDecodeError:
            return None, "size_history is not valid JSON"
    if history is not None and not isinstance(history, dict):
        return None, "size_history must map a year to its figures"
    return history, None


def validate(raw: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """One register row -> (values for the store, problems). Problems say what to fix."""
    values = {key: _text(raw, key) for key in TEXT_COLUMNS}
    problems: list[str] = []
    kvk = values["kvk_number"] or ""
    if not KVK_NUMBER.match(kvk):
        problems.append(f"kvk_number {kvk!r} must be 8 digits and must not start with 00")
    problems += [f"{key} is required" for key in ("name", "legal_form") if not values[key]]
    for key, ok, wrong in _RULES:
        value = values[key]
        if value is not None and not ok(value):
            problems.append(f"{key} {value!r} {wrong}")
    status = (values["status"] or "active").lower()
    if status not in STATUSES:
        problems.append(f"status {status!r} must be active or dissolved")
    history, problem = _size_history(raw)
    if problem:
        problems.append(problem)
    if problems:
        return None, problems
    postal = values["postal_code"]
    compact = postal.replace(" ", "") if postal else None
    return {**values, "status": status, "postal_code": compact, "size_history": history}, []


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
