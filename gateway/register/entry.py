"""A register entry as the checks need it, and how a KVK Basisprofiel answer maps onto it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from gateway.domain import Company
from gateway.resources import load_json

#: KVK is a Dutch register and its fees are charged by Dutch calendar day and year.
DUTCH = ZoneInfo("Europe/Amsterdam")


def dutch_date(at: datetime) -> date:
    return at.astimezone(DUTCH).date()


def dutch_today() -> date:
    return dutch_date(datetime.now(UTC))


def plain(text: object) -> str:
    """Text from outside (the API) made safe to show: control characters become spaces and
    format characters (bidi overrides, zero-width) are dropped, so that a name can neither
    break a line nor reorder what surrounds it in a mail, a status or a terminal."""
    out = []
    for ch in str(text):
        category = unicodedata.category(ch)
        if category == "Cc":
            out.append(" ")
        elif category != "Cf":
            out.append(ch)
    return " ".join("".join(out).split())


@dataclass(frozen=True)
class RegisterEntry:
    kvk_number: str
    name: str
    #: The legal form in the words the checks know (schemas/register/legal-forms.json).
    legal_form: str
    #: The legal form as the register writes it.
    registered_as: str | None
    registered_from: str | None  # ISO date
    registered_until: str | None  # ISO date; set when the business ended
    status: str  # active | dissolved

    def to_company(self) -> Company:
        return Company(kvk_number=self.kvk_number, name=self.name, legal_form=self.legal_form, status=self.status)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RegisterEntry:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


@cache
def _legal_forms() -> tuple[tuple[str, str], ...]:
    return tuple((p.lower(), name) for p, name in load_json("register/legal-forms.json")["prefixes"])


def canonical_legal_form(*registered: str | None) -> str:
    """The checks' name for a legal form the API writes (uitgebreideRechtsvorm first)."""
    for text in registered:
        if not text:
            continue
        low = " ".join(text.lower().split())
        for prefix, name in _legal_forms():
            if low.startswith(prefix):
                return name
    return next((t for t in registered if t), "")


_KVK_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def kvk_date(value: Any) -> date | None:
    """KVK writes dates as YYYYMMDD; unknown parts as zeros (read as the first of the
    period); an all-zero or unreadable date is unknown."""
    m = _KVK_DATE.match(str(value or ""))
    if not m or m.group(1) == "0000":
        return None
    year, month, day = int(m.group(1)), int(m.group(2)) or 1, int(m.group(3)) or 1
    try:
        return date(year, month, day)
    except ValueError:
        return None


def entry_from_basisprofiel(data: dict[str, Any], today: date) -> RegisterEntry:
    """Map a Basisprofiel (v1) answer. The legal form is under ``_embedded.eigenaar``; the
    business's start and end under ``materieleRegistratie``; an owner's
    ``datumUitschrijving`` also ends it."""
    embedded = data.get("_embedded") or {}
    owner = embedded.get("eigenaar") or {}
    main = embedded.get("hoofdvestiging") or {}
    registration = data.get("materieleRegistratie") or {}
    start = kvk_date(registration.get("datumAanvang"))
    ends = [d for d in (kvk_date(registration.get("datumEinde")), kvk_date(owner.get("datumUitschrijving"))) if d]
    end = min(ends) if ends else None
    registered_as = owner.get("uitgebreideRechtsvorm") or owner.get("rechtsvorm")
    name = data.get("naam") or data.get("statutaireNaam") or main.get("eersteHandelsnaam") or ""
    forms = [plain(f) for f in (owner.get("uitgebreideRechtsvorm"), owner.get("rechtsvorm")) if f]
    return RegisterEntry(
        kvk_number=plain(data.get("kvkNummer") or ""),
        name=plain(name),
        legal_form=canonical_legal_form(*forms),
        registered_as=plain(registered_as) if registered_as else None,
        registered_from=start.isoformat() if start else None,
        registered_until=end.isoformat() if end else None,
        status="dissolved" if end is not None and end <= today else "active",
    )
