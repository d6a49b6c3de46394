"""Service settings: the only module that reads the environment.

Every variable is listed, with its default and meaning, in `.env.example` and docs/operators/settings.md.
The four variables inherited from the original desktop server keep their bare `DICOM_*`
names; everything else is prefixed `DICOM_MCP_`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CsvList = Annotated[tuple[str, ...], NoDecode]


def _seed(name: str) -> AliasChoices:
    """Accept a seed variable under its historical bare name."""
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """All configuration of one dicom-mcp process."""

    model_config = SettingsConfigDict(
        env_prefix="DICOM_MCP_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    # The default PACS, reached when a caller has configured nothing.
    dicom_host: str = Field("127.0.0.1", validation_alias=_seed("DICOM_HOST"))
    dicom_port: int = Field(11112, ge=1, le=65535, validation_alias=_seed("DICOM_PORT"))
    dicom_ae_title: str = Field(
        "MCPSCU", min_length=1, max_length=16, validation_alias=_seed("DICOM_AE_TITLE")
    )
    dicom_called_ae_title: str = Field(
        "ANY-SCP", min_length=1, max_length=16, validation_alias=_seed("DICOM_CALLED_AE_TITLE")
    )
    dicom_retrieve: Literal["get", "move", "auto"] = Field("auto", validation_alias=_seed("DICOM_RETRIEVE"))

    # The receiver: where PACS without C-GET send what a read asks for (C-MOVE to this service).
    receiver_port: int | None = Field(None, ge=1, le=65535)
    receiver_host: str | None = None  # the bind address; unset: DICOM_MCP_HOST's

    # Which PACS a caller may point its session at: named nodes, or host:port in the allowlist.
    allowed_targets: CsvList = ()
    nodes_file: Path | None = None
    expose_node_hosts: bool = False

    # DICOM network timeouts, in seconds.
    connect_timeout: float = Field(5.0, gt=0)
    acse_timeout: float = Field(10.0, gt=0)
    dimse_timeout: float = Field(30.0, gt=0)
    network_timeout: float = Field(30.0, gt=0)
    query_deadline: float = Field(60.0, gt=0)
    max_associations: int = Field(8, ge=1, le=256)
    association_lifetime: float = Field(0.5, ge=0, le=60)
    association_lease_seconds: float = Field(5.0, ge=1, le=300)

    # Query results.
    default_limit: int = Field(100, ge=1)
    max_limit: int = Field(1000, ge=1)

    # Reading: instances held in memory per call, and report text returned per report.
    max_retrieve_bytes: int = Field(64 * 2**20, ge=2**16)
    report_max_chars: int = Field(20_000, ge=100)
    render_max_size: int = Field(1024, ge=16, le=1024)
    render_max_pixels: int = Field(40_000_000, ge=1)
    # All calls together: bytes of instances held in memory at once.
    max_bytes_in_flight: int = Field(512 * 2**20, ge=2**16)
    # The sandbox that parses what a PACS sends: worker processes, each job's deadline, each worker's memory.
    parse_workers: int = Field(2, ge=1, le=64)
    parse_timeout: float = Field(10.0, gt=0)
    parse_max_memory: int = Field(2 * 2**30, ge=0)

    # DICOM sessions (the handles `configure_dicom_server` returns).
    session_store: str = Field("memory://", pattern=r"^(memory://|rediss?://.+)$")
    session_ttl: float = Field(3600.0, gt=0)
    session_max_entries: int = Field(10_000, ge=1)

    # Process and transports.
    transport: Literal["http", "stdio"] = "http"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    allowed_hosts: CsvList = ()
    allowed_origins: CsvList = ()
    max_body_bytes: int = Field(1_000_000, ge=1024)
    http_session_idle_timeout: float = Field(1800.0, gt=0)
    http_max_sessions: int = Field(1000, ge=1)
    http_max_sessions_per_principal: int = Field(100, ge=1)
    shutdown_grace: float = Field(30.0, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["auto", "json", "text"] = "auto"  # auto: text on a terminal, else JSON

    # Who may call (HTTP): API keys and/or OAuth 2.1 JWT access tokens.
    api_keys_file: Path | None = None
    oauth_jwks: str | None = None
    oauth_issuer: str | None = None
    oauth_audience: str | None = None
    public_url: str | None = None
    allow_unauthenticated: bool = False

    # Abuse limits and the audit trail.
    rate_limit_per_minute: int = Field(600, ge=0)
    max_sessions_per_principal: int = Field(100, ge=1)
    audit_log: str | None = None

    # Pseudonymised views: who sees tokens instead of identities, and with which key.
    view: Literal["identified", "pseudonymised"] = "identified"
    pseudonym_key_file: Path | None = None
    pseudonymised_text: Literal["withhold", "scrub"] = "withhold"
    pseudonym_ttl: float = Field(7 * 86400.0, gt=0)

    @field_validator(
        "nodes_file",
        "api_keys_file",
        "oauth_jwks",
        "oauth_issuer",
        "oauth_audience",
        "public_url",
        "audit_log",
        "pseudonym_key_file",
        "receiver_port",
        "receiver_host",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("allowed_targets", "allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.default_limit > self.max_limit:
            raise ValueError("DICOM_MCP_DEFAULT_LIMIT must not exceed DICOM_MCP_MAX_LIMIT")
        if self.oauth_jwks and not (self.oauth_issuer and (self.oauth_audience or self.public_url)):
            raise ValueError(
                "DICOM_MCP_OAUTH_JWKS needs DICOM_MCP_OAUTH_ISSUER and DICOM_MCP_OAUTH_AUDIENCE (or DICOM_MCP_PUBLIC_URL)"
            )
        return self

    @property
    def auth_enabled(self) -> bool:
        """True when callers must present a bearer token."""
        return bool(self.api_keys_file or self.oauth_jwks)

    @property
    def resource_url(self) -> str:
        """This service's MCP endpoint as clients name it: the OAuth resource (RFC 8707) and audience."""
        base = self.public_url or f"http://{self.host}:{self.port}"
        return base.rstrip("/") + "/mcp"


def environment_names() -> dict[str, str]:
    """Each setting's field name and the environment variable that sets it."""
    names = {}
    for name, field in Settings.model_fields.items():
        choices = getattr(field.validation_alias, "choices", None)
        names[name] = str(choices[0]) if choices else f"{Settings.model_config['env_prefix']}{name.upper()}"
    return names
