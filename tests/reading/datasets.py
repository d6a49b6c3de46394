"""Generated instances for the reading tests: a realistic CT, SR content items, encoding round trips."""

from __future__ import annotations

from io import BytesIO

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
CT_INSTANCE = "1.2.826.0.1.3680043.8.498.1001"


def encoded(ds: Dataset, implicit_vr: bool = False) -> Dataset:
    """`ds` as a PACS would send it: written to bytes with a file meta header, then read back."""
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.get("SOPClassUID", CT_IMAGE_STORAGE)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID", CT_INSTANCE)
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit_vr else ExplicitVRLittleEndian
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return dcmread(BytesIO(buffer.getvalue()))


def code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def ct_dataset() -> Dataset:
    """A 512x512 16-bit axial CT slice with the attributes a scanner typically writes."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID, ds.SOPInstanceUID = CT_IMAGE_STORAGE, CT_INSTANCE
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = "20240305"
    ds.StudyTime, ds.SeriesTime, ds.AcquisitionTime, ds.ContentTime = (
        "141500",
        "141812",
        "141830.25",
        "141831",
    )
    ds.AccessionNumber, ds.Modality, ds.Manufacturer = "ACC20240305", "CT", "SIEMENS"
    ds.InstitutionName, ds.InstitutionAddress = "General Hospital", "1 Main Street, Springfield"
    ds.ReferringPhysicianName, ds.StationName = "Brown^Carol", "CTAWP001"
    ds.StudyDescription, ds.SeriesDescription = "CT Thorax", "Thorax 1.25 Br40"
    ds.OperatorsName, ds.ManufacturerModelName = "Tech^Terry", "SOMATOM Force"
    ds.ReferencedImageSequence = [_reference(f"1.2.826.0.1.3680043.8.498.{n}") for n in (2001, 2002, 2003)]
    ds.PatientName, ds.PatientID = "Doe^Jane", "PID0001"
    ds.PatientBirthDate, ds.PatientSex, ds.PatientAge, ds.PatientWeight = "19700101", "F", "054Y", "71.5"
    ds.BodyPartExamined, ds.SliceThickness, ds.KVP = "CHEST", "1.25", "120"
    ds.DataCollectionDiameter, ds.SoftwareVersions, ds.ProtocolName = (
        "500",
        "syngo CT VA50A",
        "Thorax Routine",
    )
    ds.ReconstructionDiameter, ds.DistanceSourceToDetector, ds.DistanceSourceToPatient = (
        "360",
        "1085.6",
        "595",
    )
    ds.GantryDetectorTilt, ds.TableHeight, ds.RotationDirection = "0", "154", "CW"
    ds.ExposureTime, ds.XRayTubeCurrent, ds.Exposure = "500", "186", "93"
    ds.FilterType, ds.GeneratorPower, ds.FocalSpots = "FLAT", "22", "1.2"
    ds.ConvolutionKernel, ds.PatientPosition = ["Br40d", "3"], "FFS"
    ds.RevolutionTime, ds.SingleCollimationWidth, ds.TotalCollimationWidth = 0.5, 0.6, 57.6
    ds.TableSpeed, ds.SpiralPitchFactor, ds.CTDIvol = 92.0, 0.8, 6.4
    ds.CTDIPhantomTypeCodeSequence = [code("113691", "DCM", "IEC Body Dosimetry Phantom")]
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.10"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.11"
    ds.StudyID, ds.SeriesNumber, ds.AcquisitionNumber, ds.InstanceNumber = "1", "3", "2", "42"
    ds.ImagePositionPatient = ["-179.6", "-340.2", "-112.5"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.12"
    ds.PositionReferenceIndicator, ds.SliceLocation = "", "-112.5"
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.Rows, ds.Columns = 1, "MONOCHROME2", 512, 512
    ds.PixelSpacing, ds.BitsAllocated, ds.BitsStored, ds.HighBit = ["0.703125", "0.703125"], 16, 12, 11
    ds.PixelRepresentation, ds.WindowCenter, ds.WindowWidth = 0, ["40", "-600"], ["400", "1200"]
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
    ds.WindowCenterWidthExplanation = ["WINDOW1", "WINDOW2"]
    request = Dataset()
    request.RequestedProcedureID, request.ScheduledProcedureStepID = "RP1", "SPS1"
    request.ScheduledProtocolCodeSequence = [code("RPID16", "RADLEX", "CT CHEST WITHOUT IV CONTRAST")]
    ds.RequestAttributesSequence = [request]
    ds.ProcedureCodeSequence = [code("RPID16", "RADLEX", "CT CHEST WITHOUT IV CONTRAST")]
    ds.IrradiationEventUID = "1.2.826.0.1.3680043.8.498.13"
    _siemens_private_block(ds)
    ds.PixelData = bytes(512 * 512 * 2)
    return ds


def _reference(instance: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = CT_IMAGE_STORAGE, instance
    return item


def _siemens_private_block(ds: Dataset) -> None:
    block = ds.private_block(0x0019, "SIEMENS CT VA0  COAD", create=True)
    block.add_new(0x8B, "SH", "1.2")
    block.add_new(0x92, "DS", "2.0")
    csa = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    csa.add_new(0x08, "CS", "IMAGE NUM 4")
    csa.add_new(0x10, "OB", bytes(range(256)) * 47)  # 12,032 bytes of binary header


def content(value_type: str, concept: Dataset | None = None, **attributes: object) -> Dataset:
    """An SR content item (relationship CONTAINS) with the given value attributes."""
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = value_type
    if concept is not None:
        item.ConceptNameCodeSequence = [concept]
    for keyword, value in attributes.items():
        setattr(item, keyword, value)
    return item


def sr_document(title: Dataset, items: list[Dataset], **attributes: object) -> Dataset:
    """A Comprehensive SR whose root CONTAINER is titled `title` and holds `items`."""
    ds = Dataset()
    ds.SOPClassUID = COMPREHENSIVE_SR
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.3001"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.3000"
    ds.Modality = "SR"
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.ConceptNameCodeSequence = [title]
    ds.ContentSequence = items
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def measurement(value: str, unit: Dataset) -> Dataset:
    measured = Dataset()
    measured.NumericValue = value
    measured.MeasurementUnitsCodeSequence = [unit]
    return measured


def sop_reference(sop_class: str, instance: str, frames: list[int] | None = None) -> Dataset:
    referenced = Dataset()
    referenced.ReferencedSOPClassUID, referenced.ReferencedSOPInstanceUID = sop_class, instance
    if frames:
        referenced.ReferencedFrameNumber = frames
    return referenced


def encapsulated(sop_class: str, document: bytes, mime_type: str, title: str) -> Dataset:
    """An Encapsulated PDF or CDA instance holding `document`, padded to an even length."""
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.4001"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.4000"
    ds.Modality = "DOC"
    ds.ContentDate = "20240305"
    ds.DocumentTitle = title
    ds.MIMETypeOfEncapsulatedDocument = mime_type
    ds.EncapsulatedDocumentLength = len(document)
    ds.EncapsulatedDocument = document + b"\x00" * (len(document) % 2)
    return ds
