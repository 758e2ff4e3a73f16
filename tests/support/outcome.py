"""Submit a statement and collect what the filer learns: final status, codes, mail."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

from tests.support.gateway import Stack
from tests.support.wus_client import WusClient
from tests.support.xbrl import Statement, auditors_report


@dataclass
class Outcome:
    kenmerk: str
    final: str
    foutcode: str | None
    details: str
    mail: EmailMessage

    @property
    def codes(self) -> list[str]:
        """Finding codes listed in statusdetails, in order."""
        return [line.split(" ", 1)[0] for line in self.details.splitlines() if line.strip()]

    @property
    def mail_text(self) -> str:
        return str(self.mail.get_body(preferencelist=("plain",)).get_content())


def file_statement(
    stack: Stack,
    client: WusClient,
    statement: Statement,
    *,
    kvk: str | None = None,
    bijlage: bool | None = None,
    bestandsnaam: str = "jaarrekening.xbrl",
    instance: bytes | None = None,
) -> Outcome:
    with_bijlage = statement.size_class in ("medium", "large") if bijlage is None else bijlage
    response = client.submit(
        instance if instance is not None else statement.build(),
        kvk or statement.kvk_number,
        bijlagen=[auditors_report()] if with_bijlage else None,
        bestandsnaam=bestandsnaam,
    )
    statuses = stack.wait_final(client, response.kenmerk)
    last = statuses[-1]
    (mail,) = stack.smtp.wait_for(response.kenmerk)
    foutcode = last.statusFoutcode.foutcode if last.statusFoutcode is not None else None
    return Outcome(response.kenmerk, last.statuscode, foutcode, last.statusdetails or "", mail)
