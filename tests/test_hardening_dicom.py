"""Hostile DICOM input and a mute PACS, through the real service over HTTP in front of Orthanc.

Each case ends at once (or when its timeout says) in a clear error that names the parameter
or the cause, never the value, and leaves the service answering other callers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import pytest

from testbeds.clients import call_error, call_ok, mcp_client
from testbeds.faults import silent_peer
from testbeds.pacs import RunningPacs
from testbeds.service import RunningService, run_service, service_env

pytestmark = pytest.mark.anyio

ACSE_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def mute_port() -> Iterator[int]:
    with silent_peer() as port:
        yield port


@pytest.fixture(scope="module")
def service(
    orthanc: RunningPacs, mute_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    env = service_env(
        {
            "DICOM_HOST": orthanc.host,
            "DICOM_PORT": str(orthanc.port),
            "DICOM_CALLED_AE_TITLE": orthanc.ae_title,
        },
        allowed_targets=f"127.0.0.1:{mute_port}",
        acse_timeout=str(ACSE_TIMEOUT),
        # Two slots: a call that held one for a DIMSE timeout would soon starve everyone else.
        max_associations="2",
    )
    with run_service(tmp_path_factory.mktemp("hardening"), env) as running:
        yield running


async def timed_error(service: RunningService, tool: str, **arguments: object) -> tuple[str, float]:
    async with mcp_client(service.mcp_url, "modern") as client:
        started = time.monotonic()
        message = await call_error(client, tool, **arguments)
        return message, time.monotonic() - started


async def answers_quickly(service: RunningService) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        started = time.monotonic()
        result = await call_ok(client, "query_studies", limit=1)
        assert result["count"] == 1
        assert time.monotonic() - started < 2


# --- 1. bulk data, sequences and other keys no C-FIND identifier can carry ----------------


@pytest.mark.parametrize(
    ("keyword", "rule"),
    [
        ("PixelData", "is bulk data (VR OB or OW) and cannot be a query key"),
        ("LUTData", "is bulk data (VR US or OW) and cannot be a query key"),
        ("WaveformData", "is bulk data (VR OB or OW) and cannot be a query key"),
        ("FloatPixelData", "is bulk data (VR OF) and cannot be a query key"),
        ("EncapsulatedDocument", "is bulk data (VR OB) and cannot be a query key"),
        ("OverlayData", "belongs to a repeating group"),
        ("ReferencedSeriesSequence", "is a sequence (VR SQ) and cannot be a query key"),
        ("PerimeterValue", "cannot be encoded"),
    ],
)
async def test_return_keys_no_identifier_can_carry_are_refused_at_once(
    service: RunningService, keyword: str, rule: str
) -> None:
    message, elapsed = await timed_error(service, "query_studies", additional_attributes=[keyword], limit=1)
    assert f"invalid input: additional_attributes: {keyword!r} {rule}" in message
    assert "PACS" not in message
    assert elapsed < 1


async def test_pixel_data_hint_names_header_attributes_to_ask_for(service: RunningService) -> None:
    message, _ = await timed_error(service, "query_studies", additional_attributes=["Rows", "PixelData"])
    assert "ask for header attributes such as Rows or BitsAllocated" in message


async def test_other_callers_still_answer_right_after_refused_bulk_data_keys(
    service: RunningService,
) -> None:
    async def refused(keyword: str) -> None:
        message, elapsed = await timed_error(service, "query_studies", additional_attributes=[keyword])
        assert "is bulk data" in message and elapsed < 1

    async with anyio.create_task_group() as tg:
        for keyword in ("PixelData", "LUTData", "WaveformData") * 2:
            tg.start_soon(refused, keyword)
    await answers_quickly(service)


async def test_header_attributes_still_come_back(service: RunningService) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        result = await call_ok(
            client, "query_studies", additional_attributes=["InstitutionName", "StudyComments"], limit=1
        )
    assert result["count"] == 1


# --- 2. C1 controls and Unicode line separators in matching values ------------------------


@pytest.mark.parametrize("control", ["\u2028", "\u2029", "\u0085", "\u0080", "\u009b", "\u009f"])
async def test_c1_controls_and_line_separators_are_refused(service: RunningService, control: str) -> None:
    message, elapsed = await timed_error(service, "query_patients", name_pattern=f"ZQXSMITH{control}*")
    assert message == "invalid input: name_pattern must not contain control characters"
    assert "ZQXSMITH" not in message
    assert elapsed < 1


async def test_control_characters_are_refused_in_every_text_parameter(service: RunningService) -> None:
    message, _ = await timed_error(service, "query_studies", study_description="HEAD\u2029CT")
    assert message == "invalid input: study_description must not contain control characters"


async def test_non_latin_names_are_still_accepted(service: RunningService) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        await call_ok(client, "query_patients", name_pattern="Müller*")
        await call_ok(client, "query_patients", name_pattern="山田*")


# --- 3. a PACS that accepts the connection and never answers the association request ------


async def test_mute_pacs_is_a_timeout_on_the_association_request(
    service: RunningService, mute_port: int
) -> None:
    async with mcp_client(service.mcp_url, "modern") as client:
        handle = (
            await call_ok(client, "configure_dicom_server", host="127.0.0.1", port=mute_port, ae_title="MUTE")
        )["session"]
        started = time.monotonic()
        message = await call_error(client, "query_patients", patient_id="PAT001", session=handle)
        elapsed = time.monotonic() - started
    assert "PACS error (PacsTimeout)" in message
    assert "did not answer the association request" in message
    assert f"ACSE timeout ({ACSE_TIMEOUT:g} s)" in message
    assert "aborted" not in message
    assert ACSE_TIMEOUT <= elapsed < ACSE_TIMEOUT + 1.5
    await answers_quickly(service)
