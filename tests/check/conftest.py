"""Beds for `dicom-mcp check` beside the session's Orthanc and dcmqrscp: a dcmqrscp without C-GET,
a TLS-only PACS that wants a client certificate (its certificate good for two days), and the PKI."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testbeds.faults import FaultPacs, answers, fault_pacs, get_sends
from testbeds.pacs import Catalog, PacsStartupError, RunningPacs
from testbeds.pacs.dcmqrscp import run_dcmqrscp
from testbeds.store import StoreScp

CERTIFICATE_DAYS = 2
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


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _issue(directory: Path, name: str, subject: str, san: str) -> None:
    (directory / f"{name}.ext").write_text(f"subjectAltName={san}\n")
    _openssl("req", "-new", *NEW_KEY, "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
             cwd=directory)  # fmt: skip
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", f"{name}.pem", "-days", str(CERTIFICATE_DAYS), "-extfile", f"{name}.ext", cwd=directory)  # fmt: skip


@pytest.fixture(scope="package")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("check-pki")
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", *NEW_KEY, "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "30",
                 "-subj", f"/CN=Check test {ca}", cwd=directory)  # fmt: skip
    _issue(directory, "server", "/CN=pacs.test", "DNS:pacs.test,IP:127.0.0.1")
    _issue(directory, "client", "/CN=dicom-mcp", "DNS:dicom-mcp")
    d = directory
    return Pki(
        d / "ca.pem",
        d / "server.pem",
        d / "server.key",
        d / "client.pem",
        d / "client.key",
        d / "other-ca.pem",
    )


@pytest.fixture(scope="package")
def tls_pacs(pki: Pki) -> Iterator[FaultPacs]:
    """A PACS that speaks only TLS 1.2+, demands a client certificate of the test CA, finds nothing
    and serves C-GET (of nothing)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(pki.server_cert, pki.server_key)
    with fault_pacs(answers(0), get_handler=get_sends(0), ae_title="SECURE", ssl_context=context) as pacs:
        yield pacs


@pytest.fixture(scope="package")
def noget_dcmqrscp(
    pacs_catalog: Catalog, move_destination: StoreScp, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPacs]:
    """A dcmqrscp with the data set, started with --disable-get; it knows the session's move destination."""
    assert pacs_catalog.directory is not None
    with run_dcmqrscp(
        tmp_path_factory.mktemp("check-noget-dcmqrscp"),
        pacs_catalog.directory,
        move_destinations=[move_destination.destination],
        disable_get=True,
    ) as pacs:
        if pacs.instance_count != pacs_catalog.instance_count:
            raise PacsStartupError(
                f"{pacs.name} holds {pacs.instance_count} of {pacs_catalog.instance_count}"
            )
        yield pacs
