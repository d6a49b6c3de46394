"""Beds for `dicom-mcp check` beside the session's Orthanc and dcmqrscp: a dcmqrscp without C-GET,
a TLS-only PACS that wants a client certificate (its certificate good for two days), and the PKI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testbeds.faults import FaultPacs, answers, fault_pacs, get_sends
from testbeds.pacs import Catalog, PacsStartupError, RunningPacs
from testbeds.pacs.dcmqrscp import run_dcmqrscp
from testbeds.pki import Pki, make_pki, server_context
from testbeds.store import StoreScp

CERTIFICATE_DAYS = 2


@pytest.fixture(scope="package")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("check-pki"), days=CERTIFICATE_DAYS, ca_days=30)


@pytest.fixture(scope="package")
def tls_pacs(pki: Pki) -> Iterator[FaultPacs]:
    """A PACS that speaks only TLS 1.2+, demands a client certificate of the test CA, finds nothing
    and serves C-GET (of nothing)."""
    context = server_context(pki)
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
