"""Runtime configuration, read once from the environment into a frozen dataclass.

Every setting has an embedded default so that ``gateway dev`` runs on a machine with
nothing else installed: SQLite and a private redis-server under the data folder, and
mails written to a maildir there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from gateway.resources import SCHEMAS_DIR

MiB = 1024 * 1024


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    #: SQLAlchemy async URL; None means SQLite at ``data_dir/gateway.db``.
    database_url: str | None = None
    #: ``redis://`` URL; None means a private redis-server on a unix socket under data_dir.
    redis_url: str | None = None
    #: ``smtp://user:pass@host:port`` (or ``smtps://``); None means the maildir ``data_dir/mail``.
    smtp_url: str | None = None
    mail_from: str = "Filing gateway <noreply@gateway.invalid>"

    host: str = "127.0.0.1"
    port: int = 8443
    #: Base URL written into the served WSDL; None means derived from the request's Host.
    public_url: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: CA bundle that client certificates must chain to.
    client_ca: Path | None = None

    #: JSON file mapping sender OIN (or certificate subject) to a notification address.
    senders_file: Path | None = None
    default_notify_address: str | None = None

    #: WS-Security: refuse unsigned requests (Digipoort does).
    require_signature: bool = True
    #: "certificate": the signing certificate must be the TLS client certificate;
    #: "subject": any certificate with the same subject (e.g. a separate signing certificate).
    signer_match: str = "certificate"
    signature_max_age: int = 600
    clock_skew: int = 300
    sign_responses: bool = True
    #: Certificate and key the gateway signs responses with; default: the TLS server pair.
    signing_cert: Path | None = None
    signing_key: Path | None = None

    #: CRLs (file paths or http(s) URLs) of the client CAs; empty: no revocation checking.
    crl_sources: tuple[str, ...] = ()
    crl_refresh_seconds: int = 3600
    #: Reverse-proxy mode: TLS ends at a proxy, which passes the verified client
    #: certificate (URL-encoded PEM) in this header; the gateway then listens on plain HTTP
    #: and accepts requests only from ``trusted_proxies``.
    proxy_cert_header: str | None = None
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")

    max_request_bytes: int = 100 * MiB
    max_part_bytes: int = 20 * MiB
    request_read_timeout: float = 60.0
    #: Seconds a client may take for the TLS handshake and for a request's headers.
    header_timeout: float = 15.0

    #: Seconds a job may run; also bounds how long a killed worker's job stays claimed.
    job_timeout: int = 60
    mail_max_tries: int = 12
    #: Jobs one worker process runs at once (they mostly wait on the database and SMTP).
    worker_concurrency: int = 16
    queue_name: str = "gateway:queue"
    reconcile_every_minutes: int = 1

    ops_host: str = "127.0.0.1"
    ops_port: int = 8081
    ops_token: str | None = None

    schemas_dir: Path = field(default=SCHEMAS_DIR)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'gateway.db').resolve()}"

    @property
    def certs_dir(self) -> Path:
        return self.data_dir / "certs"

    @property
    def maildir(self) -> Path:
        return self.data_dir / "mail"

    def with_defaults_for_tls(self) -> Settings:
        """Fill unset TLS paths with the dev certificates under ``data_dir/certs``."""
        d = self.certs_dir
        return replace(
            self,
            tls_cert=self.tls_cert or d / "server.pem",
            tls_key=self.tls_key or d / "server-key.pem",
            client_ca=self.client_ca or d / "ca.pem",
            signing_cert=self.signing_cert or self.tls_cert or d / "server.pem",
            signing_key=self.signing_key or self.tls_key or d / "server-key.pem",
        )

    @classmethod
    def from_env(cls) -> Settings:
        def path(name: str) -> Path | None:
            v = _env(name)
            return Path(v) if v else None

        defaults = cls()
        return cls(
            data_dir=Path(_env("GATEWAY_DATA_DIR", "data") or "data"),
            database_url=_env("GATEWAY_DATABASE_URL"),
            redis_url=_env("GATEWAY_REDIS_URL"),
            smtp_url=_env("GATEWAY_SMTP_URL"),
            mail_from=_env("GATEWAY_MAIL_FROM", defaults.mail_from) or defaults.mail_from,
            host=_env("GATEWAY_HOST", defaults.host) or defaults.host,
            port=int(_env("GATEWAY_PORT", str(defaults.port)) or defaults.port),
            public_url=_env("GATEWAY_PUBLIC_URL"),
            tls_cert=path("GATEWAY_TLS_CERT"),
            tls_key=path("GATEWAY_TLS_KEY"),
            client_ca=path("GATEWAY_CLIENT_CA"),
            senders_file=path("GATEWAY_SENDERS_FILE"),
            default_notify_address=_env("GATEWAY_DEFAULT_NOTIFY_ADDRESS"),
            require_signature=_bool(_env("GATEWAY_REQUIRE_SIGNATURE"), True),
            signer_match=_env("GATEWAY_SIGNER_MATCH", "certificate") or "certificate",
            signature_max_age=int(_env("GATEWAY_SIGNATURE_MAX_AGE", "600") or 600),
            clock_skew=int(_env("GATEWAY_CLOCK_SKEW", "300") or 300),
            sign_responses=_bool(_env("GATEWAY_SIGN_RESPONSES"), True),
            signing_cert=path("GATEWAY_SIGNING_CERT"),
            signing_key=path("GATEWAY_SIGNING_KEY"),
            crl_sources=_list(_env("GATEWAY_CRL")),
            crl_refresh_seconds=int(_env("GATEWAY_CRL_REFRESH", "3600") or 3600),
            proxy_cert_header=_env("GATEWAY_PROXY_CERT_HEADER"),
            trusted_proxies=_list(_env("GATEWAY_TRUSTED_PROXIES")) or defaults.trusted_proxies,
            max_request_bytes=int(_env("GATEWAY_MAX_REQUEST_BYTES", str(defaults.max_request_bytes)) or 0),
            header_timeout=float(_env("GATEWAY_HEADER_TIMEOUT", "15") or 15),
            request_read_timeout=float(_env("GATEWAY_REQUEST_READ_TIMEOUT", "60") or 60),
            worker_concurrency=int(_env("GATEWAY_WORKER_CONCURRENCY", "16") or 16),
            job_timeout=int(_env("GATEWAY_JOB_TIMEOUT", str(defaults.job_timeout)) or 60),
            queue_name=_env("GATEWAY_QUEUE_NAME", defaults.queue_name) or defaults.queue_name,
            ops_host=_env("GATEWAY_OPS_HOST", defaults.ops_host) or defaults.ops_host,
            ops_port=int(_env("GATEWAY_OPS_PORT", str(defaults.ops_port)) or defaults.ops_port),
            ops_token=_env("GATEWAY_OPS_TOKEN"),
        )
