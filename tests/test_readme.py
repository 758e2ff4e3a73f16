"""The READMEs cannot drift: every ``sh`` and ``python`` block of README.md and certs/README.md
runs, in order, as a reader would run it, in a copy of the project with ``scripts/dev``
running (the worked example's "second terminal").

The rules (also in the README, "This README is tested"):
- every fenced block names its language; ``sh``/``bash``/``python`` blocks are run, any other
  language (``text``, ``toml``, ``nginx``, ...) is shown only;
- ``<!-- not run: REASON -->`` on the line before a block skips it, and needs a reason;
- ``<!-- output: TEXT -->`` there (repeatable) checks that the block prints TEXT;
- ports 8443 and 8081 in a block become the free ports the test's gateway listens on.
Blocks that other engineers add later are covered the same way without touching this file.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.queue.redis_server import EmbeddedRedis
from tests.support.smtp import free_port

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "certs/README.md")
RUN = {"sh": "bash", "bash": "bash", "shell": "bash", "python": "python"}
FENCE = re.compile(r"^```\s*([\w+-]*)\s*$")
MARKER = re.compile(r"^<!--\s*(not run|output):\s*(.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    document: str
    line: int
    language: str
    code: str
    not_run: str | None
    outputs: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"


def parse(document: str) -> list[Block]:
    """The fenced blocks of a Markdown file with the markers just above each."""
    lines = (ROOT / document).read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    markers: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i])
        fence = FENCE.match(lines[i])
        if marker:
            markers.append((marker.group(1), marker.group(2)))
        elif fence:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            not_run = [text for kind, text in markers if kind == "not run"]
            blocks.append(
                Block(
                    document=document,
                    line=i + 1,
                    language=fence.group(1),
                    code="\n".join(lines[i + 1 : end]) + "\n",
                    not_run=not_run[0] if not_run else None,
                    outputs=tuple(text for kind, text in markers if kind == "output"),
                )
            )
            markers = []
            i = end
        else:
            assert not markers, f"{document}:{i + 1}: a marker comment must stand right above a code block"
        i += 1
    return blocks


def test_every_block_names_its_language_and_every_skip_its_reason() -> None:
    for document in DOCUMENTS:
        for block in parse(document):
            assert block.language, f"{block.where}: say the block's language (sh, python, or text for output)"
            assert block.not_run is None or block.not_run.strip(), f"{block.where}: 'not run' needs a reason"
            if block.outputs or block.not_run is None:
                continue
            assert block.language in RUN, f"{block.where}: only sh and python blocks are run; no marker needed"
    runnable = [b for d in DOCUMENTS for b in parse(d) if b.language in RUN and b.not_run is None]
    assert len(runnable) >= 8  # the parser found the blocks: it is not vacuously green


@dataclass
class Project:
    folder: Path
    env: dict[str, str]
    port: int
    ops_port: int
    log: Path

    def localise(self, code: str) -> str:
        return code.replace("127.0.0.1:8443", f"127.0.0.1:{self.port}").replace(
            "127.0.0.1:8081", f"127.0.0.1:{self.ops_port}"
        )


def _copy_of_the_project() -> Path:
    # Short: the embedded Redis' unix socket lives in data/ (paths are limited to ~107 bytes).
    folder = Path(tempfile.mkdtemp(prefix="gw-readme-"))
    for entry in ROOT.iterdir():
        if entry.name not in ("data", ".git") and not entry.name.endswith("_cache"):
            (folder / entry.name).symlink_to(entry)
    (folder / "home").mkdir()
    return folder


def _wait_for(project: Project, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"scripts/dev exited: {project.log.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", project.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("scripts/dev did not start listening")


@pytest.fixture(scope="module")
def project() -> Iterator[Project]:
    folder = _copy_of_the_project()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "REQUESTS_", "XDG_"))}
    port, ops_port = free_port(), free_port()
    env.update(
        HOME=str(folder / "home"),
        GATEWAY_PORT=str(port),
        GATEWAY_OPS_PORT=str(ops_port),
        GATEWAY_WEB_PORT=str(free_port()),
    )
    p = Project(folder, env, port, ops_port, folder / "dev.log")
    with open(p.log, "wb") as log:
        proc = subprocess.Popen(["scripts/dev"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(p, proc)
        yield p
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        EmbeddedRedis(folder / "data").stop()
        shutil.rmtree(folder, ignore_errors=True)


def _run(project: Project, block: Block) -> subprocess.CompletedProcess[str]:
    code = project.localise(block.code)
    if RUN[block.language] == "python":
        command = [sys.executable, "-c", code]
    else:
        command = ["bash", "-e", "-o", "pipefail", "-c", code]
    return subprocess.run(command, cwd=project.folder, env=project.env, capture_output=True, text=True, timeout=300)


def test_every_command_block_runs(project: Project) -> None:
    ran = 0
    for document in DOCUMENTS:
        for block in parse(document):
            if block.language not in RUN or block.not_run is not None:
                continue
            if "chromium" in block.code and shutil.which("chromium") is None:
                raise AssertionError(f"{block.where} needs chromium: apt-get install -y chromium")
            result = _run(project, block)
            printed = result.stdout + result.stderr
            assert result.returncode == 0, (
                f"{block.where} ({block.language}) exited {result.returncode}\n--- stdout\n{result.stdout[-3000:]}"
                f"\n--- stderr\n{result.stderr[-3000:]}\n--- scripts/dev\n{project.log.read_text()[-2000:]}"
            )
            for expected in block.outputs:
                assert expected in printed, f"{block.where} did not print {expected!r}:\n{printed[-3000:]}"
            ran += 1
    assert ran >= 8
