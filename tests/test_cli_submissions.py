"""`gateway submissions list/show/export` through the real command, on SQLite and PostgreSQL:
text from senders cannot steer the terminal, and export names are safe and bounded."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

from gateway.domain import Sender, utc_now
from gateway.store.db import Store
from gateway.wus.messages import AanleverRequest, Identiteit, Part

HOSTILE = "JR\u202e1002\u009b31m\x1b]0;x\x07-2025"  # RLO, a one-byte CSI, an OSC title sequence
SENDER = Sender("CN=Filer \u202eA,O=Test,C=NL", "00000003123456780000")


def _store(database_url: str, bestandsnaam: str = "jaarrekening.xbrl", aanleverkenmerk: str = HOSTILE) -> str:
    kenmerk = str(uuid.uuid4())
    req = AanleverRequest(
        "Jaarverantwoording_KvK",
        Identiteit("12345678", "KvK"),
        "Bedrijf",
        [Part(0, "application/xml", bestandsnaam, b"<xbrl/>"), Part(1, "application/pdf", "b\u202efdp.exe", b"%PDF")],
        aanleverkenmerk=aanleverkenmerk,
    )

    async def run() -> None:
        store = Store.from_url(database_url)
        try:
            await store.init_schema()
            await store.record_submission(kenmerk, req, b"<raw/>", SENDER, "filer@example.test", utc_now())
        finally:
            await store.close()

    asyncio.run(run())
    return kenmerk


def _gateway(database_url: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_DATABASE_URL=database_url, GATEWAY_DATA_DIR=str(tmp / "data"))
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], env=env, capture_output=True, timeout=60, check=False
    )


def _assert_inert(out: bytes) -> None:
    text = out.decode("utf-8")
    for ch in ("\u202e", "\u009b", "\x1b", "\x07"):
        assert ch not in text, f"raw {ch!r} reached the terminal"


def test_show_and_list_neutralise_control_and_bidi_characters(database_url: str, tmp_path: Path) -> None:
    kenmerk = _store(database_url)
    shown = _gateway(database_url, tmp_path, "submissions", "show", kenmerk)
    assert shown.returncode == 0, shown.stderr
    _assert_inert(shown.stdout)
    text = shown.stdout.decode()
    assert "aanleverkenmerk  JR\\u202e1002\\x9b31m\\x1b]0;x\\x07-2025" in text  # label, space, value
    assert "b\\u202efdp.exe" in text and "CN=Filer \\u202eA" in text
    listed = _gateway(database_url, tmp_path, "submissions", "list")
    assert listed.returncode == 0, listed.stderr
    _assert_inert(listed.stdout)
    assert "aanleverkenmerk=JR\\u202e1002" in listed.stdout.decode()
    for args in (("show", kenmerk, "--json"), ("list", "--json")):
        as_json = _gateway(database_url, tmp_path, "submissions", *args)
        _assert_inert(as_json.stdout)
        assert "\\u202e" in as_json.stdout.decode()


def test_export_names_are_bounded_and_safe(database_url: str, tmp_path: Path) -> None:
    kenmerk = _store(database_url, bestandsnaam="\U0001d7d8" * 80, aanleverkenmerk="JR-1")
    out = tmp_path / "export"
    done = _gateway(database_url, tmp_path, "submissions", "export", kenmerk, str(out))
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["00-" + "0" * 60, "01-b_fdp.exe", "message.xml"]
    assert (out / names[0]).read_bytes() == b"<xbrl/>"
    assert all(len(n.encode()) <= 80 for n in names)


def test_an_export_that_fails_writes_nothing(database_url: str, tmp_path: Path) -> None:
    kenmerk = _store(database_url, aanleverkenmerk="JR-2")
    out = tmp_path / "export"
    (out / "message.xml").mkdir(parents=True)  # the last file cannot take its place
    done = _gateway(database_url, tmp_path, "submissions", "export", kenmerk, str(out))
    assert done.returncode != 0
    assert b"nothing written" in done.stderr and b"Traceback" not in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["message.xml"]  # only what was there
