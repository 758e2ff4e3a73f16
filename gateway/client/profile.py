"""Certificate options from a profile file, so that a filer does not type five options per call.

A profile is a TOML file with any of ``url``, ``cert``, ``key``, ``ca``, ``server_cert``; relative
paths are taken from the profile's own folder. Precedence: command-line option, then the
``GATEWAY_CLIENT_*`` environment variable, then the profile, then the built-in default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from gateway.client.problems import Problem

KEYS = ("url", "cert", "key", "ca", "server_cert")
PATH_KEYS = frozenset({"cert", "key", "ca", "server_cert"})


def default_profile_path() -> Path:
    """``$XDG_CONFIG_HOME/gateway-client/profile.toml`` (``~/.config/...`` without XDG)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gateway-client" / "profile.toml"


@dataclass(frozen=True)
class Profile:
    source: Path | None
    values: dict[str, str]

    def get(self, name: str) -> str | None:
        return self.values.get(name)


def load_profile(explicit: str | None) -> Profile:
    """The profile named by --profile / GATEWAY_CLIENT_PROFILE, else the default one if it exists."""
    path = Path(explicit) if explicit else default_profile_path()
    if not path.exists():
        if explicit:
            raise Problem(f"profile {path} does not exist: check --profile or GATEWAY_CLIENT_PROFILE")
        return Profile(None, {})
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise Problem(f"profile {path} is not readable TOML: {exc}") from None
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise Problem(f"profile {path} has unknown keys {', '.join(unknown)}; allowed: {', '.join(KEYS)}")
    values: dict[str, str] = {}
    for name, value in data.items():
        if not isinstance(value, str):
            raise Problem(f"profile {path}: {name} must be a string")
        values[name] = str(path.parent / value) if name in PATH_KEYS else value
    return Profile(path, values)
