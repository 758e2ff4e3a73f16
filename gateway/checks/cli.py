"""``gateway check`` (filers check their statement offline before submitting) and
``gateway taxonomy add`` (operators install a taxonomy the checks then use).

``gateway check`` runs exactly the message-level checks a worker runs on a submission,
with the filing date set to today; with ``--kvk`` also the KVK-number checks that need no
register. Exit status: 0 no errors, 1 errors found, 2 a file could not be checked.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from gateway.checks import taxonomy
from gateway.checks.base import Finding, finding
from gateway.checks.ixbrl.package import ZIP_MAGIC, Limits
from gateway.checks.reading import context_for
from gateway.checks.report import unique

#: Largest instance checked, as for a part of a Digipoort message (20 MiB decoded).
MAX_INSTANCE = 20 * 1024 * 1024
#: Entries an archive may hold before it is refused (a zip bomb is not a statement).
MAX_ENTRIES = 1000


class Unreadable(Exception):
    """A file that could not be checked at all (missing, unreadable, too large)."""


@dataclass
class Checked:
    name: str
    findings: list[Finding] = field(default_factory=list)
    problem: str | None = None

    @property
    def errors(self) -> int:
        return sum(f.is_error for f in self.findings)


def _entries(path: Path) -> Iterator[tuple[str, bytes, Path]]:
    """(name, bytes, folder) of each instance a path names: a file, a folder (every .xbrl in
    it), a zip archive (every .xbrl/.xml in it) or ``archive.zip/entry``."""
    if path.is_dir():
        found = sorted(p for p in path.rglob("*.xbrl") if p.is_file())
        if not found:
            raise Unreadable("no .xbrl file in the folder")
        for p in found:
            yield from _entries(p)
        return
    if path.is_file() and zipfile.is_zipfile(path):
        if _is_report_package(path):
            # An Inline XBRL report package is checked whole, as the worker reads it.
            yield from _whole_file(path)
        else:
            yield from _zip_entries(path, None)
        return
    if path.is_file():
        if path.stat().st_size > MAX_INSTANCE:
            raise Unreadable(f"larger than {MAX_INSTANCE} bytes")
        yield str(path), path.read_bytes(), path.parent
        return
    for parent in path.parents:
        if parent.suffix.lower() == ".zip" and parent.is_file():
            yield from _zip_entries(parent, path.relative_to(parent).as_posix())
            return
    raise Unreadable("no such file")


def _is_report_package(path: Path) -> bool:
    """A .xbri file, or a zip with a report package's layout (META-INF/reportPackage.json or a
    reports/ folder under its top-level folder), as opposed to a zip of instances."""
    if path.suffix.lower() == ".xbri":
        return True
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist()[:MAX_ENTRIES] if not n.startswith("__MACOSX/")]
    except (zipfile.BadZipFile, OSError):
        return False
    return any(n.endswith("META-INF/reportPackage.json") or "/reports/" in n for n in names)


def _whole_file(path: Path) -> Iterator[tuple[str, bytes, Path]]:
    limit = Limits.default().max_package_bytes
    if path.stat().st_size > limit:
        raise Unreadable(f"larger than {limit} bytes")
    yield str(path), path.read_bytes(), path.parent


def _zip_entries(archive: Path, only: str | None) -> Iterator[tuple[str, bytes, Path]]:
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
            if len(infos) > MAX_ENTRIES:
                raise Unreadable(f"the archive holds more than {MAX_ENTRIES} files")
            chosen = [
                i for i in infos if (i.filename == only if only else i.filename.lower().endswith((".xbrl", ".xml")))
            ]
            if not chosen:
                raise Unreadable(f"no {only or 'instance'} in the archive")
            for info in chosen:
                if info.file_size > MAX_INSTANCE:
                    raise Unreadable(f"{info.filename} is larger than {MAX_INSTANCE} bytes")
                with zf.open(info) as fh:
                    data = fh.read(MAX_INSTANCE + 1)
                if len(data) > MAX_INSTANCE:
                    raise Unreadable(f"{info.filename} is larger than {MAX_INSTANCE} bytes")
                yield f"{archive}/{info.filename}", data, archive.parent
    except (zipfile.BadZipFile, OSError) as exc:
        raise Unreadable(f"not a readable zip archive: {exc}") from None


def check_bytes(name: str, data: bytes, folder: Path | None, kvk: str | None) -> list[Finding]:
    """The worker's message-level checks on one instance, offline."""
    from gateway import checks
    from gateway.checks import kvk_number

    # The berichtsoort follows from the content: a zip is an Inline XBRL report package.
    mime_type = "application/zip" if data.startswith(ZIP_MAGIC) else "application/xml"
    ctx = context_for(data, Path(name).name, mime_type, datetime.now(UTC), kvk)
    token = taxonomy.local_base.set(folder)
    try:
        found = checks.run(checks.MESSAGE_CHECKS, ctx)
        if kvk is not None:
            found += list(kvk_number.check(ctx))
    finally:
        taxonomy.local_base.reset(token)
    return unique(found)


def check_path(path: Path, kvk: str | None) -> list[Checked]:
    out: list[Checked] = []
    try:
        for name, data, folder in _entries(path):
            try:
                out.append(Checked(name, check_bytes(name, data, folder, kvk)))
            except Exception as exc:  # a bug in a check: say so, never pretend the file passed
                out.append(Checked(name, [finding("GW-TECH-01")], problem=f"{type(exc).__name__}: {exc}"))
    except Unreadable as exc:
        out.append(Checked(str(path), problem=str(exc)))
    return out


def _as_json(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity,
        "message_nl": f.message_nl,
        "message_en": f.message_en,
        "location": {"line": f.line, "column": f.column, "concept": f.concept, "value": f.value, "where": f.location},
    }


def _print_text(results: list[Checked]) -> None:
    for r in results:
        if r.problem and not r.findings:
            click.echo(f"{r.name}: could not be checked: {r.problem}")
            continue
        warnings = len(r.findings) - r.errors
        click.echo(f"{r.name}: {r.errors} error(s), {warnings} warning(s)")
        for f in r.findings:
            click.echo(f"  {f.code} [{f.severity}] {f.message_nl}")
            click.echo(f"  {' ' * len(f.code)} {' ' * (len(f.severity) + 2)} {f.message_en}")


@click.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--kvk", "kvk", default=None, help="The KVK number the statement will be filed for.")
@click.option(
    "--taxonomy",
    "taxonomy_dir",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="A taxonomy package or URL-layout folder to check against (besides the installed ones).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def check_command(files: tuple[Path, ...], kvk: str | None, taxonomy_dir: Path | None, as_json: bool) -> None:
    """Check XBRL instances (or zip archives of them) the way the gateway will, offline."""
    if taxonomy_dir is not None:
        try:
            taxonomy.extra_tables.set(taxonomy.tables_from(taxonomy_dir))
        except taxonomy.TaxonomyError as exc:
            raise click.ClickException(str(exc)) from None
    results = [r for path in files for r in check_path(path, kvk)]
    if as_json:
        doc = [
            {"file": r.name, "checked": r.problem is None, "problem": r.problem, "errors": r.errors,
             "findings": [_as_json(f) for f in r.findings]}
            for r in results
        ]  # fmt: skip
        click.echo(json.dumps(doc, ensure_ascii=False, indent=1))
    else:
        _print_text(results)
    if any(r.problem for r in results):
        raise SystemExit(2)
    raise SystemExit(1 if any(r.errors for r in results) else 0)


@click.group("taxonomy")
def taxonomy_group() -> None:
    """Taxonomies the checks use (concept tables compiled into the data dir)."""


@taxonomy_group.command("add")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
def taxonomy_add(source: Path) -> None:
    """Install a taxonomy package (zip) or a folder in URL layout: one concept table per
    KVK entrypoint it contains."""
    from gateway.settings import Settings

    target = Settings.from_env().data_dir / "taxonomies"
    try:
        done = taxonomy.install(source, target)
    except taxonomy.TaxonomyError as exc:
        raise click.ClickException(str(exc)) from None
    for d in done:
        state = "compiled" if d.compiled else "already installed"
        click.echo(f"{d.entrypoint}: {d.concepts} concepts from {d.documents} documents ({state})")
        if d.missing:
            click.echo(f"  warning: {d.missing} referenced document(s) not in {source}", err=True)
