"""The sample PACS on the network: loopback only, its own AE title, C-ECHO, C-FIND and C-GET."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGLSLossless
from pynetdicom import AE, build_role, evt

from dicom_mcp.demo import SamplePacs, check_loopback, start_sample_pacs
from dicom_mcp.errors import NotLoopback
from testbeds.net import is_listening
from testbeds.pacs.common import STUDY_ROOT_FIND, c_echo, c_find
from tests.demo.conftest import SampleData
from tests.servers import stop_promptly

STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"
PATIENT_ROOT_GET = "1.2.840.10008.5.1.4.1.2.1.3"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
CR_IMAGE = "1.2.840.10008.5.1.4.1.1.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


@pytest.fixture(scope="module")
def sample(sample_data: SampleData) -> Iterator[SamplePacs]:
    pacs = start_sample_pacs(sample_data())
    try:
        yield pacs
    finally:
        stop_promptly(pacs)


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.0.2.10"])
def test_an_address_other_than_loopback_is_refused(host: str) -> None:
    with pytest.raises(NotLoopback, match=r"loopback only .* never a PACS"):
        start_sample_pacs([], host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_addresses_are_accepted(host: str) -> None:
    check_loopback(host)


def test_it_answers_c_echo_on_its_own_ae_title_only(sample: SamplePacs) -> None:
    assert c_echo(sample.port, sample.ae_title)
    assert not c_echo(sample.port, "SOMEONE-ELSE")


def test_a_patient_query_in_the_study_root_model_is_refused(sample: SamplePacs) -> None:
    identifier = Dataset()
    identifier.QueryRetrieveLevel, identifier.PatientID = "PATIENT", ""
    assert c_find(sample.port, sample.ae_title, identifier, STUDY_ROOT_FIND) == (0xA900, [])


def mr_study(sample: SamplePacs) -> Dataset:
    identifier = Dataset()
    identifier.QueryRetrieveLevel, identifier.AccessionNumber, identifier.StudyInstanceUID = (
        "STUDY",
        "DEMO2001",
        "",
    )
    _, (study,) = c_find(sample.port, sample.ae_title, identifier)
    keys = Dataset()
    keys.QueryRetrieveLevel, keys.StudyInstanceUID = "STUDY", study.StudyInstanceUID
    return keys


def c_get(
    sample: SamplePacs,
    keys: Dataset,
    syntaxes: list[str],
    sop_class: str = MR_IMAGE,
    model: str = STUDY_ROOT_GET,
) -> tuple[Any, list[Dataset]]:
    """C-GET `keys`, taking instances of `sop_class` in any of `syntaxes` (none: taking none)."""
    received: list[Dataset] = []

    def on_store(event: evt.Event) -> int:
        ds = event.dataset
        ds.file_meta = event.file_meta
        received.append(ds)
        return 0x0000

    ae = AE(ae_title="GETTER")
    ae.add_requested_context(model)
    for syntax in syntaxes:  # one context each, as the service proposes them
        ae.add_requested_context(sop_class, syntax)
    if not syntaxes:
        ae.add_requested_context(CT_IMAGE)  # something else
    roles = [build_role(sop_class, scp_role=True)] if syntaxes else []
    assoc = ae.associate(
        "127.0.0.1",
        sample.port,
        ae_title=sample.ae_title,
        ext_neg=roles,
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    assert assoc.is_established
    try:
        *_, (final, _) = assoc.send_c_get(keys, model)
    finally:
        assoc.release()
    return final, received


def test_a_retrieve_sends_the_instances_as_stored_when_the_requester_takes_that(sample: SamplePacs) -> None:
    final, received = c_get(sample, mr_study(sample), [JPEGLSLossless, ExplicitVRLittleEndian])
    assert (final.Status, final.NumberOfCompletedSuboperations) == (0x0000, 20)
    assert {ds.file_meta.TransferSyntaxUID for ds in received} == {JPEGLSLossless}


def test_a_compressed_instance_goes_uncompressed_to_a_requester_that_takes_only_that(
    sample: SamplePacs,
) -> None:
    keys = mr_study(sample)
    _, stored = c_get(sample, keys, [JPEGLSLossless])
    final, plain = c_get(sample, keys, [ImplicitVRLittleEndian])
    assert (final.Status, len(plain)) == (0x0000, 20)
    assert {ds.file_meta.TransferSyntaxUID for ds in plain} == {ImplicitVRLittleEndian}
    by_uid = {ds.SOPInstanceUID: ds for ds in stored}
    for ds in plain:  # lossless: the very same pixels, under the same SOP Instance UID
        assert np.array_equal(ds.pixel_array, by_uid[ds.SOPInstanceUID].pixel_array)


def test_an_instance_no_accepted_context_can_carry_is_a_failed_sub_operation(sample: SamplePacs) -> None:
    final, received = c_get(sample, mr_study(sample), [])
    assert (final.Status, final.NumberOfFailedSuboperations, received) == (0xA702, 20, [])


def test_a_patient_root_retrieve_sends_all_of_a_patient(sample: SamplePacs) -> None:
    keys = Dataset()
    keys.QueryRetrieveLevel, keys.PatientID = "PATIENT", "DEMO-003"
    final, received = c_get(sample, keys, [ExplicitVRLittleEndian], CR_IMAGE, PATIENT_ROOT_GET)
    assert (final.Status, sorted(ds.ViewPosition for ds in received)) == (0x0000, ["LL", "PA"])
    assert {str(ds.PatientName) for ds in received} == {"DEMO^Zoë"}


def test_stopping_closes_the_port(sample_data: SampleData) -> None:
    pacs = start_sample_pacs(sample_data(1))
    assert is_listening(pacs.port)
    pacs.stop()
    assert not is_listening(pacs.port)
