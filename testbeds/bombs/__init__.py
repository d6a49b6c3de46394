"""Hostile DICOM instances, generated at test time (never committed): small on disk, huge when read.

Each maker places its instance at a `Place` (study, series, SOP Instance UID) and returns an
`Instance`: its SOP class and modality, as a PACS lists it, and its payload, either a small
Dataset (encoded by whoever sends it) or the path of a Part 10 file written under `folder`
(sent as it is encoded, never decoded). `part10` turns a small one into the bytes of a DICOMweb
part. Zeros are written as holes (sparse files): a 1 GiB instance costs no disk and no memory.
Everything is synthetic, never patient data.

    sizes.py
    deflated_part10  Part 10 bytes in Deflated Explicit VR LE whose dataset inflates to 1 GiB (~1 MB)
    deflated_bomb    the same, written to a file
    huge_instance    one 1 GiB dataset (a private OB of zeros), Explicit VR LE
    huge_encapsulated  a JPEG Baseline CT whose fragments of zeros run to 1 GiB (undefined length)
    large_ct         an uncompressed 16-bit CT, 5400 x 5400 (58 MB); of any side (23200: 1 GiB)
    documents.py
    pdf_bomb         a 2.4 KB PDF whose one page draws a 1 MB form XObject 30 times
    cda_bomb         an Encapsulated CDA of 60 MiB of empty elements
    wide_sr          a Comprehensive SR of 1,000,000 TEXT content items (50 MB)
    deep_sr          an SR whose content items nest 3,000 deep
    sr_report        a small Comprehensive SR of one TEXT item, for the reports that must not mix
    images.py
    jpegls_liar      a 64 x 64 JPEG-LS instance whose codestream declares 16384 x 16384
    jpeg_liar        a 64 x 64 baseline JPEG instance whose codestream declares 65000 x 65000
    palette_without_lut  PALETTE COLOR pixels without the palette
    one_bit          a 1-bit image (BitsAllocated 1), rows not byte-aligned
    bogus_voi_lut    a VOI LUT whose descriptor promises more entries than its data holds
    small_image      a small secondary capture that renders
"""

from dicom_mcp.model.sopclasses import COMPREHENSIVE_SR
from testbeds.bombs.documents import cda_bomb, deep_sr, encapsulated_pdf, pdf_bomb, sr_report, wide_sr
from testbeds.bombs.encoding import (
    CANARY_NAME,
    CANARY_PATIENT,
    CANARY_TEXT,
    PATIENT,
    RAW_DATA,
    RIGHT_TEXT,
    Instance,
    Place,
    part10,
)
from testbeds.bombs.images import (
    bogus_voi_lut,
    jpeg_liar,
    jpegls_liar,
    one_bit,
    palette_without_lut,
    small_image,
)
from testbeds.bombs.sizes import deflated_bomb, deflated_part10, huge_encapsulated, huge_instance, large_ct

__all__ = [
    "CANARY_NAME",
    "CANARY_PATIENT",
    "CANARY_TEXT",
    "COMPREHENSIVE_SR",
    "PATIENT",
    "RAW_DATA",
    "RIGHT_TEXT",
    "Instance",
    "Place",
    "bogus_voi_lut",
    "cda_bomb",
    "deep_sr",
    "deflated_bomb",
    "deflated_part10",
    "encapsulated_pdf",
    "huge_encapsulated",
    "huge_instance",
    "jpeg_liar",
    "jpegls_liar",
    "large_ct",
    "one_bit",
    "palette_without_lut",
    "part10",
    "pdf_bomb",
    "small_image",
    "sr_report",
    "wide_sr",
]
