"""Writing a submission's files to a folder: safe, bounded names, and all files or none.

A ``bestandsnaam`` is the sender's text: never a path, and not necessarily short in bytes
(80 characters of a 4-byte script are 320 bytes, over the 255 a file name may have).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

#: Bytes of the sender's name kept (ASCII after sanitising, so also characters); the
#: position prefix and the extension come on top, far below any file system's limit.
MAX_STEM = 60
MAX_EXTENSION = 10


@dataclass(frozen=True)
class ExportFile:
    name: str
    content: bytes


def file_name(position: int, bestandsnaam: str) -> str:
    """``NN-<name>``: ASCII letters, digits, '.', '-' and '_' only, bounded in length.

    NFKC first, so that compatibility forms keep their meaning (U+1D7D8 becomes '0').
    """
    text = unicodedata.normalize("NFKC", bestandsnaam)
    text = re.sub(r"[^A-Za-z0-9._-]", "_", text).lstrip(".")
    stem, dot, ext = text.rpartition(".")
    if not dot or not stem or len(ext) > MAX_EXTENSION:
        stem, ext = text, ""
    stem = stem[:MAX_STEM].rstrip(".") or "file"
    return f"{position:02d}-{stem}" + (f".{ext}" if ext else "")


def export_files(directory: Path, files: list[ExportFile]) -> list[Path]:
    """Write every file into ``directory``, or (on any failure) none of them.

    Each file is written to a temporary name in the folder, and only when all are written
    are they renamed to their names; an error removes what this export wrote.
    """
    directory.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    try:
        for f in files:
            fd, tmp_name = tempfile.mkstemp(prefix=".export-", dir=directory)
            staged.append((Path(tmp_name), directory / f.name))
            with os.fdopen(fd, "wb") as out:
                out.write(f.content)
                out.flush()
                os.fsync(out.fileno())
        for tmp, final in staged:
            os.replace(tmp, final)
            placed.append(final)
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        for final in placed:
            with contextlib.suppress(OSError):
                final.unlink()
        raise
    return placed
