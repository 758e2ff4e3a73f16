"""Message-level security at intake: the WS-Security signature policy and replay refusal."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import OrderedDict
from datetime import timedelta
from pathlib import Path

import structlog
from arq.connections import ArqRedis
from cryptography import x509
from lxml import etree
from redis.exceptions import RedisError

from gateway.settings import Settings
from gateway.wus import wssec
from gateway.wus.envelope import SoapRequest

log = structlog.get_logger(__name__)


class ReplayGuard:
    """Remembers MessageIDs for the timestamp window. Redis (shared by all intake
    processes) when reachable, else a bounded in-process memory."""

    def __init__(self, pool: ArqRedis, ttl_seconds: int) -> None:
        self.pool = pool
        self.ttl = ttl_seconds
        self.local: OrderedDict[str, None] = OrderedDict()

    @staticmethod
    def _key(sender: str, message_id: str) -> str:
        return "gateway:msgid:" + hashlib.sha256(f"{sender}\n{message_id}".encode()).hexdigest()

    async def forget(self, sender: str, message_id: str) -> None:
        """Release a MessageID whose message was not accepted after all (a technical
        failure), so that the sender may send the very same message again."""
        key = self._key(sender, message_id)
        self.local.pop(key, None)
        with contextlib.suppress(RedisError, OSError):
            await self.pool.delete(key)

    async def first_time(self, sender: str, message_id: str) -> bool:
        key = self._key(sender, message_id)
        try:
            return bool(await self.pool.set(key, b"1", nx=True, ex=self.ttl))
        except (RedisError, OSError) as exc:
            log.warning("replay cache unavailable, using local memory", error=type(exc).__name__)
            if key in self.local:
                return False
            self.local[key] = None
            while len(self.local) > 100_000:
                self.local.popitem(last=False)
            return True


async def check_message(
    settings: Settings, guard: ReplayGuard, soap: SoapRequest, raw: bytes, tls_cert: x509.Certificate
) -> None:
    """Verify the signature per policy; raise a WusFault when the message must be refused."""
    if soap.security is None and not settings.require_signature:
        return
    verified = await asyncio.to_thread(
        wssec.verify,
        raw,
        soap.envelope,
        max_age=timedelta(seconds=settings.signature_max_age),
        skew=timedelta(seconds=settings.clock_skew),
    )
    signer = verified.certificate
    same = signer.subject == tls_cert.subject if settings.signer_match == "subject" else signer == tls_cert
    if not same:
        raise wssec.security_fault(
            "InvalidSecurityToken",
            "het bericht is ondertekend met een ander certificaat dan het PKIoverheid-certificaat van de verbinding.",
        )
    message_id = soap.addressing.message_id or ""
    if not await guard.first_time(tls_cert.subject.rfc4514_string(), message_id):
        raise wssec.security_fault("FailedCheck", f"MessageID {message_id} is al eerder ontvangen (replay).")


class ResponseSigner:
    def __init__(self, cert: Path, key: Path) -> None:
        self.cert_pem = cert.read_bytes()
        self.key_pem = key.read_bytes()

    def sign(self, response: bytes) -> bytes:
        env = etree.fromstring(response)
        wssec.sign(env, self.key_pem, self.cert_pem, sha1=True, ttl=timedelta(minutes=10))
        return etree.tostring(env, xml_declaration=True, encoding="utf-8")
