"""Where a DICOM operation goes: one PACS, as host, port and called AE title (plus TLS and limits)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsSettings:
    """DICOM TLS towards one PACS: the CA that signs its certificate, and our client certificate."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_name: str | None = None  # the name its certificate carries, when not the host we dial
    check_hostname: bool = True


@dataclass(frozen=True)
class Target:
    """A PACS to talk to; `name` is the operator's node name, or None for an ad-hoc target."""

    host: str
    port: int
    ae_title: str
    name: str | None = None
    tls: TlsSettings | None = None
    max_associations: int | None = None

    @property
    def key(self) -> str:
        """Identity used for per-PACS limits: two targets on one host:port share them."""
        return f"{self.host.lower()}:{self.port}"

    def describe(self) -> str:
        """A short, patient-free description for messages; a named node's address stays unsaid."""
        if self.name:
            return f"node {self.name!r} ({self.ae_title})"
        return f"{self.ae_title}@{self.host}:{self.port}"
