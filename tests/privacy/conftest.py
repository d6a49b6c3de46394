"""The canary patient in its own Orthanc and dcmqrscp, and services in front of them.

`service` holds three principals in its API keys file: the researcher (pseudonymised, may
move), the auditor (pseudonymised) and the radiologist (identified, may move); its pseudonym
key is random for each run. `plain_service` is the same service with no keys and no
pseudonyms: today's behaviour, the reference an identified caller is compared with.
The PACS are named `orthanc` (the default) and `dcmqrscp` (a node), as tests/reading_beds.py
names them, so its helpers aim calls and read the audit trail here too.
"""

from __future__ import annotations

import hashlib
import secrets
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from testbeds.canary import CanaryStudy, canary_studies, store_in_orthanc, write_study
from testbeds.pacs import RunningPacs
from testbeds.pacs.dcmqrscp import run_dcmqrscp
from testbeds.pacs.orthanc import run_orthanc
from testbeds.service import SERVICE_LOGS, RunningService, run_service
from testbeds.store import StoreScp
from tests.reading_beds import reading_env

PSEUDONYMISED = "dicom:pseudonymised"
PRINCIPALS = {  # principal: (bearer token, permissions field of the API keys file)
    "researcher": ("researcher-token-5f1d2c7a9b", f"dicom:read,{PSEUDONYMISED},dicom:move"),
    "auditor": ("auditor-token-0e4b8d6f13", f"dicom:read,{PSEUDONYMISED}"),
    "radiologist": ("radiologist-token-7c3a9e2b41", "dicom:read,dicom:move"),
}


def bearer(principal: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {PRINCIPALS[principal][0]}"}


def write_keys(path: Path) -> Path:
    lines = ["# principal sha256-of-token permissions"]
    for principal, (token, permissions) in PRINCIPALS.items():
        lines.append(f"{principal} {hashlib.sha256(token.encode()).hexdigest()} {permissions}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_pseudonym_key(path: Path) -> Path:
    """A random 32-byte secret; none at either end that a reader stripping whitespace would lose."""
    key = secrets.token_bytes(32)
    while key != key.strip():
        key = secrets.token_bytes(32)
    path.write_bytes(key)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="session")
def canary() -> tuple[CanaryStudy, CanaryStudy]:
    """The canary patient's studies: the first, and the follow-up."""
    return canary_studies()


@pytest.fixture(scope="session")
def canary_orthanc(
    canary: tuple[CanaryStudy, CanaryStudy],
    move_destination: StoreScp,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningPacs]:
    """An Orthanc holding the canary patient only; it may C-MOVE to the storage SCP."""
    destinations = [move_destination.destination]
    with run_orthanc(tmp_path_factory.mktemp("canary-orthanc"), None, move_destinations=destinations) as pacs:
        for study in canary:
            store_in_orthanc(pacs, study.datasets())
        yield pacs


@pytest.fixture(scope="session")
def canary_dcmqrscp(
    canary: tuple[CanaryStudy, CanaryStudy],
    move_destination: StoreScp,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningPacs]:
    """A dcmqrscp serving the canary patient only (its files in a temporary directory)."""
    files = tmp_path_factory.mktemp("canary-files")
    for study in canary:
        write_study(files, study.datasets())
    workdir = tmp_path_factory.mktemp("canary-dcmqrscp")
    with run_dcmqrscp(workdir, files, move_destinations=[move_destination.destination]) as pacs:
        yield pacs


@pytest.fixture
def store(move_destination: StoreScp) -> StoreScp:
    """The move destination, with nothing received yet."""
    move_destination.clear()
    return move_destination


@pytest.fixture(scope="session")
def pseudonym_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pseudonym_key(tmp_path_factory.mktemp("pseudonym-key") / "pseudonym.key")


@pytest.fixture(scope="package")
def service_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pseudonymised")


@pytest.fixture(scope="package")
def service(
    canary_orthanc: RunningPacs,
    canary_dcmqrscp: RunningPacs,
    move_destination: StoreScp,
    pseudonym_key: Path,
    service_workdir: Path,
) -> Iterator[RunningService]:
    """The service with the researcher, the auditor and the radiologist."""
    env = reading_env(
        service_workdir,
        canary_orthanc,
        canary_dcmqrscp,
        move_destination,
        api_keys_file=str(write_keys(service_workdir / "api-keys")),
        pseudonym_key_file=str(pseudonym_key),
    )
    with run_service(service_workdir, env) as running:
        yield running


@pytest.fixture(scope="package")
def plain_service(
    canary_orthanc: RunningPacs,
    canary_dcmqrscp: RunningPacs,
    move_destination: StoreScp,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningService]:
    """The service as it was before views: no keys, no pseudonyms, everyone identified."""
    workdir = tmp_path_factory.mktemp("identified")
    with run_service(
        workdir, reading_env(workdir, canary_orthanc, canary_dcmqrscp, move_destination)
    ) as running:
        yield running


@asynccontextmanager
async def stdio_service(env: Mapping[str, str], log: Path) -> AsyncIterator[Client]:
    """An SDK client driving `python -m dicom_mcp --transport stdio`, its stderr (the log) kept in `log`."""
    SERVICE_LOGS.append(log)  # searched for the test data set's patients at the end of the run, too
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "dicom_mcp", "--transport", "stdio"], env=dict(env)
    )
    with log.open("w", encoding="utf-8") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client
