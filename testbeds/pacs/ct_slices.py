"""CT slices with pixel data and a scanner's header, for the study whose reports the tests read.

Each slice is a 512x512 16-bit phantom whose Hounsfield values are known from these numbers:
air around an elliptic body of soft tissue, two lungs, a spine, and on the middle slice a
nodule in the right lung. The header carries what a scanner writes (acquisition values,
sequences, a vendor's private block with a 12 KB binary value), so that an instance header is
as large as a real one.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from pydicom.dataset import Dataset

ROWS = COLUMNS = 512
RESCALE_INTERCEPT: Final = -1024
# Hounsfield units of the phantom's regions.
AIR_HU: Final = -1000
SOFT_TISSUE_HU: Final = 40
LUNG_HU: Final = -850
BONE_HU: Final = 700
NODULE_HU: Final = 30
NODULE_CENTRE: Final = (200, 180)  # (row, column) on the slice with NODULE_SLICE as InstanceNumber
NODULE_RADIUS: Final = 8
NODULE_SLICE: Final = 2
SLICE_THICKNESS: Final = 1.25
PRIVATE_BLOB_BYTES: Final = 256 * 47  # the binary private value, over any "short value" cut-off


def phantom_hu(instance_number: int) -> np.ndarray:
    """The slice's Hounsfield values (int16, ROWS x COLUMNS)."""
    row, column = np.mgrid[0:ROWS, 0:COLUMNS]
    hu = np.full((ROWS, COLUMNS), AIR_HU, dtype=np.int16)
    hu[((column - 256) / 220.0) ** 2 + ((row - 256) / 160.0) ** 2 <= 1] = SOFT_TISSUE_HU
    for centre in (176, 336):  # the lungs, either side of the midline
        hu[((column - centre) / 70.0) ** 2 + ((row - 236) / 100.0) ** 2 <= 1] = LUNG_HU
    hu[(column - 256) ** 2 + (row - 360) ** 2 <= 24**2] = BONE_HU
    if instance_number == NODULE_SLICE:
        centre_row, centre_column = NODULE_CENTRE
        hu[(column - centre_column) ** 2 + (row - centre_row) ** 2 <= NODULE_RADIUS**2] = NODULE_HU
    return hu


def stored_pixels(instance_number: int) -> bytes:
    """The slice's stored values (HU - RescaleIntercept, 12 bits used), little endian."""
    return (phantom_hu(instance_number).astype(np.int32) - RESCALE_INTERCEPT).astype("<u2").tobytes()


def fill_ct_slice(ds: Dataset, instance_number: int) -> None:
    """Add a scanner's header and the phantom's pixel data to an instance of a CT series."""
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.AcquisitionDate = ds.ContentDate = ds.StudyDate
    ds.AcquisitionTime = ds.ContentTime = ds.StudyTime
    ds.Manufacturer, ds.ManufacturerModelName = "SIEMENS", "SOMATOM Force"
    ds.InstitutionName, ds.StationName = "General Hospital", "CTAWP001"
    ds.OperatorsName, ds.SoftwareVersions = "TECH^TERRY", "syngo CT VA50A"
    ds.BodyPartExamined, ds.ProtocolName = "CHEST", "Thorax Routine"
    ds.SliceThickness, ds.KVP, ds.DataCollectionDiameter = SLICE_THICKNESS, 120, 500
    ds.ReconstructionDiameter, ds.DistanceSourceToDetector, ds.DistanceSourceToPatient = 360, 1085.6, 595
    ds.GantryDetectorTilt, ds.TableHeight, ds.RotationDirection = 0, 154, "CW"
    ds.ExposureTime, ds.XRayTubeCurrent, ds.Exposure = 500, 186, 93
    ds.FilterType, ds.GeneratorPower, ds.FocalSpots = "FLAT", 22, 1.2
    ds.ConvolutionKernel, ds.PatientPosition = ["Br40d", "3"], "FFS"
    ds.RevolutionTime, ds.SingleCollimationWidth, ds.TotalCollimationWidth = 0.5, 0.6, 57.6
    ds.TableSpeed, ds.SpiralPitchFactor, ds.CTDIvol = 92.0, 0.8, 6.4
    ds.CTDIPhantomTypeCodeSequence = [_code("113691", "DCM", "IEC Body Dosimetry Phantom")]
    ds.AcquisitionNumber = 1
    z = -100.0 - SLICE_THICKNESS * instance_number
    ds.ImagePositionPatient = [-179.6, -340.2, z]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.FrameOfReferenceUID = f"{ds.SeriesInstanceUID}.0"
    ds.PositionReferenceIndicator, ds.SliceLocation = "", z
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns, ds.PixelSpacing = ROWS, COLUMNS, [0.703125, 0.703125]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = [40, -600], [400, 1200]
    ds.WindowCenterWidthExplanation = ["MEDIASTINUM", "LUNG"]
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = RESCALE_INTERCEPT, 1, "HU"
    request = Dataset()
    request.RequestedProcedureID, request.ScheduledProcedureStepID = "RP8001", "SPS8001"
    request.ScheduledProtocolCodeSequence = [_code("RPID16", "RADLEX", "CT CHEST WITHOUT IV CONTRAST")]
    ds.RequestAttributesSequence = [request]
    ds.ProcedureCodeSequence = [_code("RPID16", "RADLEX", "CT CHEST WITHOUT IV CONTRAST")]
    _private_block(ds)
    ds.PixelData = stored_pixels(instance_number)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _private_block(ds: Dataset) -> None:
    block = ds.private_block(0x0019, "SIEMENS CT VA0  COAD", create=True)
    block.add_new(0x8B, "SH", "1.2")
    block.add_new(0x92, "DS", "2.0")
    csa = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    csa.add_new(0x08, "CS", "IMAGE NUM 4")
    csa.add_new(0x10, "OB", bytes(range(256)) * (PRIVATE_BLOB_BYTES // 256))
