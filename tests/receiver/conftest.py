"""PACS that offer no C-GET, and services that read them by C-MOVE to their own receiver.

`noget_orthanc` (the default PACS here) refuses every C-GET; `noget_dcmqrscp` (the node
`dcmqrscp`) runs with `--disable-get`. Both hold the standard data set (`pacs_catalog`), like the
session's `orthanc` and `dcmqrscp`, which serve it by C-GET to `reference`: the service whose
answers those read by C-MOVE must equal, value for value and byte for byte.

A PACS knows one host and port per move destination, so each service that reads by C-MOVE
listens under an AE title of its own (`RECEIVERS`), which both PACS know; `LOST` is known to
both at a port where nothing listens. One service per AE title at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testbeds.faults import closed_port
from testbeds.net import free_port
from testbeds.pacs import Catalog, PacsStartupError, RunningPacs
from testbeds.pacs.dcmqrscp import run_dcmqrscp
from testbeds.pacs.orthanc import run_orthanc
from testbeds.service import RunningService, run_service
from testbeds.store import Destination, StoreScp
from tests.reading_beds import reading_env
from tests.receiver.beds import LOST, MODES, MOVER, RECEIVERS, mover_env


@pytest.fixture(scope="package")
def receivers() -> dict[str, Destination]:
    """Where each AE title's receiver listens (LOST: nowhere), as both PACS are told."""
    known = {ae: Destination(ae, "127.0.0.1", free_port()) for ae in RECEIVERS}
    known[LOST] = Destination(LOST, "127.0.0.1", closed_port())
    return known


def _loaded(pacs: RunningPacs, catalog: Catalog) -> RunningPacs:
    if pacs.instance_count != catalog.instance_count:
        raise PacsStartupError(f"{pacs.name} holds {pacs.instance_count} of {catalog.instance_count}")
    return pacs


@pytest.fixture(scope="package")
def noget_orthanc(
    pacs_catalog: Catalog, receivers: dict[str, Destination], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPacs]:
    """An Orthanc with the data set that refuses C-GET to everyone and may C-MOVE to `receivers`."""
    assert pacs_catalog.directory is not None
    with run_orthanc(
        tmp_path_factory.mktemp("noget-orthanc"),
        pacs_catalog.directory,
        move_destinations=list(receivers.values()),
        disable_get=True,
    ) as pacs:
        yield _loaded(pacs, pacs_catalog)


@pytest.fixture(scope="package")
def noget_dcmqrscp(
    pacs_catalog: Catalog, receivers: dict[str, Destination], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPacs]:
    """A dcmqrscp with the data set, started with --disable-get, that may C-MOVE to `receivers`.

    Room for more associations than the concurrent reads open (with the C-FINDs before them, which
    it frees lazily): at its limit dcmqrscp rejects and closes at once, and the connection's reset
    can swallow the rejection, which the service then reads as an abort and does not retry.
    """
    assert pacs_catalog.directory is not None
    with run_dcmqrscp(
        tmp_path_factory.mktemp("noget-dcmqrscp"),
        pacs_catalog.directory,
        move_destinations=list(receivers.values()),
        disable_get=True,
        max_associations=64,
    ) as pacs:
        yield _loaded(pacs, pacs_catalog)


@pytest.fixture(scope="package")
def reference(
    orthanc: RunningPacs,
    dcmqrscp: RunningPacs,
    move_destination: StoreScp,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningService]:
    """The service reading the same data set from the session's PACS, by C-GET."""
    workdir = tmp_path_factory.mktemp("reference")
    with run_service(workdir, reading_env(workdir, orthanc, dcmqrscp, move_destination)) as running:
        yield running


@pytest.fixture(scope="package", params=MODES)
def mover(
    request: pytest.FixtureRequest,
    noget_orthanc: RunningPacs,
    noget_dcmqrscp: RunningPacs,
    receivers: dict[str, Destination],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningService]:
    """The service reading both no-C-GET PACS with `retrieve` "auto", then "move", receiving as MCPSCU."""
    workdir = tmp_path_factory.mktemp(f"mover-{request.param}")
    env = mover_env(workdir, noget_orthanc, noget_dcmqrscp, retrieve=request.param, receiver=receivers[MOVER])
    with run_service(workdir, env) as running:
        yield running
