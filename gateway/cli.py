"""The ``gateway`` command."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from gateway import __version__, logs
from gateway.display import safe
from gateway.settings import Settings
from gateway.store.commands import run as _run
from gateway.store.commands import with_store
from gateway.store.db import Store


@click.group()
@click.version_option(__version__, "--version", prog_name="gateway")
@click.option("--log-level", default="INFO", envvar="GATEWAY_LOG_LEVEL", show_default=True)
def main(log_level: str) -> None:
    """The filing gateway: Digipoort WUS intake and KVK checks for annual statements."""
    logs.configure(log_level.upper())
    from gateway.settings import SettingsError

    try:
        Settings.from_env()  # a bad GATEWAY_* value is a clear message, not a traceback later
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
def serve() -> None:
    """Run the intake server (HTTPS, client certificates required)."""
    from gateway.runner import serve as run_serve

    _run(run_serve(Settings.from_env(), with_worker=False))


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
def worker(burst: bool) -> None:
    """Run a worker: checks submissions, sends notifications, reconciles."""
    from gateway.runner import work

    _run(work(Settings.from_env(), burst=burst))


@main.command()
def dev() -> None:
    """Run server and worker in one process on the embedded defaults."""
    from gateway.runner import serve as run_serve

    _run(run_serve(Settings.from_env(), with_worker=True))


# ----------------------------------------------------------------------- submissions


@main.group()
def submissions() -> None:
    """Inspect stored submissions."""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_date(value: str | None) -> datetime | None:
    from gateway.domain import parse_iso

    try:
        return parse_iso(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _echo_json(data: object, indent: int | None = None) -> None:
    # ensure_ascii: control and bidi characters leave as \u escapes, never raw.
    click.echo(json.dumps(data, indent=indent, ensure_ascii=True))


def _list_item(r: Any) -> dict[str, Any]:
    return {
        "kenmerk": r.kenmerk,
        "received_at": _iso(r.received_at),
        "state": r.state,
        "final_status": r.final_status,
        "outcome": r.outcome,
        "kvk_number": r.kvk_number or r.belanghebbende_nummer,
        "financial_year": r.financial_year,
        "aanleverkenmerk": r.aanleverkenmerk,
        "sender": r.sender_oin or r.sender_subject,
        "run": r.run,
    }


@submissions.command("list")
@click.option("--status", help="Final status code (e.g. 311), or 'open' for unfinished.")
@click.option("--kvk", "kvk_number", help="KVK number.")
@click.option("--sender", help="Sender OIN or certificate subject.")
@click.option("--since", help="Received on or after (ISO date/time, UTC if no zone).")
@click.option("--until", help="Received before.")
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@with_store
async def list_submissions(
    store: Store,
    settings: Settings,
    status: str | None,
    kvk_number: str | None,
    sender: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List submissions, newest first."""
    rows = await store.list_submissions(
        status=status,
        kvk_number=kvk_number,
        sender=sender,
        since=_parse_date(since),
        until=_parse_date(until),
        limit=limit,
    )
    for r in rows:
        item = _list_item(r)
        if as_json:
            _echo_json(item)
            continue
        i = {k: safe(v) for k, v in item.items()}
        final, state = safe(item["final_status"] or "..."), safe(item["outcome"] or item["state"])
        click.echo(
            f"{i['kenmerk']}  {i['received_at'][:19]}  {final:>4}  {state:<9} kvk={i['kvk_number']} "
            f"fy={i['financial_year']} aanleverkenmerk={i['aanleverkenmerk']} sender={i['sender']}"
        )


async def _submission_data(store: Store, kenmerk: str) -> dict[str, Any] | None:
    sub = await store.get_submission(kenmerk)
    if sub is None:
        return None
    return {
        "kenmerk": sub.kenmerk,
        "berichtsoort": sub.berichtsoort,
        "aanleverkenmerk": sub.aanleverkenmerk,
        "belanghebbende": f"{sub.belanghebbende_type}:{sub.belanghebbende_nummer}",
        "sender": {"subject": sub.sender_subject, "oin": sub.sender_oin},
        "notify_address": sub.notify_address,
        "received_at": _iso(sub.received_at),
        "state": sub.state,
        "run": sub.run,
        "outcome": sub.outcome,
        "final_status": sub.final_status,
        "raw": {"sha256": sub.raw_sha256, "size": sub.raw_size},
        "documents": [
            {"position": d.position, "bestandsnaam": d.bestandsnaam, "mime_type": d.mime_type, "size": d.size}
            | {"sha256": d.sha256}
            for d in await store.get_documents(kenmerk)
        ],
        "statuses": [
            {
                "run": s.run,
                "code": s.code,
                "description": s.description,
                "at": _iso(s.created_at),
                "foutcode": s.foutcode,
                "foutbeschrijving": s.foutbeschrijving,
            }
            for s in await store.status_history(kenmerk)
        ],
        "findings": [
            {"run": f.run, "code": f.code, "severity": f.severity, "message": f.message_en, "location": f.location}
            for f in await store.findings_for(kenmerk)
        ],
        "notifications": [
            {
                "run": n.run,
                "outcome": n.outcome,
                "state": n.state,
                "recipient": n.recipient,
                "attempts": n.attempts,
                "sent_at": _iso(n.sent_at),
                "last_error": n.last_error,
            }
            for n in await store.notifications_for(kenmerk)
        ],
        "replays": [
            {"run": r.run, "actor": r.actor, "reason": r.reason, "at": _iso(r.created_at)}
            for r in await store.replays_for(kenmerk)
        ],
    }


_SHOWN = (
    "kenmerk",
    "berichtsoort",
    "aanleverkenmerk",
    "belanghebbende",
    "received_at",
    "state",
    "run",
    "outcome",
    "final_status",
    "notify_address",
)


def _show_text(data: dict[str, Any]) -> list[str]:
    """The human-readable form; every value from outside passes through safe()."""
    width = max(len(k) for k in (*_SHOWN, "raw message")) + 2  # a label never runs into its value
    sender, raw = data["sender"], data["raw"]
    lines = [f"{key:<{width}}{safe(data[key])}" for key in _SHOWN]
    lines.append(f"{'sender':<{width}}{safe(sender['subject'])} (OIN {safe(sender['oin'])})")
    lines.append(f"{'raw message':<{width}}sha256 {raw['sha256']}, {raw['size']} bytes")
    for d in data["documents"]:
        label = f"document {d['position']}"
        lines.append(
            f"{label:<{width}}{safe(d['bestandsnaam'])} {safe(d['mime_type'])} {d['size']} bytes sha256 {d['sha256']}"
        )
    lines.append("statuses:")
    for s in data["statuses"]:
        fout = f"  {safe(s['foutcode'])}: {safe(s['foutbeschrijving'])}" if s["foutcode"] else ""
        lines.append(f"  run {s['run']}  {s['at']}  {s['code']}  {safe(s['description'])}{fout}")
    lines.append("findings:")
    for f in data["findings"]:
        where = f" ({safe(f['location'])})" if f["location"] else ""
        lines.append(f"  run {f['run']}  {f['code']} [{f['severity']}] {safe(f['message'])}{where}")
    lines.append("notifications:")
    for n in data["notifications"]:
        lines.append(
            f"  run {n['run']}  {n['outcome']}  {n['state']}  to {safe(n['recipient'])}  attempts {n['attempts']}"
        )
    for r in data["replays"]:
        lines.append(f"replay: run {r['run']} by {safe(r['actor'])} at {r['at']}: {safe(r['reason'])}")
    return lines


@submissions.command("show")
@click.argument("kenmerk")
@click.option("--json", "as_json", is_flag=True)
@with_store
async def show_submission(store: Store, settings: Settings, kenmerk: str, as_json: bool) -> None:
    """Print a submission's history, findings, sender and payload hashes."""
    data = await _submission_data(store, kenmerk)
    if data is None:
        raise click.ClickException(f"no submission with kenmerk {safe(kenmerk)}")
    if as_json:
        _echo_json(data, indent=2)
        return
    for line in _show_text(data):
        click.echo(line)


@submissions.command("export")
@click.argument("kenmerk")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_store
async def export_submission(store: Store, settings: Settings, kenmerk: str, directory: Path) -> None:
    """Write the original message and its files to DIRECTORY (all of them, or none)."""
    from gateway.export import ExportFile, export_files, file_name

    raw = await store.get_raw(kenmerk)
    if raw is None:
        raise click.ClickException(f"no submission with kenmerk {safe(kenmerk)}")
    files = [ExportFile(file_name(d.position, d.bestandsnaam), d.content) for d in await store.get_documents(kenmerk)]
    files.append(ExportFile("message.xml", raw))
    try:
        written = export_files(directory, files)
    except OSError as exc:
        raise click.ClickException(f"export to {directory} failed, nothing written: {exc.strerror or exc}") from None
    for path in written:
        click.echo(safe(path))


# ----------------------------------------------------------------------- replay


@main.command("replay")
@click.argument("kenmerk", required=False)
@click.option("--status", help="Replay finished submissions with this final status (e.g. 311).")
@click.option("--since", help="... received on or after this date/time.")
@click.option("--until", help="... received before this date/time.")
@click.option("--foutcode", help="... whose final status carries this foutcode.")
@click.option("--kvk", "kvk_number", help="... for this KVK number.")
@click.option("--reason", default="replay after a fix", show_default=True, help="Recorded with the replay.")
@click.option("--actor", envvar="USER", default="cli", help="Who asks (recorded; default $USER).")
@click.option("--dry-run", is_flag=True, help="Only list what would be replayed.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@with_store
async def replay_cmd(
    store: Store,
    settings: Settings,
    kenmerk: str | None,
    status: str | None,
    since: str | None,
    until: str | None,
    foutcode: str | None,
    kvk_number: str | None,
    reason: str,
    actor: str,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Re-run the checks on the stored original of one submission, or of all that match."""
    from gateway.ops import replay
    from gateway.queue.connections import start_and_connect

    if kenmerk:
        if await store.get_submission(kenmerk) is None:
            raise click.ClickException(f"no submission with kenmerk {kenmerk}")
        kenmerken = [kenmerk]
    elif status or since or foutcode or kvk_number or until:
        sel = replay.Selection(status, _parse_date(since), _parse_date(until), foutcode, kvk_number)
        kenmerken = await replay.select(store, sel)
    else:
        raise click.UsageError("give a KENMERK or at least one of --status/--since/--until/--foutcode/--kvk")
    if dry_run:
        for k in kenmerken:
            click.echo(json.dumps({"kenmerk": k, "dry_run": True}) if as_json else k)
        click.echo(f"{len(kenmerken)} submission(s) would be replayed", err=True)
        return
    pool = await start_and_connect(settings)
    skipped = 0
    try:
        with (
            click.progressbar(kenmerken, label="replaying", file=sys.stderr, show_pos=True)
            if len(kenmerken) > 20
            else _plain(kenmerken) as items
        ):
            for k in items:
                run = await replay.replay_one(store, pool, settings.queue_name, k, actor, reason)
                if run is None:
                    skipped += 1
                if as_json:
                    click.echo(json.dumps({"kenmerk": k, "run": run}))
                elif len(kenmerken) <= 20:
                    click.echo(f"{k}  run {run}" if run else f"{k}  skipped (unfinished)")
    finally:
        await pool.aclose()
    click.echo(f"{len(kenmerken) - skipped} replayed, {skipped} skipped", err=True)


class _plain:
    """A stand-in for click.progressbar when the list is short."""

    def __init__(self, items: list[str]) -> None:
        self.items = items

    def __enter__(self) -> list[str]:
        return self.items

    def __exit__(self, *exc: object) -> None:
        return None


# ----------------------------------------------------------------------- register


@main.group()
def register() -> None:
    """The company register the KVK checks consult."""


@register.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_store
async def register_import(store: Store, settings: Settings, file: Path) -> None:
    """Load companies from a CSV (with header) or JSON file; existing ones are updated.

    Columns: kvk_number, name, legal_form, street, house_number, house_number_suffix,
    postal_code, city, status (active|dissolved), email, registered_on, size_history (JSON:
    {"2023": {"assets": ..., "turnover": ..., "employees": ..., "class": "small"}}).
    """
    from gateway.register import import_file

    try:
        inserted, updated, errors = await import_file(store, file)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    for e in errors:
        click.echo(f"{file.name}:{e.line}: kvk_number {e.kvk_number or '-'}: {e.message}", err=True)
    click.echo(f"{inserted} added, {updated} updated, {len(errors)} rejected")
    if errors:
        sys.exit(1)


@register.command("show")
@click.argument("kvk_number")
@click.option("--json", "as_json", is_flag=True)
@with_store
async def register_show(store: Store, settings: Settings, kvk_number: str, as_json: bool) -> None:
    """Show one company."""
    row = await store.get_company(kvk_number)
    if row is None:
        raise click.ClickException(f"KVK number {kvk_number} is not in the register")
    data = {k: v for k, v in row._mapping.items() if k != "updated_at"}
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        for k, v in data.items():
            click.echo(f"{k:<20}{v if v is not None else '-'}")


@main.command()
def codes() -> None:
    """Print the table of finding codes (Markdown), as documented in the README."""
    from gateway.resources import load_json

    click.echo("| code | severity | meaning (English) |")
    click.echo("| --- | --- | --- |")
    for code, entry in load_json("findings.json").items():
        if not code.startswith("_"):
            click.echo(f"| `{code}` | {entry['severity']} | {entry['en'].replace('|', '/')} |")


# ----------------------------------------------------------------------- certs


@main.group()
def certs() -> None:
    """Certificates for local use."""


@certs.command("dev-ca")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default="data/certs")
@click.option("--kvk", "kvk_number", default="12345678", show_default=True, help="KVK number in the client OIN.")
@click.option("--host", "hosts", multiple=True, help="Server host names (default localhost, 127.0.0.1, ::1).")
def dev_ca(folder: Path, kvk_number: str, hosts: tuple[str, ...]) -> None:
    """Create a test CA, a server certificate and a client certificate in FOLDER."""
    from gateway.devcerts import write_dev_ca

    paths = write_dev_ca(folder, kvk_number=kvk_number, hostnames=list(hosts) or None)
    for name, path in paths.items():
        click.echo(f"{name:<11}{path}")


# ----------------------------------------------------------------------- KVK API (gateway/register/cli.py)

from gateway.register import cli as register_cli  # noqa: E402

main.add_command(register_cli.costs)
register.add_command(register_cli.lookup)
register.add_command(register_cli.waiting)


def _register_checks() -> None:
    from gateway.checks.cli import check_command, taxonomy_group

    main.add_command(check_command)
    main.add_command(taxonomy_group)


_register_checks()


# ----------------------------------------------------------------------- db (schema migrations)

from gateway.store.commands import db  # noqa: E402  (registered after the other commands)

main.add_command(db)


def _register_zdj() -> None:
    # Zelf Deponeren operator commands live in their own module (gateway/web/cli.py).
    from gateway.web.cli import zdj

    main.add_command(zdj)


_register_zdj()


if __name__ == "__main__":
    sys.exit(main())

