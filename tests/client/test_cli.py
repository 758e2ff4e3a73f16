"""``gateway-client`` as a filer uses it: the real CLI against a running gateway (server and
worker on SQLite; the client's subject is not the database)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from gateway.devcerts import new_dev_ca
from tests.client.conftest import ClientRun, credentials, run_client
from tests.conftest import make_stack, running
from tests.support.gateway import Stack
from tests.support.pki import Pki
from tests.support.smtp import SmtpSink, free_port
from tests.support.xbrl import Statement

KENMERK = re.compile(r"^[0-9a-f-]{36}$")


def _statement(tmp_path: Path, **kw: object) -> Path:
    path = tmp_path / "jaarrekening.xbrl"
    path.write_bytes(Statement(**kw).build())  # type: ignore[arg-type]
    return path


def _one_line(run: ClientRun) -> str:
    assert run.code == 2, run
    assert "Traceback" not in run.stderr
    assert len(run.error_lines) == 1, run.stderr
    assert run.stdout == ""
    return run.error_lines[0]


def test_both_clis_have_a_version(home: Path) -> None:
    client = run_client("--version", home=home)
    server = subprocess.run([sys.executable, "-m", "gateway.cli", "--version"], capture_output=True, text=True)
    assert client.code == 0 and re.fullmatch(r"gateway-client, version \d+\.\d+\.\d+\n", client.stdout)
    assert server.returncode == 0 and re.fullmatch(r"gateway, version \d+\.\d+\.\d+\n", server.stdout)


def test_help_needs_no_certificate_and_documents_the_exit_codes(home: Path) -> None:
    for command in ("submit", "status"):
        run = run_client(command, "--help", home=home)
        assert run.code == 0, run.stderr
        assert "Exit codes" in run.stdout
        assert "1  rejected" in run.stdout and "2  could not submit" in run.stdout
        assert "GATEWAY_CLIENT_CERT" in run.stdout


def test_missing_certificate_options_say_where_they_come_from(home: Path, tmp_path: Path) -> None:
    line = _one_line(run_client("submit", str(_statement(tmp_path)), "--kvk", "12345678", home=home))
    assert "missing --cert, --key, --ca" in line and "GATEWAY_CLIENT_CERT" in line and "profile" in line


def test_gateway_not_running(gateway: Stack, home: Path, tmp_path: Path) -> None:
    args = credentials(gateway)
    args[1] = f"https://127.0.0.1:{free_port()}/wus/2.0"
    line = _one_line(run_client(*args, "submit", str(_statement(tmp_path)), "--kvk", "12345678", home=home))
    assert "connection refused" in line and "is it running" in line and "--url" in line


def test_wrong_ca(gateway: Stack, home: Path, tmp_path: Path) -> None:
    other_root = tmp_path / "other-root.pem"
    other_root.write_bytes(new_dev_ca().root.cert_pem())
    args = credentials(gateway)
    args[args.index("--ca") + 1] = str(other_root)
    line = _one_line(run_client(*args, "status", str(uuid.uuid4()), home=home))
    assert "not trusted" in line and str(other_root) in line and "certificate verify failed" in line


def test_key_not_matching_certificate(gateway: Stack, home: Path) -> None:
    args = credentials(gateway, "filer-a")
    other_key = gateway.pki.client("filer-b").key
    args[args.index("--key") + 1] = str(other_key)
    line = _one_line(run_client(*args, "status", str(uuid.uuid4()), home=home))
    assert f"the key {other_key} does not belong to the certificate" in line


def test_server_certificate_as_client_certificate(gateway: Stack, home: Path) -> None:
    args = credentials(gateway)
    args[args.index("--cert") + 1] = str(gateway.pki.server.cert)
    args[args.index("--key") + 1] = str(gateway.pki.server.key)
    line = _one_line(run_client(*args, "status", str(uuid.uuid4()), home=home))
    assert "is a server certificate" in line and "clientAuth" in line and "--cert" in line


def test_unknown_kenmerk_is_answered_in_dutch_and_english(gateway: Stack, home: Path) -> None:
    kenmerk = str(uuid.uuid4())
    line = _one_line(run_client(*credentials(gateway), "status", kenmerk, home=home))
    assert line.startswith("gateway-client: STS100: ")
    assert f"kenmerk {kenmerk} is onbekend" in line and f"kenmerk {kenmerk} is unknown" in line


def test_accepted_exits_0_with_the_history(gateway: Stack, home: Path, tmp_path: Path) -> None:
    path = _statement(tmp_path, year=2019)
    run = run_client(
        *credentials(gateway), "submit", str(path), "--kvk", "12345678", "--aanleverkenmerk", "ok", "--wait", home=home
    )
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert KENMERK.match(lines[0])
    statuses = [line.split()[1] for line in lines[1:] if not line.startswith(" ")]
    assert statuses == ["105", "100", "110", "200", "301", "405", "400", "500"]


def test_rejected_exits_1_with_the_findings(gateway: Stack, home: Path, tmp_path: Path) -> None:
    path = _statement(tmp_path, kvk_number="99999999")
    run = run_client(*credentials(gateway), "submit", str(path), "--kvk", "99999999", "--wait", home=home)
    assert run.code == 1, run.stderr
    assert "  311  " in run.stdout and "[GW-KVK-07]" in run.stdout
    assert re.search(r"^    GW-KVK-07 .*99999999", run.stdout, re.M)  # the finding, one per line
    kenmerk = run.stdout.splitlines()[0]
    again = run_client(*credentials(gateway), "status", kenmerk, "--wait", home=home)
    assert again.code == 1 and "[GW-KVK-07]" in again.stdout


def test_options_from_environment_and_profile(gateway: Stack, home: Path, tmp_path: Path) -> None:
    args = credentials(gateway)
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    env = {f"GATEWAY_CLIENT_{flag[2:].upper().replace('-', '_')}": value for flag, value in pairs.items()}
    path = _statement(tmp_path, year=2015)
    by_env = run_client("submit", str(path), "--kvk", "12345678", home=home, env=env)
    assert by_env.code == 0, by_env.stderr
    kenmerk = by_env.stdout.strip()

    # A profile beside the certificates, with paths relative to its folder.
    folder = gateway.pki.folder
    profile = folder / f"profile-{uuid.uuid4().hex[:6]}.toml"
    profile.write_text(
        f'url = "{pairs["--url"]}"\ncert = "filer-a.pem"\nkey = "filer-a-key.pem"\n'
        f'ca = "{gateway.pki.root.name}"\nserver_cert = "{gateway.pki.server.cert.name}"\n',
        encoding="utf-8",
    )
    by_profile = run_client("--profile", str(profile), "status", kenmerk, home=home)
    assert by_profile.code == 0, by_profile.stderr
    assert "  105  " in by_profile.stdout

    # The default profile location is read without --profile.
    default = home / ".config" / "gateway-client" / "profile.toml"
    default.parent.mkdir(parents=True)
    default.write_text(
        profile.read_text()
        .replace('"filer-a', f'"{folder}/filer-a')
        .replace(f'"{gateway.pki.root.name}"', f'"{gateway.pki.root}"')
        .replace(f'"{gateway.pki.server.cert.name}"', f'"{gateway.pki.server.cert}"'),
        encoding="utf-8",
    )
    by_default = run_client("status", kenmerk, home=home)
    assert by_default.code == 0, by_default.stderr

    # A command-line option beats the environment, which beats the profile.
    wrong = run_client(
        "--profile", str(profile), "status", kenmerk, home=home, env={"GATEWAY_CLIENT_KEY": str(profile)}
    )
    assert "is not a PEM private key" in _one_line(wrong)
    right = run_client(
        "--profile",
        str(profile),
        "--key",
        str(folder / "filer-a-key.pem"),
        "status",
        kenmerk,
        home=home,
        env={"GATEWAY_CLIENT_KEY": str(profile)},
    )
    assert right.code == 0, right.stderr


def test_envelope_is_what_curl_sends(gateway: Stack, home: Path, tmp_path: Path) -> None:
    path = _statement(tmp_path, year=2025, adopted=False)
    run = run_client(*credentials(gateway), "envelope", str(path), "--kvk", "12345678", home=home)
    assert run.code == 0, run.stderr
    assert "gateway-client" not in run.stdout and run.stdout.startswith("<?xml")
    answer = _post(gateway, run.stdout)
    assert answer.status_code == 200, answer.text
    kenmerk = re.search(r"<[^>]*kenmerk>([0-9a-f-]{36})<", answer.text)
    assert kenmerk, answer.text
    assert run_client(*credentials(gateway), "status", kenmerk.group(1), "--wait", home=home).code == 0

    unsigned = run_client("envelope", "--unsigned", str(path), "--kvk", "12345678", home=home)
    assert unsigned.code == 0 and "Signature" not in unsigned.stdout and "MessageID" in unsigned.stdout


@pytest.mark.parametrize("content", [b"-----BEGIN PRIVATE KEY-----\nnot base64\n", b"hello"])
def test_a_file_that_is_not_a_certificate(gateway: Stack, home: Path, tmp_path: Path, content: bytes) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_bytes(content)
    args = credentials(gateway)
    args[args.index("--cert") + 1] = str(bogus)
    assert "is not a PEM certificate" in _one_line(run_client(*args, "status", "x", home=home))


def _post(stack: Stack, envelope: str) -> requests.Response:
    cert = stack.pki.client("filer-a")
    with requests.Session() as s:
        s.trust_env = False
        return s.post(
            f"{stack.base_url}/wus/2.0/aanleverservice/1.2",
            data=envelope.encode(),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": '"http://logius.nl/digipoort/wus/2.0/aanleverservice/1.2/AanleverService/aanleverenRequest"',
            },
            verify=str(stack.pki.root),
            cert=(str(cert.cert), str(cert.key)),
            timeout=30,
        )


def test_unsigned_envelopes_only_when_signatures_are_off_which_the_log_warns_about(
    gateway: Stack, pki: Pki, smtp: SmtpSink, sqlite_url: str, home: Path, tmp_path: Path
) -> None:
    path = _statement(tmp_path, year=2019, adopted=False)
    unsigned = run_client("envelope", "--unsigned", str(path), "--kvk", "12345678", home=home).stdout
    refused = _post(gateway, unsigned)
    assert refused.status_code == 500 and "wsse:InvalidSecurity" in refused.text
    assert "GATEWAY_REQUIRE_SIGNATURE=false" not in gateway.logs("serve")

    for lax in running(make_stack(pki, smtp, sqlite_url, extra_env={"GATEWAY_REQUIRE_SIGNATURE": "false"})):
        warnings = [json.loads(line) for line in lax.logs("serve").splitlines() if "REQUIRE_SIGNATURE" in line]
        assert [w["level"] for w in warnings] == ["warning"]
        assert "never in production" in warnings[0]["event"]
        accepted = _post(lax, unsigned)
        assert accepted.status_code == 200 and re.search(r"kenmerk>[0-9a-f-]{36}<", accepted.text)


def test_a_client_certificate_the_gateway_does_not_trust(gateway: Stack, home: Path) -> None:
    stranger = gateway.pki.issue_with(new_dev_ca().intermediate, "stranger")
    args = credentials(gateway)
    args[args.index("--cert") + 1] = str(stranger.cert)
    args[args.index("--key") + 1] = str(stranger.key)
    line = _one_line(run_client(*args, "status", str(uuid.uuid4()), home=home))
    assert "the gateway refused the TLS handshake" in line and str(stranger.cert) in line
    assert "a CA the gateway trusts" in line


def test_a_url_that_does_not_speak_tls(gateway: Stack, home: Path) -> None:
    args = credentials(gateway)
    args[1] = f"https://127.0.0.1:{gateway.ops_port}/wus/2.0"  # the operators' plain-HTTP port
    line = _one_line(run_client(*args, "status", str(uuid.uuid4()), home=home))
    assert "does not answer in TLS" in line and "check --url" in line
