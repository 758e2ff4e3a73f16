"""What every intake handler needs, in one frozen value kept on the aiohttp app."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis

from gateway.intake.senders import SenderDirectory
from gateway.intake.trust import CertificateChecker
from gateway.settings import Settings
from gateway.store.db import Store
from gateway.store.ledger import MessageLedger
from gateway.wus.messages import Identiteit


@dataclass(frozen=True)
class Intake:
    settings: Settings
    store: Store
    pool: ArqRedis
    senders: SenderDirectory
    checker: CertificateChecker
    ledger: MessageLedger
    #: The gateway's own identity, answered as identiteitOntvanger (Digipoort answers its OIN).
    receiver: Identiteit | None
