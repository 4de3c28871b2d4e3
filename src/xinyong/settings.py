"""Every setting of xinyong, read from `XINYONG_`-prefixed environment variables.

Each field carries its help text; `xinyong settings` prints them and a test checks that every
setting is documented in docs/settings.md.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from xinyong.domain.errors import ConfigurationError
from xinyong.domain.identifiers import IdentifierVault


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XINYONG_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        Path("var"),
        description="Directory for the embedded database, the identifier key file and reject reports.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the store, e.g. postgresql+psycopg://user@host/db. "
        "Default: the SQLite file xinyong.db in the data directory.",
    )
    catalog_dir: Path | None = Field(
        None, description="Policy catalog directory. Default: the catalog shipped with xinyong."
    )
    identifier_key: SecretStr | None = Field(
        None,
        description="Key (hex, at least 64 hex digits) for hashing personal identifiers. "
        "Default: read from the key file.",
    )
    identifier_key_file: Path | None = Field(
        None,
        description="File holding the identifier hashing key. Default: identifier.key in the data "
        "directory; `xinyong init` creates it.",
    )
    reject_dir: Path | None = Field(
        None, description="Where ingestion writes reject reports. Default: rejects/ in the data directory."
    )
    ingest_chunk_rows: int = Field(
        5000, ge=100, le=100_000, description="Rows validated and written together during ingestion."
    )
    ingest_helper_min_bytes: int = Field(
        8 << 20,
        description="Files at least this large are read and validated by a helper process while the main "
        "process writes (two cores at work). 0: always; a negative number: never.",
    )

    signing_key_file: Path | None = Field(
        None,
        description="PEM file of the Ed25519 key that signs check certificates. Default: signing.key in the "
        "data directory; `xinyong init` creates it.",
    )
    public_rate_per_minute: int = Field(
        60, ge=1, le=100_000, description="Requests a minute one client may make to the public endpoints."
    )
    max_batch_records: int = Field(
        10_000, ge=1, le=1_000_000, description="Most records one POST /v1/records may carry."
    )
    max_body_bytes: int = Field(
        8 << 20, ge=1024, le=1 << 30, description="Largest request body the API accepts, in bytes."
    )
    notice_delivery: str = Field(
        "log",
        description="How notices leave the outbox: 'log' (stored and logged), 'webhook' (signed, to "
        "XINYONG_NOTICE_WEBHOOK_URL) or 'module:callable', called with each stored notice as a mapping.",
    )
    # -- operations (docs/operations.md); parsed and checked further by xinyong.ops.config ------
    redis_url: str | None = Field(
        None,
        description="Redis URL (e.g. redis://127.0.0.1:6379/0) where every server process and replica "
        "counts the rate limits together. Unset: each process counts on its own.",
    )
    rate_limit_namespace: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Prefix of the rate limits' keys in Redis: replicas of one store must share it. "
        "Default: derived from the store's URL.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks (CIDR) of the reverse proxies whose "
        "X-Forwarded-For names the client. Empty: the client is the connection's peer, whatever it sends.",
    )
    log_level: str = Field(
        "info",
        pattern=r"^(debug|info|warning|error)$",
        description="Least severity a server writes to its JSON log: debug, info, warning or error.",
    )
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Serve Prometheus metrics on this port, apart from the API, to whoever can reach it. "
        "Unset: only on the API's /metrics, for admin keys.",
    )
    notice_webhook_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s]+$",
        description="The notification gateway's URL that 'webhook' delivery POSTs each notice to.",
    )
    notice_webhook_secret: SecretStr | None = Field(
        None,
        description="The secret shared with the gateway (whsec_ and base64, Standard Webhooks) that signs "
        "each delivery.",
    )
    notice_webhook_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="How long one webhook delivery may take before it counts as failed."
    )
    notice_max_attempts: int = Field(
        8, ge=1, le=50, description="Attempts to deliver one notice before it is set aside as dead."
    )
    notice_retry_base_seconds: float = Field(
        30.0,
        ge=0,
        le=86_400,
        description="Wait before the second attempt; each later wait doubles, with random jitter. "
        "0: retry at the next delivery run.",
    )
    notice_retry_max_seconds: float = Field(
        21_600.0, ge=0, le=7 * 86_400, description="Longest wait between two attempts to deliver a notice."
    )
    schedule_maintain_at: str = Field(
        "02:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="When `serve --schedule` runs the daily maintenance (HH:MM in XINYONG_SCHEDULE_TIMEZONE).",
    )
    schedule_checkpoint_at: str = Field(
        "03:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="When `serve --schedule` runs the daily audit checkpoint (HH:MM in XINYONG_SCHEDULE_TIMEZONE).",
    )
    schedule_deliver_every_seconds: int = Field(
        60, ge=1, le=86_400, description="How often `serve --schedule` delivers the notices that are due."
    )
    schedule_timezone: str = Field(
        "UTC", description="IANA time zone of the schedule's times of day, e.g. Asia/Shanghai."
    )

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'xinyong.db').resolve()}"

    @property
    def key_file(self) -> Path:
        return self.identifier_key_file or self.data_dir / "identifier.key"

    @property
    def rejects(self) -> Path:
        return self.reject_dir or self.data_dir / "rejects"

    @property
    def signing_file(self) -> Path:
        return self.signing_key_file or self.data_dir / "signing.key"

    def signing_key(self) -> Ed25519PrivateKey:
        """The key that signs certificates; refuses to run without one rather than invent one."""
        path = self.signing_file
        if not path.exists():
            raise ConfigurationError(f"no signing key: run `xinyong init` to create {path}")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{path} is not an Ed25519 private key")
        return key

    def create_signing_key_file(self) -> bool:
        """Create the signing key file if it is missing; return whether a new key was written."""
        path = self.signing_file
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.write_bytes(pem)
        return True

    def vault(self) -> IdentifierVault:
        """The keyed hasher for identifiers; refuses to run without a key rather than invent one."""
        if self.identifier_key is not None:
            raw = self.identifier_key.get_secret_value()
        elif self.key_file.exists():
            raw = self.key_file.read_text().strip()
        else:
            raise ConfigurationError(
                f"no identifier hashing key: run `xinyong init` to create {self.key_file}, "
                "or set XINYONG_IDENTIFIER_KEY"
            )
        try:
            key = bytes.fromhex(raw)
        except ValueError:
            raise ConfigurationError("the identifier key must be hexadecimal") from None
        if len(key) < 32:
            raise ConfigurationError("the identifier key must be at least 32 bytes (64 hex digits)")
        return IdentifierVault(key)

    def create_key_file(self) -> bool:
        """Create the key file if it is missing; return whether a new key was written."""
        path = self.key_file
        if path.exists() or self.identifier_key is not None:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32) + "\n")
        return True
