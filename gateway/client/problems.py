"""What went wrong, in one line a filer can act on, instead of a traceback.

Two halves: a check of the certificate files before anything is sent (the commonest mistakes
are visible in the files themselves), and a translation of what the network, TLS and zeep
raise into a sentence that names the cause and the fix.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from lxml import etree
from zeep.exceptions import Fault, SignatureVerificationFailed, TransportError, XMLSyntaxError


class Problem(Exception):
    """A failure explained in one line; the CLI prints it and exits with code 2."""


@dataclass(frozen=True)
class Credentials:
    """The files a call needs, as given on the command line, the environment or a profile."""

    cert: Path
    key: Path
    ca: Path
    server_cert: Path | None = None


def _read(path: Path, what: str, option: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise Problem(f"{what} {path} does not exist: check {option}") from None
    except OSError as exc:
        raise Problem(f"cannot read {what} {path}: {exc.strerror}") from None


def _certificate(path: Path, what: str, option: str) -> x509.Certificate:
    data = _read(path, what, option)
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        pass
    try:
        serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise Problem(f"{what} {path} is not a PEM certificate: give the .pem file with the certificate") from None
    raise Problem(f"{path} is a private key, not a certificate: give the certificate to {option}")


def check_credentials(creds: Credentials) -> None:
    """Refuse, before connecting, what the gateway would refuse without saying why."""
    cert = _certificate(creds.cert, "client certificate", "--cert")
    key_data = _read(creds.key, "private key", "--key")
    try:
        key = serialization.load_pem_private_key(key_data, password=None)
    except TypeError:
        raise Problem(f"the private key {creds.key} is encrypted: give an unencrypted PEM key to --key") from None
    except ValueError:
        raise Problem(f"{creds.key} is not a PEM private key: give the key of the certificate to --key") from None
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise Problem(
            f"the key {creds.key} does not belong to the certificate {creds.cert}: "
            "give the key that was made together with this certificate"
        )
    _check_client_usage(cert, creds.cert)
    _certificate(creds.ca, "CA bundle", "--ca")
    if creds.server_cert is not None:
        _certificate(creds.server_cert, "server signing certificate", "--server-cert")


def _check_client_usage(cert: x509.Certificate, path: Path) -> None:
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return  # no restriction
    if ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
        kind = "a server certificate" if ExtendedKeyUsageOID.SERVER_AUTH in usages else "not a client certificate"
        raise Problem(
            f"{path} is {kind} (its extended key usage lacks clientAuth): "
            "give your client (PKIoverheid services) certificate to --cert"
        )


def _reason(exc: BaseException) -> str:
    """The innermost cause's text (urllib3 wraps the OS error several levels deep)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError) and current.reason:
            return str(current.reason).lower().replace("_", " ")
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        nested = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = current.__cause__ or current.__context__ or nested or getattr(current, "reason", None)
    return str(exc)


def explain(exc: BaseException, *, url: str, creds: Credentials | None = None) -> str:
    """One line for an exception raised while talking to the gateway."""
    if isinstance(exc, Problem):
        return str(exc)
    if isinstance(exc, Fault):
        return explain_fault(exc)
    if isinstance(exc, SignatureVerificationFailed):
        return f"the gateway's answer failed its signature check ({exc}): check --server-cert"
    if isinstance(exc, requests.exceptions.SSLError):
        return _explain_tls(exc, url, creds)
    if isinstance(exc, requests.ConnectionError):
        return _explain_connection(exc, url, creds)
    if isinstance(exc, requests.Timeout):
        return f"the gateway at {url} did not answer in time; try again later"
    if isinstance(exc, TransportError):
        return f"{url} answered HTTP {exc.status_code}, not a WUS service: check --url (it ends in /wus/2.0)"
    if isinstance(exc, XMLSyntaxError | etree.XMLSyntaxError):
        return f"{url} did not serve a WUS WSDL: check --url (it ends in /wus/2.0)"
    if isinstance(exc, TimeoutError):
        return f"{exc}; it is filed: ask again later with `gateway-client status KENMERK --wait`"
    return f"unexpected {type(exc).__name__}: {exc} (set GATEWAY_CLIENT_DEBUG=1 for a traceback)"


def _explain_connection(exc: requests.ConnectionError, url: str, creds: Credentials | None) -> str:
    reason = _reason(exc)
    if "refused" in reason:
        return f"cannot reach the gateway at {url}: connection refused; is it running? (check --url)"
    closed = "RemoteDisconnected" in reason or "reset" in reason.lower()
    refusal = probe_client_certificate(url, creds) if closed and creds is not None else None
    if refusal is not None and creds is not None:
        alert = f" ({refusal})" if "alert" in refusal else ""
        return (
            f"the gateway refused the TLS handshake with the client certificate {creds.cert}{alert}: it does not "
            "accept it (not from a CA it trusts, expired or revoked); use a client certificate from a CA the "
            "gateway trusts"
        )
    return f"cannot reach the gateway at {url}: {reason}; check --url and the network"


def probe_client_certificate(url: str, creds: Credentials) -> str | None:
    """Why the server ends the TLS handshake with this client certificate, if it does.

    With TLS 1.3 a server checks the client certificate after the client thinks the handshake
    is done, so a refusal only shows as a closed connection; with TLS 1.2 the server's alert
    (e.g. "unknown ca") arrives during the handshake. Used only to explain a failure."""
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port or 443
    ctx = ssl.create_default_context(cafile=str(creds.ca))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(creds.cert), str(creds.key))
        with (
            socket.create_connection((host, port), timeout=10) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            tls.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            tls.recv(1)
    except ssl.SSLError as exc:
        return str(exc.reason or exc).lower().replace("_", " ")
    except OSError:
        return None
    return None


def _explain_tls(exc: requests.exceptions.SSLError, url: str, creds: Credentials | None) -> str:
    reason = _reason(exc)
    ca = creds.ca if creds else "--ca"
    if "certificate verify failed" in reason or "certificate_verify_failed" in str(exc).lower():
        return (
            f"the gateway's certificate is not trusted by {ca} ({reason}): give --ca the CA that issued "
            "the gateway's certificate (data/certs/root.pem for scripts/dev)"
        )
    if "wrong version number" in reason or "record layer failure" in reason:
        return f"{url} does not answer in TLS (HTTPS): check --url (the gateway's filers' port)"
    if "hostname mismatch" in reason or "doesn't match" in str(exc):
        return f"the gateway's certificate is not for the host in {url}: check --url"
    cert = creds.cert if creds else "--cert"
    return (
        f"the gateway refused the TLS handshake ({reason}): it does not accept the client certificate {cert}; "
        "use a client certificate from a CA the gateway trusts"
    )


def explain_fault(exc: Fault) -> str:
    detail = exc.detail
    if detail is not None:
        code = detail.findtext(".//{*}foutcode")
        text = detail.findtext(".//{*}foutbeschrijving")
        if code:
            return f"{code}: {text}"
    return f"{exc.code}: {exc.message}" if exc.code else str(exc.message)
