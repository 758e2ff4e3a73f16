"""The ``gateway`` command."""

from __future__ import annotations

import asyncio
import errno
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from gateway import logs
from gateway.settings import Settings
from gateway.store.db import Store

T = TypeVar("T")


def _run(coro: Awaitable[T]) -> T:
    from gateway.store.db import SchemaMismatch

    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except SchemaMismatch as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise click.ClickException(f"cannot listen: {exc.strerror}: {exc}") from None
        raise


def with_store(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """Run an async command body with a Store opened from the environment's settings."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        settings = Settings.from_env()

        async def main() -> Any:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            store = Store.from_url(settings.effective_database_url)
            try:
                await store.init_schema()
                return await fn(store, settings, *args, **kwargs)
            finally:
                await store.close()

        return _run(main())

    return wrapper


@click.group()
@click.option("--log-level", default="INFO", envvar="GATEWAY_LOG_LEVEL", show_default=True)
def main(log_level: str) -> None:
    """The filing gateway: Digipoort WUS intake and KVK checks for annual statements."""
    logs.configure(log_level.upper())


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
    from gateway.ops.replay import parse_when

    try:
        return parse_when(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


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
        item = {
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
        if as_json:
            click.echo(json.dumps(item))
        else:
            click.echo(
                f"{item['kenmerk']}  {item['received_at'][:19]}  {item['final_status'] or '...':>4}  "
                f"{item['outcome'] or item['state']:<9} kvk={item['kvk_number']} fy={item['financial_year'] or '-'} "
                f"sender={item['sender']}"
            )


@submissions.command("show")
@click.argument("kenmerk")
@click.option("--json", "as_json", is_flag=True)
@with_store
async def show_submission(store: Store, settings: Settings, kenmerk: str, as_json: bool) -> None:
    """Print a submission's history, findings, sender and payload hashes."""
    sub = await store.get_submission(kenmerk)
    if sub is None:
        raise click.ClickException(f"no submission with kenmerk {kenmerk}")
    docs = await store.get_documents(kenmerk)
    history = await store.status_history(kenmerk)
    found = await store.findings_for(kenmerk)
    notes = await store.notifications_for(kenmerk)
    replays = await store.replays_for(kenmerk)
    data = {
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
            {
                "position": d.position,
                "bestandsnaam": d.bestandsnaam,
                "mime_type": d.mime_type,
                "size": d.size,
                "sha256": d.sha256,
            }
            for d in docs
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
            for s in history
        ],
        "findings": [
            {"run": f.run, "code": f.code, "severity": f.severity, "message": f.message_en, "location": f.location}
            for f in found
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
            for n in notes
        ],
        "replays": [{"run": r.run, "actor": r.actor, "reason": r.reason, "at": _iso(r.created_at)} for r in replays],
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"kenmerk        {data['kenmerk']}")
    for key in (
        "berichtsoort",
        "aanleverkenmerk",
        "belanghebbende",
        "received_at",
        "state",
        "run",
        "outcome",
        "final_status",
        "notify_address",
    ):
        click.echo(f"{key:<15}{data[key]}")
    click.echo(f"sender         {sub.sender_subject} (OIN {sub.sender_oin})")
    click.echo(f"raw message    sha256 {sub.raw_sha256}, {sub.raw_size} bytes")
    for d in data["documents"]:
        click.echo(
            f"document {d['position']}     {d['bestandsnaam']} {d['mime_type']} {d['size']} bytes sha256 {d['sha256']}"
        )
    click.echo("statuses:")
    for s in data["statuses"]:
        fout = f"  {s['foutcode']}: {s['foutbeschrijving']}" if s["foutcode"] else ""
        click.echo(f"  run {s['run']}  {s['at']}  {s['code']}  {s['description']}{fout}")
    click.echo("findings:")
    for f in data["findings"]:
        click.echo(
            f"  run {f['run']}  {f['code']} [{f['severity']}] {f['message']}"
            + (f" ({f['location']})" if f["location"] else "")
        )
    click.echo("notifications:")
    for n in data["notifications"]:
        click.echo(f"  run {n['run']}  {n['outcome']}  {n['state']}  to {n['recipient']}  attempts {n['attempts']}")
    for r in data["replays"]:
        click.echo(f"replay: run {r['run']} by {r['actor']} at {r['at']}: {r['reason']}")


@submissions.command("export")
@click.argument("kenmerk")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_store
async def export_submission(store: Store, settings: Settings, kenmerk: str, directory: Path) -> None:
    """Write the original message and its files to DIRECTORY."""
    raw = await store.get_raw(kenmerk)
    if raw is None:
        raise click.ClickException(f"no submission with kenmerk {kenmerk}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "message.xml").write_bytes(raw)
    for d in await store.get_documents(kenmerk):
        # bestandsnaam is the sender's text, never a path: keep only safe characters.
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in d.bestandsnaam).lstrip(".") or "file"
        name = f"{d.position:02d}-{safe}"
        (directory / name).write_bytes(d.content)
        click.echo(str(directory / name))
    click.echo(str(directory / "message.xml"))


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
    from gateway.queue.connections import connect

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
    pool = await connect(settings)
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


if __name__ == "__main__":
    sys.exit(main())
