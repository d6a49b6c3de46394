"""GDCM decodes only what the other decoders refuse (tests/conftest.py puts it last, as the sandbox worker does).

The files are pydicom's own test files, installed with pydicom. That GDCM's pictures match
DCMTK's is checked through the service in tests/realworld.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.utils import pixel_array
from pydicom.uid import JPEGBaseline8Bit

from dicom_mcp.reading.decoders import DECODER_DEPENDENCIES, put_gdcm_last


def pydicom_file(name: str) -> pydicom.Dataset:
    path = get_testdata_file(name, download=False)  # installed with pydicom
    assert path is not None and Path(str(path)).is_file()
    return pydicom.dcmread(str(path))


def test_a_frame_the_others_decode_is_never_decoded_by_gdcm() -> None:
    # GDCM and libjpeg convert this YBR_FULL_422 JPEG to RGB a level or two apart.
    ds = pydicom_file("SC_rgb_dcmtk_+eb+cy+np.dcm")
    by_libjpeg = pixel_array(ds, decoding_plugin="pylibjpeg")
    assert not np.array_equal(by_libjpeg, pixel_array(ds, decoding_plugin="gdcm"))
    assert np.array_equal(pixel_array(ds), by_libjpeg)


@pytest.mark.parametrize("plugin", ["pylibjpeg", "pillow"])
def test_12_bit_jpeg_extended_with_a_non_standard_scan_is_refused_by_the_others(plugin: str) -> None:
    with pytest.raises(RuntimeError, match="Unable to decode"):
        pixel_array(pydicom_file("JPEG-lossy.dcm"), decoding_plugin=plugin)


def test_12_bit_jpeg_extended_with_a_non_standard_scan_is_decoded_by_gdcm() -> None:
    pixels = pixel_array(pydicom_file("JPEG-lossy.dcm"))
    assert (pixels.shape, pixels.dtype) == ((1024, 256), np.uint16)
    # As DCMTK's dcmdjpeg decodes it: values 0..264, summing to 3767007.
    assert (int(pixels.min()), int(pixels.max()), int(pixels.sum())) == (0, 264, 3767007)


def test_putting_gdcm_last_again_changes_nothing() -> None:
    put_gdcm_last()
    put_gdcm_last()
    for syntax in DECODER_DEPENDENCIES:
        assert get_decoder(syntax).available_plugins.count("gdcm") == 1
    ds = pydicom_file("SC_rgb_dcmtk_+eb+cy+np.dcm")
    assert np.array_equal(pixel_array(ds), pixel_array(ds, decoding_plugin="pylibjpeg"))
    assert "gdcm" in get_decoder(JPEGBaseline8Bit).available_plugins
