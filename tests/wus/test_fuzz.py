"""Any bytes at all: the envelope reader answers with a fault, the XBRL reader and the
message checks with findings; never an unhandled exception. Bounded, so it runs in CI."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import checks
from gateway.checks.base import CheckContext, PartInfo
from gateway.checks.xbrl import InstanceError, read_instance
from gateway.wus.envelope import parse_request
from gateway.wus.faults import WusFault
from gateway.wus.messages import AanleverRequest
from gateway.wus.namespaces import Service
from tests.support.raw import aanlever_envelope
from tests.support.xbrl import Statement

VALID_ENVELOPE = aanlever_envelope(instance=Statement().build())
VALID_INSTANCE = Statement().build()


def mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes, and the valid document with a slice replaced, cut or repeated."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        start = draw(st.integers(0, len(seed)))
        end = draw(st.integers(start, min(len(seed), start + 200)))
        filler = draw(
            st.binary(max_size=64)
            | st.sampled_from(
                [b"<", b">", b"&", b"<!DOCTYPE x>", b"]]>", b"\x00", b"&#0;", b"<a>" * 40, b"\xef\xbb\xbf"]
            )
        )
        return seed[:start] + filler + seed[end:]

    return st.binary(max_size=512) | mutate()


FUZZ = settings(
    max_examples=int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(mutations(VALID_ENVELOPE))
def test_envelope_reader_answers_with_a_fault_or_a_request(data: bytes) -> None:
    try:
        soap = parse_request(data, None, Service.AANLEVER)
        AanleverRequest.from_element(soap.body, 20 * 1024 * 1024)
    except WusFault as fault:
        assert fault.description


@FUZZ
@given(mutations(VALID_INSTANCE))
def test_xbrl_reader_and_message_checks_never_crash(data: bytes) -> None:
    try:
        read_instance(data)
    except InstanceError as exc:
        assert exc.reason_nl and exc.reason_en
    ctx = CheckContext(
        berichtsoort="Jaarverantwoording_KvK",
        belanghebbende_nummer="12345678",
        belanghebbende_type="KvK",
        filed_at=datetime(2026, 1, 1, tzinfo=UTC),
        parts=[PartInfo(0, "application/xml", "jaarrekening.xbrl", len(data))],
        raw_instance=data,
    )
    found = checks.run(checks.MESSAGE_CHECKS, ctx)
    found += checks.run(checks.REGISTER_CHECKS, ctx.with_register(None, []))
    assert all(f.message_nl and f.message_en for f in found)
