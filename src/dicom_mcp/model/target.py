"""Where a DICOM operation goes: one PACS, as host, port and called AE title (plus TLS and limits),
or a DICOMweb node (its root URL, credentials and CA; from the nodes file only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class TlsSettings:
    """DICOM TLS towards one PACS: the CA that signs its certificate, and our client certificate."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_name: str | None = None  # the name its certificate carries, when not the host we dial
    check_hostname: bool = True


@dataclass(frozen=True)
class WebSettings:
    """A DICOMweb node: its root URL; credentials stay in files, read when a request needs them."""

    url: str  # the DICOMweb root, e.g. https://pacs.hospital.example/dicom-web
    token_file: Path | None = None  # bearer token
    username: str | None = None  # basic authentication, with password_file
    password_file: Path | None = None
    ca_file: Path | None = None  # the CA that signs the archive's certificate, if not a public one
    # Match values that would travel percent-encoded (non-ASCII letters, spaces, ^) here rather than
    # at the archive, for archives that do not decode query strings (Debian's Orthanc 1.10);
    # None: found out by asking the archive (dicomweb/decoding.py).
    local_matching: bool | None = None


@dataclass(frozen=True)
class Target:
    """A PACS to talk to; `name` is the operator's node name, or None for an ad-hoc target."""

    host: str
    port: int
    ae_title: str
    name: str | None = None
    tls: TlsSettings | None = None
    max_associations: int | None = None  # simultaneous associations, or HTTP requests for DICOMweb
    web: WebSettings | None = None  # set for a DICOMweb node (ae_title is then empty)
    # How instances are read: C-GET, C-MOVE to the service's receiver, or C-GET falling back to it.
    retrieve: Literal["get", "move", "auto"] = "auto"

    @property
    def protocol(self) -> str:
        """ "dimse" or "dicomweb"."""
        return "dicomweb" if self.web is not None else "dimse"

    @property
    def key(self) -> str:
        """Identity used for per-PACS limits: two targets on one host:port (or one DICOMweb root) share them."""
        if self.web is not None:
            return self.web.url.rstrip("/")
        return f"{self.host.lower()}:{self.port}"

    def describe(self) -> str:
        """A short, patient-free description for messages; a named node's address stays unsaid."""
        if self.name:
            return f"node {self.name!r} ({'DICOMweb' if self.web is not None else self.ae_title})"
        return f"{self.ae_title}@{self.host}:{self.port}"
