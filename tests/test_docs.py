"""The README documents every finding code the checks can produce."""

from __future__ import annotations

from pathlib import Path

from gateway.resources import load_json

ROOT = Path(__file__).resolve().parent.parent


def test_readme_lists_every_finding_code() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [code for code in load_json("findings.json") if not code.startswith("_") and f"`{code}`" not in readme]
    assert missing == []
