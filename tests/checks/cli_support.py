"""Run the real ``gateway`` command in a subprocess, with its own data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def gateway(*args: str, data_dir: Path, cwd: Path | None = None, timeout: float = 120) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_DATA_DIR"] = str(data_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def codes_by_file(run: Run) -> dict[str, list[dict[str, Any]]]:
    return {r["file"]: r["findings"] for r in run.json()}
