"""certs/: the PKIoverheid trust anchors. Every certificate's fingerprint is checked against
certs/pkioverheid/fingerprints.txt and against the independent list in the shared material;
a bundle built from them chains every CA to its root, loads into OpenSSL, and makes the
gateway's own certificate check accept a real PKIoverheid certificate (Logius' 2019 Digipoort
certificate, at a time it was valid) and refuse it today (expired)."""

from __future__ import annotations

import hashlib
import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.intake.trust import CertificateChecker, CertificateRefused, CrlStore, load_bundle
from tests.support.shared import shared

CERTS = Path(__file__).resolve().parents[2] / "certs" / "pkioverheid"


def _fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _listed() -> dict[str, str]:
    lines = (CERTS / "fingerprints.txt").read_text(encoding="ascii").splitlines()
    return {name: digest for digest, name in (line.split("  ") for line in lines)}


def test_every_certificate_has_its_listed_fingerprint() -> None:
    listed = _listed()
    files = sorted(p.name for p in CERTS.glob("*.pem"))
    assert files == sorted(listed) and len(files) == 9
    sources = shared("pki", "SOURCES.md").read_text(encoding="utf-8")
    for name in files:
        (cert,) = x509.load_pem_x509_certificates((CERTS / name).read_bytes())
        assert _fingerprint(cert) == listed[name], name
        assert f"| {name} |" in sources and listed[name] in sources, f"{name} not in the shared list"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trust") / "client-ca.pem"
    path.write_bytes(b"".join(p.read_bytes() for p in sorted(CERTS.glob("*.pem"))))
    return path


def test_the_bundle_chains_every_ca_to_a_root_in_it(bundle: Path) -> None:
    certs = load_bundle(bundle)
    by_subject = {c.subject: c for c in certs}
    for cert in certs:
        current, depth = cert, 0
        while current.issuer != current.subject:
            parent = by_subject[current.issuer]
            current.verify_directly_issued_by(parent)
            current, depth = parent, depth + 1
        current.verify_directly_issued_by(current)  # the self-signed root
        assert depth <= 2
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(bundle))
    assert len(context.get_ca_certs()) == 9


def test_the_gateway_accepts_a_real_pkioverheid_certificate_with_it(bundle: Path, tmp_path: Path) -> None:
    digipoort = x509.load_pem_x509_certificate(
        shared("pki", "historical", "cs-bedrijven.procesinfrastructuur.nl-2019.pem").read_bytes()
    )
    certs = load_bundle(bundle)
    checker = CertificateChecker(certs, CrlStore([], tmp_path, certs))
    sender = checker.check(digipoort, now=datetime(2021, 3, 7, tzinfo=UTC))
    assert sender.oin == "00000004003214345001"
    with pytest.raises(CertificateRefused, match="verlopen"):
        checker.check(digipoort)
    without_tsp = [c for c in certs if "KPN PKIoverheid Private Services" not in c.subject.rfc4514_string()]
    with pytest.raises(CertificateRefused, match="vertrouwde"):
        CertificateChecker(without_tsp, CrlStore([], tmp_path, without_tsp)).check(
            digipoort, now=datetime(2021, 3, 7, tzinfo=UTC)
        )
