"""Certificates for local use and tests: a two-level CA shaped like PKIoverheid (root ->
organisation CA), a server certificate and client certificates carrying an OIN in
``subject.serialNumber``. Never for production: production trusts the real PKIoverheid roots.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Issued:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(cn: str, org: str | None = None, serial: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "NL")]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if serial:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_ca(cn: str, issuer: Issued | None = None, days: int = 3650) -> Issued:
    key = _key()
    subject = _name(cn, org="Test PKI")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(days=1))
        .not_valid_after(_now() + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        # RFC 5280 4.2.1.1: every certificate but a self-signed root names its issuer's key;
        # OpenSSL's strict mode (Python 3.13's default contexts) refuses a chain without it.
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def issue_leaf(
    ca: Issued,
    cn: str,
    *,
    org: str = "Test Organisatie",
    oin: str | None = None,
    server_names: list[str] | None = None,
    client: bool = True,
    server: bool = False,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> Issued:
    key = _key()
    ekus = []
    if client:
        ekus.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    if server:
        ekus.append(ExtendedKeyUsageOID.SERVER_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, org=org, serial=oin))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or _now() - dt.timedelta(days=1))
        .not_valid_after(not_after or _now() + dt.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
    )
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    if server_names:
        sans: list[x509.GeneralName] = []
        for n in server_names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def company_oin(kvk_number: str) -> str:
    """The HRN/OIN of a company: 00000003 + KVK number + 0000."""
    return f"00000003{kvk_number}0000"


@dataclass
class DevCA:
    root: Issued
    intermediate: Issued

    def bundle_pem(self) -> bytes:
        return self.intermediate.cert_pem() + self.root.cert_pem()


def new_dev_ca() -> DevCA:
    root = make_ca("Test Staat der Nederlanden Root CA - G3")
    return DevCA(root, make_ca("Test PKIoverheid Organisatie Persoon CA - G3", issuer=root))


def write_pair(folder: Path, stem: str, issued: Issued, chain: bytes = b"") -> None:
    (folder / f"{stem}.pem").write_bytes(issued.cert_pem() + chain)
    key_path = folder / f"{stem}-key.pem"
    key_path.write_bytes(issued.key_pem())
    key_path.chmod(0o600)


def write_dev_ca(folder: Path, *, kvk_number: str = "12345678", hostnames: list[str] | None = None) -> dict[str, Path]:
    """Create CA, server and client certificates in ``folder``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = new_dev_ca()
    names = hostnames or ["localhost", "127.0.0.1", "::1"]
    server = issue_leaf(ca.intermediate, names[0], org="Filing gateway", server_names=names, client=False, server=True)
    client = issue_leaf(ca.intermediate, f"Filer {kvk_number}", org="Test Filer BV", oin=company_oin(kvk_number))
    (folder / "ca.pem").write_bytes(ca.bundle_pem())
    (folder / "root.pem").write_bytes(ca.root.cert_pem())
    write_pair(folder, "ca", ca.intermediate)  # overwritten below with the bundle
    (folder / "ca.pem").write_bytes(ca.bundle_pem())
    write_pair(folder, "server", server, chain=ca.intermediate.cert_pem())
    write_pair(folder, "client", client)
    return {
        "ca": folder / "ca.pem",
        "server": folder / "server.pem",
        "server_key": folder / "server-key.pem",
        "client": folder / "client.pem",
        "client_key": folder / "client-key.pem",
    }
