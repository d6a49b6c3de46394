"""The sample data set: deterministic, visibly synthetic, and enough for every tool."""

from __future__ import annotations

from collections import Counter
from io import BytesIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, JPEGLSLossless, RLELossless
from pypdf import PdfReader

from dicom_mcp.demo import sample_datasets
from tests.demo.conftest import SampleData


def encoded(ds: Dataset) -> bytes:
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_every_run_makes_the_same_instances_byte_for_byte(sample_data: SampleData) -> None:
    first, second = sample_data(), sample_datasets()  # the session's run, and one more
    assert [encoded(ds) for ds in first] == [encoded(ds) for ds in second]


def test_it_is_visibly_synthetic(sample_data: SampleData) -> None:
    datasets = sample_data()
    assert all(str(ds.PatientName).startswith("DEMO^") for ds in datasets)
    assert all(ds.PatientIdentityRemoved == "YES" for ds in datasets)
    names = {str(ds.PatientName) for ds in datasets}
    assert 4 <= len(names) <= 8
    assert any(not name.isascii() for name in names)


def test_it_spans_modalities_syntaxes_and_the_kinds_of_instance_the_tools_read(
    sample_data: SampleData,
) -> None:
    datasets = sample_data()
    assert {"CT", "MR", "CR", "US", "SR", "DOC"} <= {ds.Modality for ds in datasets}
    syntaxes = Counter(ds.file_meta.TransferSyntaxUID for ds in datasets)
    assert {ExplicitVRLittleEndian, RLELossless, JPEGLSLossless} <= set(syntaxes)
    assert any(int(ds.get("NumberOfFrames", 1)) > 1 for ds in datasets)
    assert len({ds.StudyInstanceUID for ds in datasets}) >= 6
    assert len({ds.StudyDate[:4] for ds in datasets}) >= 5


def test_every_image_decodes_and_survives_a_file_round_trip(sample_data: SampleData) -> None:
    for ds in sample_data():
        if "PixelData" not in ds:
            continue
        again = dcmread(BytesIO(encoded(ds)))
        assert again.SOPInstanceUID == ds.SOPInstanceUID  # compressing kept the UID
        pixels = again.pixel_array
        assert pixels.shape[-2:] == (ds.Rows, ds.Columns)
        assert pixels.max() > pixels.min()


def test_the_follow_up_ct_has_a_verified_sr_and_a_readable_pdf_report(sample_data: SampleData) -> None:
    datasets = sample_data()
    (sr,) = [ds for ds in datasets if ds.Modality == "SR"]
    (pdf,) = [ds for ds in datasets if ds.Modality == "DOC"]
    assert sr.StudyInstanceUID == pdf.StudyInstanceUID
    assert (sr.CompletionFlag, sr.VerificationFlag) == ("COMPLETE", "VERIFIED")
    text = (
        PdfReader(BytesIO(pdf.EncapsulatedDocument[: pdf.EncapsulatedDocumentLength])).pages[0].extract_text()
    )
    assert "Impression: Growing pulmonary nodule" in text
    study_images = [
        ds for ds in datasets if ds.StudyInstanceUID == sr.StudyInstanceUID and ds.Modality == "CT"
    ]
    referenced = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert [r.ReferencedSOPInstanceUID for r in referenced.ReferencedSOPSequence] == [
        ds.SOPInstanceUID for ds in study_images
    ]
