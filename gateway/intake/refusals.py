"""Why a TLS handshake on the filers' port failed, in words an operator can act on.

OpenSSL's reasons are many and cryptic; operators need a few that say what to fix, and
/metrics needs a small fixed set of labels. ``classify`` maps what the handshake raised to one
of ``REASONS`` plus a one-line detail (OpenSSL's own verify message or reason text, which name
no secret: no key material, no request bytes).

The refused certificate's subject and issuer are not logged: Python's ``ssl`` hands out the
peer certificate only after a completed handshake (``getpeercert`` refuses before), and in
TLS 1.3 the client's Certificate message is encrypted, so reading it from the wire would mean
re-implementing the handshake. Neither is cheap or safe; the verify message names the fault.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

#: label -> what it means (the label set of gateway_tls_handshake_failures_total)
REASONS: dict[str, str] = {
    "no_client_certificate": "the client sent no certificate",
    "certificate_untrusted": "the client certificate does not chain to GATEWAY_CLIENT_CA",
    "certificate_expired": "the client certificate has expired",
    "certificate_not_yet_valid": "the client certificate is not valid yet",
    "certificate_revoked": "the client certificate is revoked",
    "certificate_wrong_purpose": "the certificate is not for client authentication (a server certificate?)",
    "certificate_invalid": "the client certificate failed another verification step",
    "not_tls": "the client did not speak TLS (plain HTTP to the TLS port?)",
    "protocol_mismatch": "no TLS version or cipher both sides accept",
    "server_certificate_refused": "the client refused the gateway's certificate",
    "handshake_timeout": "the handshake did not finish within GATEWAY_HEADER_TIMEOUT",
    "connection_closed": "the client closed the connection during the handshake",
    "tls_error": "another TLS error",
}

# OpenSSL's X509_V_ERR_* codes (stable since OpenSSL 1.0)
_UNTRUSTED = {2, 18, 19, 20, 21}  # no issuer locally, self-signed leaf or chain, cannot verify leaf
_VERIFY: dict[int, str] = {
    9: "certificate_not_yet_valid",
    10: "certificate_expired",
    23: "certificate_revoked",
    26: "certificate_wrong_purpose",
    **{code: "certificate_untrusted" for code in _UNTRUSTED},
}

# OpenSSL reason codes (ssl.SSLError.reason) that say the client is not speaking TLS at all.
_NOT_TLS = {
    "HTTP_REQUEST": "not a TLS client hello: plain HTTP sent to the TLS port (use https://)",
    "HTTPS_PROXY_REQUEST": "not a TLS client hello: a proxy CONNECT request",
    "WRONG_VERSION_NUMBER": "not a TLS client hello (plain HTTP or another protocol?)",
    "UNKNOWN_PROTOCOL": "not a TLS client hello (plain HTTP or another protocol?)",
    "PACKET_LENGTH_TOO_LONG": "not a TLS client hello (plain HTTP or another protocol?)",
    "RECORD_LAYER_FAILURE": "not a TLS client hello (plain HTTP or another protocol?)",
}
_MISMATCH = {"UNSUPPORTED_PROTOCOL", "NO_SHARED_CIPHER", "NO_PROTOCOLS_AVAILABLE", "TLSV1_ALERT_PROTOCOL_VERSION"}
# Alerts the client sends when it does not accept the gateway's certificate (decrypt error: a
# CA of the same name but another key, as after a re-keyed root, fails the signature check).
_SERVER_CERT_ALERTS = {
    "TLSV1_ALERT_DECRYPT_ERROR",
    "TLSV1_ALERT_UNKNOWN_CA",
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED",
    "SSLV3_ALERT_CERTIFICATE_REVOKED",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
    "TLSV1_ALERT_ACCESS_DENIED",
}


@dataclass(frozen=True)
class Refusal:
    reason: str  # one of REASONS
    detail: str  # one line for the log


def _words(reason: str) -> str:
    return reason.lower().replace("_", " ")


def _verification(exc: ssl.SSLCertVerificationError) -> Refusal:
    message = str(exc.verify_message or "certificate verify failed")
    label = _VERIFY.get(int(exc.verify_code or 0), "certificate_invalid")
    if label == "certificate_untrusted":
        return Refusal(label, f"client certificate not trusted: {message}")
    if label == "certificate_wrong_purpose":
        return Refusal(label, f"client certificate not for client authentication (a server certificate?): {message}")
    if label == "certificate_invalid":
        return Refusal(label, f"client certificate refused: {message}")
    return Refusal(label, f"client {message}")


def _ssl_error(exc: ssl.SSLError) -> Refusal:
    code = str(exc.reason or "")
    if code == "PEER_DID_NOT_RETURN_A_CERTIFICATE":
        return Refusal("no_client_certificate", "no client certificate")
    if code in _NOT_TLS:
        return Refusal("not_tls", _NOT_TLS[code])
    if code in _MISMATCH:
        return Refusal("protocol_mismatch", f"no common TLS version or cipher: {_words(code)}")
    if code in _SERVER_CERT_ALERTS:
        alert = _words(code).removeprefix("tlsv1 alert ").removeprefix("sslv3 alert ")
        return Refusal(
            "server_certificate_refused",
            f"the client refused the gateway's certificate (alert: {alert}); does it trust the gateway's CA?",
        )
    return Refusal("tls_error", f"TLS error: {_words(code) if code else str(exc)[:200]}")


def classify(exc: BaseException, timeout: float) -> Refusal:
    """The refusal for what a failed server-side handshake raised."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _verification(exc)
    if isinstance(exc, ssl.SSLError):
        return _ssl_error(exc)
    # asyncio's sslproto aborts a handshake past ssl_handshake_timeout with ConnectionAbortedError;
    # the front protocol raises TimeoutError for a client that sent nothing in time.
    if isinstance(exc, ConnectionAbortedError | TimeoutError):
        return Refusal("handshake_timeout", f"handshake timed out after {timeout:g} s")
    if isinstance(exc, ConnectionError | OSError):
        return Refusal("connection_closed", "the client closed the connection during the handshake")
    return Refusal("tls_error", f"TLS error: {type(exc).__name__}")
