"""Runtime configuration, read once from the environment into a frozen dataclass.

Every setting has an embedded default so that ``gateway dev`` runs on a machine with
nothing else installed: SQLite and a private redis-server under the data folder, and
mails written to a maildir there.
"""

from __future__ import annotations

import os
import types
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

MiB = 1024 * 1024


class SettingsError(ValueError):
    pass


def _convert(raw: str, kind: Any, env: str) -> Any:
    """The environment's text as the field's type (``X | None`` is read as X)."""
    if get_origin(kind) in (Union, types.UnionType):
        kind = next(a for a in get_args(kind) if a is not type(None))
    try:
        if kind is bool:
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if kind in (int, float, str, Path):
            return kind(raw)
        if get_origin(kind) is tuple:
            return tuple(v.strip() for v in raw.split(",") if v.strip())
    except ValueError:
        raise SettingsError(f"{env}={raw!r} is not a valid {getattr(kind, '__name__', kind)}") from None
    raise TypeError(f"no conversion for {kind}")


@dataclass(frozen=True)
class Settings:
    # Each field: its default and the environment variable that overrides it, stated once.
    data_dir: Path = field(default=Path("data"), metadata={"env": "GATEWAY_DATA_DIR"})
    #: SQLAlchemy async URL; None means SQLite at ``data_dir/gateway.db``.
    database_url: str | None = field(default=None, metadata={"env": "GATEWAY_DATABASE_URL"})
    #: ``redis://`` URL; None means a private redis-server on a unix socket under data_dir.
    redis_url: str | None = field(default=None, metadata={"env": "GATEWAY_REDIS_URL"})
    #: ``smtp://user:pass@host:port`` (or ``smtps://``); None means the maildir ``data_dir/mail``.
    smtp_url: str | None = field(default=None, metadata={"env": "GATEWAY_SMTP_URL"})
    mail_from: str = field(default="Filing gateway <noreply@gateway.invalid>", metadata={"env": "GATEWAY_MAIL_FROM"})

    host: str = field(default="127.0.0.1", metadata={"env": "GATEWAY_HOST"})
    port: int = field(default=8443, metadata={"env": "GATEWAY_PORT"})
    #: Base URL written into the served WSDL; None means the listener's own address (never
    #: the request's Host header, which the client controls).
    public_url: str | None = field(default=None, metadata={"env": "GATEWAY_PUBLIC_URL"})
    #: The gateway's OIN, answered as identiteitOntvanger; None: the signing certificate's serialNumber.
    oin: str | None = field(default=None, metadata={"env": "GATEWAY_OIN"})
    tls_cert: Path | None = field(default=None, metadata={"env": "GATEWAY_TLS_CERT"})
    tls_key: Path | None = field(default=None, metadata={"env": "GATEWAY_TLS_KEY"})
    #: CA bundle that client certificates must chain to.
    client_ca: Path | None = field(default=None, metadata={"env": "GATEWAY_CLIENT_CA"})

    #: JSON file mapping sender OIN (or certificate subject) to a notification address.
    senders_file: Path | None = field(default=None, metadata={"env": "GATEWAY_SENDERS_FILE"})
    default_notify_address: str | None = field(default=None, metadata={"env": "GATEWAY_DEFAULT_NOTIFY_ADDRESS"})

    #: WS-Security: refuse unsigned requests (Digipoort does).
    require_signature: bool = field(default=True, metadata={"env": "GATEWAY_REQUIRE_SIGNATURE"})
    #: "certificate": the signing certificate must be the TLS client certificate;
    #: "subject": any certificate with the same subject (e.g. a separate signing certificate).
    signer_match: str = field(default="certificate", metadata={"env": "GATEWAY_SIGNER_MATCH"})
    signature_max_age: int = field(default=600, metadata={"env": "GATEWAY_SIGNATURE_MAX_AGE"})
    clock_skew: int = field(default=300, metadata={"env": "GATEWAY_CLOCK_SKEW"})
    sign_responses: bool = field(default=True, metadata={"env": "GATEWAY_SIGN_RESPONSES"})
    #: Certificate and key the gateway signs responses with; default: the TLS server pair.
    signing_cert: Path | None = field(default=None, metadata={"env": "GATEWAY_SIGNING_CERT"})
    signing_key: Path | None = field(default=None, metadata={"env": "GATEWAY_SIGNING_KEY"})

    #: CRLs (file paths or http(s) URLs) of the client CAs; empty: no revocation checking.
    crl_sources: tuple[str, ...] = field(default=(), metadata={"env": "GATEWAY_CRL"})
    crl_refresh_seconds: int = field(default=3600, metadata={"env": "GATEWAY_CRL_REFRESH"})
    #: Reverse-proxy mode: TLS ends at a proxy, which passes the verified client
    #: certificate (URL-encoded PEM) in this header; the gateway then listens on plain HTTP
    #: and accepts requests only from ``trusted_proxies``.
    proxy_cert_header: str | None = field(default=None, metadata={"env": "GATEWAY_PROXY_CERT_HEADER"})
    trusted_proxies: tuple[str, ...] = field(default=("127.0.0.1", "::1"), metadata={"env": "GATEWAY_TRUSTED_PROXIES"})

    max_request_bytes: int = field(default=100 * MiB, metadata={"env": "GATEWAY_MAX_REQUEST_BYTES"})
    max_part_bytes: int = field(default=20 * MiB, metadata={"env": "GATEWAY_MAX_PART_BYTES"})
    request_read_timeout: float = field(default=60.0, metadata={"env": "GATEWAY_REQUEST_READ_TIMEOUT"})
    #: Seconds a client may take for the TLS handshake and for a request's headers.
    header_timeout: float = field(default=15.0, metadata={"env": "GATEWAY_HEADER_TIMEOUT"})

    #: Seconds a job may run; also bounds how long a killed worker's job stays claimed.
    job_timeout: int = field(default=60, metadata={"env": "GATEWAY_JOB_TIMEOUT"})
    #: CPU seconds the checks of one statement may use before their process is killed (CPU,
    #: not wall time: a busy machine is not the statement's fault); None: half the job timeout.
    check_timeout: float | None = field(default=None, metadata={"env": "GATEWAY_CHECK_TIMEOUT"})
    #: Failed attempts at checking (overrun, crashed) before a run gets a final technical
    #: status (321) and waits for an operator.
    max_check_attempts: int = field(default=3, metadata={"env": "GATEWAY_MAX_CHECK_ATTEMPTS"})
    mail_max_tries: int = field(default=12, metadata={"env": "GATEWAY_MAIL_MAX_TRIES"})
    #: Jobs one worker process runs at once (they mostly wait on the database and SMTP).
    worker_concurrency: int = field(default=16, metadata={"env": "GATEWAY_WORKER_CONCURRENCY"})
    queue_name: str = field(default="gateway:queue", metadata={"env": "GATEWAY_QUEUE_NAME"})

    ops_host: str = field(default="127.0.0.1", metadata={"env": "GATEWAY_OPS_HOST"})
    ops_port: int = field(default=8081, metadata={"env": "GATEWAY_OPS_PORT"})
    ops_token: str | None = field(default=None, metadata={"env": "GATEWAY_OPS_TOKEN"})

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'gateway.db').resolve()}"

    @property
    def check_budget(self) -> float:
        return self.check_timeout if self.check_timeout else self.job_timeout * 0.5

    @property
    def check_wall_seconds(self) -> float:
        """Wall time for the checks and their look-ups; the rest of the job's time is for
        storing the outcome."""
        return self.job_timeout * 0.8

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
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Each field's default, overridden by its environment variable when that is set
        and not empty."""
        environ = dict(os.environ) if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            env = f.metadata["env"]
            raw = environ.get(env, "")
            if raw != "":
                values[f.name] = _convert(raw, hints[f.name], env)
        return cls(**values)
