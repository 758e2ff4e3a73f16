"""A throw-away PKI for a test session, written to a temporary folder."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.devcerts import DevCA, Issued, company_oin, issue_leaf, new_dev_ca, write_pair
from tests.support.wus_client import ClientCert


@dataclass
class Pki:
    folder: Path
    ca: DevCA
    server: ClientCert
    client_bundle: Path  # what the gateway trusts for clients
    root: Path  # what clients trust for the server

    def client(self, name: str, kvk_number: str = "12345678", **kwargs: object) -> ClientCert:
        """Issue (or reuse) a client certificate under the test organisation CA."""
        cert = self.folder / f"{name}.pem"
        if not cert.exists():
            issued = issue_leaf(self.ca.intermediate, f"Filer {name}", oin=company_oin(kvk_number), **kwargs)  # type: ignore[arg-type]
            write_pair(self.folder, name, issued)
        return ClientCert(cert, self.folder / f"{name}-key.pem")

    def issue_with(self, ca: Issued, name: str, **kwargs: object) -> ClientCert:
        issued = issue_leaf(ca, f"Filer {name}", **kwargs)  # type: ignore[arg-type]
        write_pair(self.folder, name, issued)
        return ClientCert(self.folder / f"{name}.pem", self.folder / f"{name}-key.pem")


def make_pki(folder: Path) -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    ca = new_dev_ca()
    server = issue_leaf(
        ca.intermediate,
        "localhost",
        org="Filing gateway",
        server_names=["localhost", "127.0.0.1"],
        client=False,
        server=True,
    )
    write_pair(folder, "server", server, chain=ca.intermediate.cert_pem())
    (folder / "clients-ca.pem").write_bytes(ca.bundle_pem())
    (folder / "root.pem").write_bytes(ca.root.cert_pem())
    return Pki(
        folder=folder,
        ca=ca,
        server=ClientCert(folder / "server.pem", folder / "server-key.pem"),
        client_bundle=folder / "clients-ca.pem",
        root=folder / "root.pem",
    )


def expired_window() -> dict[str, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    return {"not_before": now - dt.timedelta(days=30), "not_after": now - dt.timedelta(days=1)}


def write_crl(path: Path, issuer: Issued, revoked: list[int], *, days: int = 7) -> Path:
    """A CRL by ``issuer`` listing ``revoked`` serial numbers, valid for ``days``."""
    from cryptography.hazmat.primitives import hashes

    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(now - dt.timedelta(hours=1))
        .next_update(now + dt.timedelta(days=days))
    )
    for serial in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now - dt.timedelta(minutes=5))
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(issuer.key, hashes.SHA256())
    path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return path
