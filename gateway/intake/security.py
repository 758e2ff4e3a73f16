"""Message-level security at intake: the WS-Security signature policy, the MessageID ledger
(replays refused, retransmissions recognised) and signing responses."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from lxml import etree

from gateway.domain import utc_now
from gateway.intake.offload import run_sized
from gateway.intake.peer import Peer
from gateway.settings import Settings
from gateway.store.db import Sender
from gateway.store.ledger import Claim, ClaimState, MessageLedger
from gateway.wus import wssec
from gateway.wus.envelope import SoapRequest
from gateway.wus.faults import WusFault
from gateway.wus.namespaces import DS

WSU_ID = wssec.WSU_ID


@dataclass(frozen=True)
class VerifiedRequest:
    """A parsed request whose signature (when required) holds, from this sender."""

    soap: SoapRequest
    #: The request exactly as received (stored with a submission).
    raw: bytes
    sender: Sender
    certificate: x509.Certificate
    #: What the sender signed of the Body (the signature's digest value), or the sha256 of the
    #: Body's canonical form for an unsigned request: retransmissions are recognised by it.
    digest: str

    @property
    def operation(self) -> str:
        return self.soap.operation

    @property
    def message_id(self) -> str:
        return self.soap.addressing.message_id or ""


def body_digest(soap: SoapRequest) -> str:
    body = soap.body.getparent()
    assert body is not None
    body_id = body.get(WSU_ID)
    if soap.security is not None and body_id:
        for ref in soap.security.iterfind(f"{{{DS}}}Signature/{{{DS}}}SignedInfo/{{{DS}}}Reference"):
            if ref.get("URI") == f"#{body_id}":
                method = ref.find(f"{{{DS}}}DigestMethod")
                algorithm = method.get("Algorithm", "") if method is not None else ""
                return f"{algorithm.rsplit('#', 1)[-1]}:{ref.findtext(f'{{{DS}}}DigestValue', '').strip()}"
    c14n = etree.tostring(body, method="c14n", exclusive=True)
    return "sha256c14n:" + hashlib.sha256(c14n).hexdigest()


def _verify(settings: Settings, soap: SoapRequest, raw: bytes, peer: Peer) -> VerifiedRequest:
    if soap.security is not None or settings.require_signature:
        verified = wssec.verify(
            soap.envelope,
            max_age=timedelta(seconds=settings.signature_max_age),
            skew=timedelta(seconds=settings.clock_skew),
        )
        signer, tls_cert = verified.certificate, peer.certificate
        same = signer.subject == tls_cert.subject if settings.signer_match == "subject" else signer == tls_cert
        if not same:
            raise wssec.security_fault(
                "InvalidSecurityToken",
                "het bericht is ondertekend met een ander certificaat dan het PKIoverheid-certificaat van de "
                "verbinding.",
            )
    return VerifiedRequest(soap, raw, peer.sender, peer.certificate, body_digest(soap))


async def verify_request(settings: Settings, soap: SoapRequest, raw: bytes, peer: Peer) -> VerifiedRequest:
    """Apply the signature policy; raise a WusFault (with its operation and MessageID) if the
    message must be refused."""
    try:
        return await run_sized(len(raw), _verify, settings, soap, raw, peer)
    except WusFault as fault:
        raise fault.about(soap.operation, soap.addressing.message_id) from None


async def claim_message(ledger: MessageLedger, req: VerifiedRequest, kenmerk: str | None) -> Claim:
    """Record the request's MessageID; a replay (another message under a MessageID already
    accepted) is refused here. A retransmission is left to the caller to answer."""
    return refuse_replay(req, await ledger.claim(req.sender.subject, req.message_id, req.digest, kenmerk, utc_now()))


def refuse_replay(req: VerifiedRequest, claim: Claim) -> Claim:
    """The claim, unless it is a replay: then the WusFault that refuses the request."""
    if claim.state is ClaimState.REPLAY or (claim.state is ClaimState.RETRANSMISSION and claim.kenmerk is None):
        raise wssec.security_fault("FailedCheck", f"MessageID {req.message_id} is al eerder ontvangen (replay).").about(
            req.operation, req.message_id
        )
    return claim


class ResponseSigner:
    """Signs replies as Digipoort does (RSA-SHA1), with the key and certificate loaded once."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.signer = wssec.Signer(key.read_bytes(), cert.read_bytes())

    def sign(self, envelope: etree._Element) -> None:
        """Sign the reply's Envelope in place."""
        self.signer.sign(envelope, sha1=True, ttl=timedelta(minutes=10))
