"""Settings: each default stated once, each overridable by its documented variable."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from gateway.settings import Settings, SettingsError

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_hold_without_environment() -> None:
    assert Settings.from_env({}) == Settings()


def test_each_variable_overrides_its_field_with_the_fields_type() -> None:
    s = Settings.from_env(
        {
            "GATEWAY_PORT": "9443",
            "GATEWAY_REQUIRE_SIGNATURE": "false",
            "GATEWAY_CRL": "a.crl, http://x/b.crl",
            "GATEWAY_TLS_CERT": "/etc/gw/server.pem",
            "GATEWAY_CHECK_TIMEOUT": "1.5",
            "GATEWAY_DATABASE_URL": "",  # empty means unset
        }
    )
    assert s.port == 9443 and s.require_signature is False
    assert s.crl_sources == ("a.crl", "http://x/b.crl")
    assert s.tls_cert == Path("/etc/gw/server.pem")
    assert s.check_timeout == 1.5 and s.check_budget == 1.5
    assert s.database_url is None


def test_a_bad_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="GATEWAY_PORT='eighty'"):
        Settings.from_env({"GATEWAY_PORT": "eighty"})


def test_the_command_reports_a_bad_value_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_WORKER_CONCURRENCY="many", GATEWAY_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "submissions", "list"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "GATEWAY_WORKER_CONCURRENCY='many' is not a valid int" in done.stderr
    assert "Traceback" not in done.stderr


def test_every_variable_is_documented() -> None:
    readme = README.read_text(encoding="utf-8")
    missing = [f.metadata["env"] for f in fields(Settings) if f"`{f.metadata['env']}`" not in readme]
    assert missing == []
