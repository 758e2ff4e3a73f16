"""Who gets the outcome mail for a sender: a JSON file keyed by OIN or certificate subject.

{"00000003123456780000": {"email": "jaarrekening@kantoor.example", "name": "Kantoor BV"}}
"""

from __future__ import annotations

import json
from pathlib import Path

from gateway.store.db import Sender


class SenderDirectory:
    def __init__(self, entries: dict[str, dict[str, str]], default: str | None) -> None:
        self.entries = entries
        self.default = default

    @classmethod
    def load(cls, path: Path | None, default: str | None) -> SenderDirectory:
        if path is None or not path.exists():
            return cls({}, default)
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return cls({str(k): v for k, v in data.items()}, default)

    def notify_address(self, sender: Sender) -> str | None:
        for key in (sender.oin, sender.subject):
            if key and key in self.entries and self.entries[key].get("email"):
                return self.entries[key]["email"]
        return self.default
