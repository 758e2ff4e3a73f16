"""``gateway-client``: file a statement and follow it, from the command line."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from gateway import __version__
from gateway.client import DEFAULT_BERICHTSOORT, GatewayClient, aanlever_arguments, aanlever_envelope
from gateway.client.problems import Credentials, Problem, check_credentials, explain
from gateway.client.profile import Profile, default_profile_path, load_profile
from gateway.client.wsse import DigipoortSignature

DEFAULT_URL = "https://127.0.0.1:8443/wus/2.0"

#: Final status -> exit code: 0 accepted, 1 rejected, 2 could not submit / technical error.
EXIT_ACCEPTED, EXIT_REJECTED, EXIT_TROUBLE = 0, 1, 2
EXIT_BY_FINAL_STATUS = {"500": EXIT_ACCEPTED, "311": EXIT_REJECTED, "210": EXIT_REJECTED, "321": EXIT_TROUBLE}

EXIT_CODES_HELP = """\b
Exit codes (submit and status with --wait):
  0  accepted (final status 500)
  1  rejected (311, or 210): the findings are printed
  2  could not submit, or a technical error (321, no final status in time,
     gateway unreachable, certificate problem); one line on stderr says what to do

\b
Certificate options come from, in this order: the command line, the
environment (GATEWAY_CLIENT_URL, GATEWAY_CLIENT_CERT, GATEWAY_CLIENT_KEY,
GATEWAY_CLIENT_CA, GATEWAY_CLIENT_SERVER_CERT), a profile file (--profile or
GATEWAY_CLIENT_PROFILE; by default ~/.config/gateway-client/profile.toml if it
exists), e.g.:

\b
  url = "https://127.0.0.1:8443/wus/2.0"
  cert = "client.pem"          # relative to the profile's folder
  key = "client-key.pem"
  ca = "root.pem"
  server_cert = "server.pem"
"""


@dataclass(frozen=True)
class Options:
    url: str
    profile: Profile
    given: dict[str, str | None]
    sign: bool
    sha256: bool

    def value(self, name: str) -> str | None:
        return self.given.get(name) or self.profile.get(name)

    def credentials(self) -> Credentials:
        missing = [name for name in ("cert", "key", "ca") if not self.value(name)]
        if missing:
            flags = ", ".join(f"--{m}" for m in missing)
            envs = ", ".join(f"GATEWAY_CLIENT_{m.upper()}" for m in missing)
            raise Problem(f"missing {flags}: give them as options, set {envs}, or put them in a profile (--help)")
        server_cert = self.value("server_cert")
        return Credentials(
            cert=Path(str(self.value("cert"))),
            key=Path(str(self.value("key"))),
            ca=Path(str(self.value("ca"))),
            server_cert=Path(server_cert) if server_cert else None,
        )


def fail(message: str, code: int = EXIT_TROUBLE) -> NoReturn:
    click.echo(f"gateway-client: {_printable(message)}", err=True)
    sys.exit(code)


def _printable(text: str) -> str:
    """Control and bidi characters from the wire never reach the terminal raw."""
    return "".join(c if c.isprintable() or c == "\n" else f"\\u{ord(c):04x}" for c in text)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command; any failure becomes one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        opts: Options | None = ctx.find_object(Options)
        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:
            if os.environ.get("GATEWAY_CLIENT_DEBUG"):
                raise
            fail(explain(exc, url=opts.url if opts else DEFAULT_URL, creds=_known_credentials(opts)))

    return wrapper


def _known_credentials(opts: Options | None) -> Credentials | None:
    try:
        return opts.credentials() if opts else None
    except Problem:
        return None


def _client(opts: Options) -> GatewayClient:
    creds = opts.credentials()
    check_credentials(creds)
    return GatewayClient(
        opts.url,
        cert=creds.cert,
        key=creds.key,
        ca=creds.ca,
        sign=opts.sign,
        server_signing_cert=creds.server_cert,
        sha1=not opts.sha256,
    )


@click.group(epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="gateway-client")
@click.option(
    "--profile",
    envvar="GATEWAY_CLIENT_PROFILE",
    help=f"TOML file with url, cert, key, ca, server_cert [default: {default_profile_path()} if it exists].",
)
@click.option("--url", envvar="GATEWAY_CLIENT_URL", help=f"Base URL up to /wus/2.0 [default: {DEFAULT_URL}].")
@click.option("--cert", envvar="GATEWAY_CLIENT_CERT", help="Your PKIoverheid client certificate (PEM).")
@click.option("--key", envvar="GATEWAY_CLIENT_KEY", help="Its private key (PEM, unencrypted).")
@click.option("--ca", envvar="GATEWAY_CLIENT_CA", help="CA bundle to trust for the gateway's TLS certificate.")
@click.option(
    "--server-cert", envvar="GATEWAY_CLIENT_SERVER_CERT", help="Expect responses signed with exactly this certificate."
)
@click.option("--no-sign", is_flag=True, help="Send unsigned requests.")
@click.option("--sha256", is_flag=True, help="Sign with RSA-SHA256 instead of Digipoort's RSA-SHA1.")
@click.pass_context
def main(
    ctx: click.Context,
    /,
    profile: str | None,
    url: str | None,
    no_sign: bool,
    sha256: bool,
    **given: str | None,
) -> None:
    """Submit annual statements over Digipoort WUS and read their statuses."""
    try:
        loaded = load_profile(profile)
    except Problem as exc:
        fail(str(exc))
    base = url or loaded.get("url") or DEFAULT_URL
    ctx.obj = Options(url=base, profile=loaded, given=given, sign=not no_sign, sha256=sha256)


def _file_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options that describe a filing; the command gets them as aanleveren's ``arguments``."""

    @functools.wraps(fn)
    def wrapper(
        *args: Any,
        file: Path,
        kvk_number: str,
        aanleverkenmerk: str | None,
        bijlagen: tuple[Path, ...],
        berichtsoort: str,
        **kwargs: Any,
    ) -> Any:
        arguments = aanlever_arguments(
            file.read_bytes(),
            kvk_number,
            aanleverkenmerk=aanleverkenmerk,
            bestandsnaam=file.name,
            bijlagen=[(b.name, b.read_bytes()) for b in bijlagen],
            berichtsoort=berichtsoort,
        )
        return fn(*args, arguments=arguments, **kwargs)

    decorated: Callable[..., Any] = wrapper
    for decorator in reversed(
        [
            click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
            click.option("--kvk", "kvk_number", required=True, help="KVK number of the company."),
            click.option("--aanleverkenmerk", help="Your own reference."),
            click.option(
                "--bijlage",
                "bijlagen",
                multiple=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="A file to attach (e.g. the auditor's report); repeatable.",
            ),
            click.option("--berichtsoort", default=DEFAULT_BERICHTSOORT, show_default=True),
        ]
    ):
        decorated = decorator(decorated)
    return decorated


@main.command(epilog=EXIT_CODES_HELP)
@guarded
@_file_options
@click.option("--wait", is_flag=True, help="Poll until a final status, print the history; exit code by outcome.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds --wait polls before giving up.")
@click.pass_obj
def submit(opts: Options, arguments: dict[str, Any], wait: bool, timeout: float) -> None:
    """Submit FILE (an XBRL instance); prints the kenmerk."""
    client = _client(opts)
    response = client.aanlever.service.aanleveren(**arguments)
    click.echo(response.kenmerk)
    if wait:
        _finish(client.wait_final(response.kenmerk, timeout=timeout))


@main.command(epilog=EXIT_CODES_HELP)
@guarded
@click.argument("kenmerk")
@click.option("--new", "new_only", is_flag=True, help="Only statuses not fetched before.")
@click.option("--wait", is_flag=True, help="Poll until a final status; exit code by outcome.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds --wait polls before giving up.")
@click.pass_obj
def status(opts: Options, kenmerk: str, new_only: bool, wait: bool, timeout: float) -> None:
    """Print the statuses of KENMERK."""
    client = _client(opts)
    if wait:
        _finish(client.wait_final(kenmerk, timeout=timeout))
    else:
        _print(client.statuses(kenmerk, new_only=new_only))


@main.command()
@guarded
@_file_options
@click.option(
    "--unsigned", is_flag=True, help="Leave the WS-Security signature out (only for GATEWAY_REQUIRE_SIGNATURE=false)."
)
@click.pass_obj
def envelope(opts: Options, arguments: dict[str, Any], unsigned: bool) -> None:
    """Write the aanleveren SOAP envelope for FILE to stdout, to send with curl or another tool.

    Signed with --cert/--key (the Timestamp is valid for 5 minutes and its MessageID may be
    sent once), or --unsigned. Needs no running gateway.
    """
    wsse = None
    if not unsigned:
        creds = opts.credentials()
        check_credentials(creds)
        wsse = DigipoortSignature(creds.key.read_bytes(), creds.cert.read_bytes(), sha1=not opts.sha256)
    click.echo(aanlever_envelope(opts.url, wsse, **arguments), nl=False)


def _finish(statuses: list[Any]) -> NoReturn:
    _print(statuses)
    final = statuses[-1].statuscode
    code = EXIT_BY_FINAL_STATUS.get(final, EXIT_TROUBLE)
    sys.exit(code)


def _print(statuses: list[Any]) -> None:
    for s in statuses:
        fout = getattr(s, "statusFoutcode", None)
        extra = f"  [{fout.foutcode}] {fout.foutbeschrijving}" if fout is not None else ""
        click.echo(_printable(f"{s.tijdstempelStatus.isoformat()}  {s.statuscode}  {s.statusomschrijving}{extra}"))
        details = getattr(s, "statusdetails", None)
        if details:
            for line in finding_lines(str(details)):
                click.echo(_printable(f"    {line}"))


#: Where a finding begins in statusdetails ("BR-KVK-4.12 [error] ..."). The official XSD types
#: the field with whiteSpace="collapse", so the gateway's one-finding-per-line text arrives
#: with its line breaks turned into spaces; this puts them back.
_FINDING_START = re.compile(r"\s+(?=[A-Z][A-Za-z0-9.#-]* \[(?:error|warning)\] )")


def finding_lines(details: str) -> list[str]:
    return [part for part in _FINDING_START.split(details.strip()) if part]


if __name__ == "__main__":
    main()
