"""The sandbox: reading jobs run in worker processes that a deadline or a memory cap can stop.

Real worker processes (`python -m dicom_mcp.sandbox.worker`), real hostile inputs built here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from dicom_mcp.errors import NothingFound, NotRenderable, ReadStopped, WrongInstance
from dicom_mcp.model.instances import Instance
from dicom_mcp.model.validation import written
from dicom_mcp.sandbox import Expected, Sandbox, SandboxConfig
from testbeds.bombs import Place, encapsulated_pdf, jpegls_liar, palette_without_lut, pdf_bomb, small_image

pytestmark = pytest.mark.anyio
PLACE = Place.make(7)


def as_bytes(ds: Dataset) -> Instance:
    return Instance(written(ds, implicit_vr=False, little_endian=True), ExplicitVRLittleEndian)


def instance(place: Place, name: str = "Right^Patient") -> Instance:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID = place.sop, place.study, place.series
    ds.PatientName = name
    return as_bytes(ds)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox(SandboxConfig(workers=1, timeout=3.0, max_memory=0))
    try:
        yield box
    finally:
        await box.aclose()


async def test_only_the_instance_asked_for_is_read_whatever_came_first(sandbox: Sandbox) -> None:
    other = instance(Place.make(8), name="Other^Patient")
    header = await sandbox.header([other, instance(PLACE)], Expected(PLACE.sop, PLACE.study, PLACE.series))
    assert header["attributes"]["PatientName"] == "Right^Patient"
    assert "Other" not in repr(header)


async def test_the_right_uid_in_another_study_is_refused(sandbox: Sandbox) -> None:
    moved = Place(study="1.2.3.999", series=PLACE.series, sop=PLACE.sop)
    with pytest.raises(WrongInstance, match="does not belong to the study it was located in"):
        await sandbox.header([instance(moved)], Expected(PLACE.sop, PLACE.study, PLACE.series))


async def test_no_instance_with_the_uid_is_not_found(sandbox: Sandbox) -> None:
    with pytest.raises(NothingFound, match="no instance with that SOP Instance UID"):
        await sandbox.header([instance(Place.make(8))], Expected(PLACE.sop, PLACE.study))


async def test_a_pdf_that_takes_too_long_is_stopped_mid_page_and_the_loop_never_waits(
    sandbox: Sandbox,
) -> None:
    bomb = encapsulated_pdf(PLACE, pdf_bomb(draws=200)).payload
    assert isinstance(bomb, Dataset)
    gaps: list[float] = []

    async def tick() -> None:
        last = time.monotonic()
        while True:
            await anyio.sleep(0.05)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    await sandbox.header([instance(PLACE)], Expected(PLACE.sop))  # the worker is up
    started = time.monotonic()
    async with anyio.create_task_group() as group:
        group.start_soon(tick)
        with pytest.raises(ReadStopped, match="took longer than 3 s"):
            await sandbox.report([as_bytes(bomb)], Expected(PLACE.sop), 20_000)
        group.cancel_scope.cancel()
    assert time.monotonic() - started < 10
    assert max(gaps) < 0.5
    header = await sandbox.header([instance(PLACE)], Expected(PLACE.sop))  # a new worker took over
    assert header["sop_instance_uid"] == PLACE.sop


async def test_a_job_past_the_memory_cap_fails_and_the_worker_is_replaced() -> None:
    box = Sandbox(SandboxConfig(workers=1, timeout=30.0, max_memory=450 * 2**20))
    big = small_image(PLACE).payload
    assert isinstance(big, Dataset)
    big.Rows = big.Columns = 6000
    big.BitsAllocated, big.BitsStored, big.HighBit = 16, 16, 15
    big.PixelData = np.zeros((6000, 6000), dtype=np.uint16).tobytes()
    try:
        with pytest.raises(ReadStopped, match=r"more memory than 471859200 bytes|run out of memory"):
            await box.render([as_bytes(big)], Expected(PLACE.sop), frame=1, max_size=64, max_pixels=10**8)
        header = await box.header([instance(PLACE)], Expected(PLACE.sop))
        assert header["sop_instance_uid"] == PLACE.sop
    finally:
        await box.aclose()


async def test_an_unexpected_failure_is_that_instance_not_renderable_naming_no_value(
    sandbox: Sandbox,
) -> None:
    broken = palette_without_lut(PLACE).payload
    assert isinstance(broken, Dataset)
    with pytest.raises(NotRenderable) as caught:
        await sandbox.render([as_bytes(broken)], Expected(PLACE.sop), frame=1, max_size=64, max_pixels=10**6)
    assert "internal" not in str(caught.value)


async def test_a_codestream_larger_than_its_instance_is_refused_before_decoding(sandbox: Sandbox) -> None:
    liar = jpegls_liar(PLACE).payload
    assert isinstance(liar, Dataset)
    data = Instance(
        written(liar, implicit_vr=False, little_endian=True), str(liar.file_meta.TransferSyntaxUID)
    )
    with pytest.raises(NotRenderable, match="codestream declares 16384x16384 pixels, but the instance 64x64"):
        await sandbox.render([data], Expected(PLACE.sop), frame=1, max_size=64, max_pixels=10**6)
