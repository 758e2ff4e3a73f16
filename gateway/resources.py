"""Where the data files live and how they are read (cached: they never change at run time)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"


@cache
def load_json(name: str) -> Any:
    with open(SCHEMAS_DIR / name, encoding="utf-8") as fh:
        return json.load(fh)


def schema_path(name: str) -> Path:
    return SCHEMAS_DIR / name


def berichtsoorten() -> dict[str, dict[str, Any]]:
    """The berichtsoorten this gateway accepts, by name (schemas/berichtsoorten.json): both
    intake channels, WUS and the Zelf Deponeren web form, offer the same ones."""
    return dict(load_json("berichtsoorten.json")["berichtsoorten"])
