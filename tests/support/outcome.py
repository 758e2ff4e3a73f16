"""Submit a statement and collect what the filer learns: final status, codes, mail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage

from tests.support.gateway import Stack
from tests.support.wus_client import WusClient
from tests.support.xbrl import Statement, auditors_report

FINDING_HEAD = re.compile(r"(?:^|\s)([A-Z][A-Za-z0-9.#-]+) \[(?:error|warning)\]")


@dataclass
class Outcome:
    kenmerk: str
    final: str
    foutcode: str | None
    details: str
    mail: EmailMessage

    @property
    def codes(self) -> list[str]:
        """Finding codes listed in statusdetails, in order. The official XSD types statusdetails
        with whiteSpace="collapse", so a client sees the gateway's lines joined by spaces: each
        finding starts with its code and severity ("BR-KVK-4.12 [error] ...")."""
        return FINDING_HEAD.findall(self.details)

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
