"""requirements.lock pins every dependency pyproject.toml declares (runtime and test extra),
each with hashes, and the environment the tests run in was installed from it
(scripts/bootstrap). A dependency added to pyproject.toml without `scripts/lock` fails here."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def _locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes)."""
    pins: dict[str, tuple[str, int]] = {}
    current: str | None = None
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = (match.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def test_the_lock_pins_every_declared_dependency_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]
    pins = _locked()
    assert len(pins) > len(declared)  # the whole tree, not just the top level
    unpinned = [str(r) for r in declared if canonicalize_name(r.name) not in pins]
    assert unpinned == [], f"not in requirements.lock: {unpinned}; run scripts/lock"
    outside = [f"{r} (locked {pins[canonicalize_name(r.name)][0]})" for r in declared
               if not r.specifier.contains(pins[canonicalize_name(r.name)][0], prereleases=True)]  # fmt: skip
    assert outside == [], f"locked versions outside pyproject.toml's ranges: {outside}; run scripts/lock"
    assert [name for name, (_, hashes) in pins.items() if hashes == 0] == []


def test_the_test_environment_was_installed_from_the_lock() -> None:
    differing = {}
    for name, (version, _) in _locked().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "missing"
        if installed != version:
            differing[name] = f"{installed} installed, {version} locked"
    assert differing == {}, f"run scripts/bootstrap: {differing}"
