"""A test PKI made with openssl: a CA, a server and a client certificate it signs, and a second CA
that signs nothing; and the server side of a TLS-only PACS that demands a client certificate."""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

# P-256 keys: made in milliseconds where an RSA-2048 one takes a few hundred; TLS is the same to the test.
NEW_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256")


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed nothing here


def openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True)


def make_pki(directory: Path, *, days: int, ca_days: int) -> Pki:
    """Write the PKI into `directory`: the server's certificate names pacs.test and 127.0.0.1, the
    client's dicom-mcp; both are good for `days`, the CAs for `ca_days`."""
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", *NEW_KEY, "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
                "-days", str(ca_days), "-subj", f"/CN=Test {ca}", cwd=directory)  # fmt: skip
    _issue(directory, "server", "/CN=pacs.test", "DNS:pacs.test,IP:127.0.0.1", days)
    _issue(directory, "client", "/CN=dicom-mcp", "DNS:dicom-mcp", days)
    d = directory
    return Pki(
        d / "ca.pem",
        d / "server.pem",
        d / "server.key",
        d / "client.pem",
        d / "client.key",
        d / "other-ca.pem",
    )


def _issue(directory: Path, name: str, subject: str, san: str, days: int) -> None:
    (directory / f"{name}.ext").write_text(f"subjectAltName={san}\n")
    openssl("req", "-new", *NEW_KEY, "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", subject, cwd=directory)  # fmt: skip
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", str(days), "-extfile", f"{name}.ext", cwd=directory)  # fmt: skip


def server_context(pki: Pki) -> ssl.SSLContext:
    """A PACS's side: TLS 1.2 or later, and a client certificate signed by the test CA, required."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(pki.server_cert, pki.server_key)
    return context
