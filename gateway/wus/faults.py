"""The faults the interface answers with, as one exception type.

Digipoort's ALS/STS codes: ``xx100`` means the request does not conform to the interface
specification and ``xx400`` a technical error on our side (reference section 3). The
description always says what exactly was wrong, so that a filer can fix it.

A fault carries the operation it answers and the MessageID it relates to as soon as they are
known: the reply's wsa:Action is that operation's fault action and its wsa:RelatesTo that
MessageID. ``about`` makes the same fault for a known operation and MessageID.
"""

from __future__ import annotations

from gateway.wus.namespaces import Service

NONCONFORMING_PREFIX = (
    "Het verzoek voldoet niet aan de koppelvlakspecificaties en kan hierdoor niet door "
    "Digipoort worden verwerkt. De volgende fout is opgetreden: "
)


class WusFault(Exception):
    """A SOAP fault to send back; never carries a stack trace to the client."""

    def __init__(
        self,
        code_suffix: str,
        description: str,
        *,
        faultcode: str = "Client",
        operation: str | None = None,
        relates_to: str | None = None,
    ) -> None:
        super().__init__(description)
        self.code_suffix = code_suffix
        self.description = description
        #: SOAP 1.1 faultcode local name: Client (the sender must change something),
        #: Server (try again later), VersionMismatch, MustUnderstand; or wsse:… for
        #: WS-Security failures.
        self.faultcode = faultcode
        #: The operation asked for, when known: its fault action goes into the reply.
        self.operation = operation
        #: The request's wsa:MessageID, when known.
        self.relates_to = relates_to

    def about(self, operation: str | None, relates_to: str | None) -> WusFault:
        """This fault, answering ``operation`` and relating to ``relates_to`` (a new fault;
        what is already known is kept)."""
        return WusFault(
            self.code_suffix,
            self.description,
            faultcode=self.faultcode,
            operation=self.operation or operation,
            relates_to=self.relates_to or relates_to,
        )

    def foutcode(self, service: Service) -> str:
        return f"{service.fault_prefix}{self.code_suffix}"


def nonconforming(reason: str) -> WusFault:
    return WusFault("100", NONCONFORMING_PREFIX + reason)


def technical(reason: str) -> WusFault:
    return WusFault(
        "400",
        "Er is een technische fout opgetreden; het bericht is niet aangenomen. Probeer het later opnieuw. " + reason,
        faultcode="Server",
    )
