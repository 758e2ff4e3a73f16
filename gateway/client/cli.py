"""``gateway-client``: file a statement and follow it, from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from zeep.exceptions import Fault, SignatureVerificationFailed

from gateway.client import DEFAULT_BERICHTSOORT, GatewayClient


def _client(ctx: click.Context) -> GatewayClient:
    o = ctx.obj
    return GatewayClient(
        o["url"],
        cert=o["cert"],
        key=o["key"],
        ca=o["ca"],
        sign=not o["no_sign"],
        server_signing_cert=o["server_cert"],
        sha1=not o["sha256"],
    )


def _fault(exc: Fault) -> str:
    detail = exc.detail
    if detail is not None:
        code = detail.findtext(".//{*}foutcode")
        text = detail.findtext(".//{*}foutbeschrijving")
        if code:
            return f"{code}: {text}"
    return str(exc.message)


@click.group()
@click.option(
    "--url",
    envvar="GATEWAY_CLIENT_URL",
    default="https://127.0.0.1:8443/wus/2.0",
    show_default=True,
    help="Base URL up to /wus/2.0 (this gateway or Digipoort).",
)
@click.option(
    "--cert",
    envvar="GATEWAY_CLIENT_CERT",
    type=click.Path(exists=True),
    required=True,
    help="PKIoverheid client certificate (PEM).",
)
@click.option("--key", envvar="GATEWAY_CLIENT_KEY", type=click.Path(exists=True), required=True)
@click.option(
    "--ca",
    envvar="GATEWAY_CLIENT_CA",
    type=click.Path(exists=True),
    required=True,
    help="CA bundle to trust for the server.",
)
@click.option(
    "--server-cert",
    envvar="GATEWAY_CLIENT_SERVER_CERT",
    type=click.Path(exists=True),
    help="Expect responses signed with exactly this certificate.",
)
@click.option("--no-sign", is_flag=True, help="Send unsigned requests.")
@click.option("--sha256", is_flag=True, help="Sign with RSA-SHA256 instead of Digipoort's RSA-SHA1.")
@click.pass_context
def main(ctx: click.Context, /, **options: object) -> None:
    """Submit annual statements over Digipoort WUS and read their statuses."""
    ctx.obj = options


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kvk", "kvk_number", required=True, help="KVK number of the company (identiteitBelanghebbende).")
@click.option("--aanleverkenmerk", help="Your own reference.")
@click.option(
    "--bijlage",
    "bijlagen",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file to attach (e.g. the auditor's report); repeatable.",
)
@click.option("--berichtsoort", default=DEFAULT_BERICHTSOORT, show_default=True)
@click.option("--wait", is_flag=True, help="Poll until a final status and print the history.")
@click.pass_context
def submit(
    ctx: click.Context,
    file: Path,
    kvk_number: str,
    aanleverkenmerk: str | None,
    bijlagen: tuple[Path, ...],
    berichtsoort: str,
    wait: bool,
) -> None:
    """Submit FILE (an XBRL instance); prints the kenmerk."""
    client = _client(ctx)
    try:
        response = client.submit(
            file.read_bytes(),
            kvk_number,
            aanleverkenmerk=aanleverkenmerk,
            bestandsnaam=file.name,
            bijlagen=[(b.name, b.read_bytes()) for b in bijlagen],
            berichtsoort=berichtsoort,
        )
    except Fault as exc:
        raise click.ClickException(_fault(exc)) from None
    except SignatureVerificationFailed as exc:
        raise click.ClickException(f"response signature invalid: {exc}") from None
    click.echo(response.kenmerk)
    if wait:
        _print(client.wait_final(response.kenmerk))


@main.command()
@click.argument("kenmerk")
@click.option("--new", "new_only", is_flag=True, help="Only statuses not fetched before.")
@click.option("--wait", is_flag=True, help="Poll until a final status.")
@click.pass_context
def status(ctx: click.Context, kenmerk: str, new_only: bool, wait: bool) -> None:
    """Print the statuses of KENMERK."""
    client = _client(ctx)
    try:
        _print(client.wait_final(kenmerk) if wait else client.statuses(kenmerk, new_only=new_only))
    except Fault as exc:
        raise click.ClickException(_fault(exc)) from None


def _print(statuses: list[object]) -> None:
    for s in statuses:
        fout = getattr(s, "statusFoutcode", None)
        extra = f"  [{fout.foutcode}] {fout.foutbeschrijving}" if fout is not None else ""
        click.echo(f"{s.tijdstempelStatus.isoformat()}  {s.statuscode}  {s.statusomschrijving}{extra}")  # type: ignore[attr-defined]
        details = getattr(s, "statusdetails", None)
        if details:
            for line in str(details).splitlines():
                click.echo(f"    {line}")


if __name__ == "__main__":
    sys.exit(main())
