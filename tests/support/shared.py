"""Where the test material made by others lives (``../shared/`` beside the project).

The official WSDL/XSD, the conformance suite, the Inline XBRL examples, the NT taxonomy, the
PKIoverheid certificates and the recorded KVK API answers are read from there at test time and
never copied into the project. ``GATEWAY_SHARED_DIR`` overrides the location.
"""

from __future__ import annotations

import os
from pathlib import Path

_PROJECT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """The shared material folder; a missing folder is an error, never a silent skip."""
    candidates = [os.environ.get("GATEWAY_SHARED_DIR"), _PROJECT.parent / "shared", "/work/shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "reference").is_dir():
            return Path(candidate)
    raise RuntimeError(
        "the shared test material (../shared beside the project) was not found; "
        "set GATEWAY_SHARED_DIR to its location"
    )


def shared(*parts: str) -> Path:
    """A path inside the shared folder, e.g. ``shared("interop", "samples")``."""
    path = shared_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"shared test material missing: {path}")
    return path
