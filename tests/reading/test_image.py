"""render(): each display step checked against values computed from DICOM's formulas by hand.

The images come from testbeds.images; their bands sit at known stored values, so the right grey
level of each band follows from the rescale, the window formula (PS3.3 C.11.2.1.2) and the
photometric interpretation alone. Lossless transfer syntaxes must match exactly.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

from dicom_mcp.errors import NotRenderable
from dicom_mcp.reading.image import Rendered, render
from testbeds import images

LOSSLESS = [ExplicitVRLittleEndian, RLELossless, JPEGLSLossless, JPEG2000Lossless]


def pixels(rendered: Rendered) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(rendered.png)))


def bands(arr: np.ndarray) -> list[object]:
    """The value at the middle of each of the three vertical bands (on an unscaled image)."""
    row = arr.shape[0] // 2
    return [arr[row, column].tolist() for column in (16, 48, 80)]


@pytest.mark.parametrize("syntax", LOSSLESS, ids=lambda s: UID(s).name)
def test_ct_in_its_own_window_shows_air_water_and_bone(syntax: UID) -> None:
    rendered = render(images.encoded(images.ct(), syntax))
    # -1000 HU is below 40 - 200, 1000 HU above 40 + 200; 0 HU: ((0 - 39.5) / 399 + 0.5) * 255 = 102.26
    assert bands(pixels(rendered)) == [0, 102, 255]
    assert rendered.summary["window"] == {"center": 40.0, "width": 400.0, "source": "instance"}
    assert rendered.summary["transfer_syntax"] == UID(syntax).name


def test_the_callers_window_wins_over_the_instances() -> None:
    rendered = render(images.ct(), center=0, width=2000)
    # 0 HU: ((0 + 0.5) / 1999 + 0.5) * 255 = 127.56; -1000 HU: 0.064 -> 0; +1000 HU: 254.94 -> 255
    assert bands(pixels(rendered)) == [0, 128, 255]
    assert rendered.summary["window"]["source"] == "call"


def test_without_a_window_the_frames_range_is_shown_and_monochrome1_is_inverted() -> None:
    rendered = render(images.monochrome1())
    # Range 0..255: LINEAR_EXACT with center 127.5, width 255 gives 0, 128, 255; inverted: 255, 127, 0.
    assert bands(pixels(rendered)) == [255, 127, 0]
    assert rendered.summary["window"] == {"center": 127.5, "width": 255.0, "source": "range"}


def test_signed_12_bit_pixels_are_windowed_with_their_sign() -> None:
    rendered = render(images.signed12())
    # -2048: ((-2048 + 0.5) / 4095 + 0.5) * 255 = 0.016; 0: 127.53; 2047: 255.0
    assert bands(pixels(rendered)) == [0, 128, 255]


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, RLELossless], ids=lambda s: UID(s).name)
def test_rgb_is_kept(syntax: UID) -> None:
    rendered = render(images.encoded(images.rgb(), syntax))
    assert bands(pixels(rendered)) == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    assert rendered.summary["window"]["source"] == "not applicable (colour)"


def test_ybr_full_422_is_converted_to_rgb() -> None:
    shown = np.array(bands(pixels(render(images.ybr_full_422()))), dtype=int)
    expected = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]])
    assert np.abs(shown - expected).max() <= 3  # YCbCr round trip in 8 bits


def test_palette_colour_goes_through_its_lookup_tables() -> None:
    # LUT entries 0, 32896, 65535 of 65535: 0, 128, 255 in 8 bits, equal in R, G and B.
    assert bands(pixels(render(images.palette()))) == [[0, 0, 0], [128, 128, 128], [255, 255, 255]]


@pytest.mark.parametrize(("frame", "grey"), [(1, 64), (2, 128), (3, 191)])
def test_each_frame_of_a_multiframe_image(frame: int, grey: int) -> None:
    # n * 1000 in window 2000/4000: ((n * 1000 - 1999.5) / 3999 + 0.5) * 255 = 63.77, 127.53, 191.3
    rendered = render(images.multiframe(), frame=frame)
    assert bands(pixels(rendered)) == [grey] * 3
    assert (rendered.summary["frame"], rendered.summary["number_of_frames"]) == (frame, 3)


def test_a_frame_out_of_range_names_how_many_there_are() -> None:
    with pytest.raises(NotRenderable, match="frame 4 does not exist: the instance has 3 frame"):
        render(images.multiframe(), frame=4)


def test_lossy_jpeg_is_within_a_stated_tolerance() -> None:
    shown = np.array(bands(pixels(render(images.encoded(images.monochrome1(), JPEGBaseline8Bit)))))
    assert np.abs(shown - np.array([255, 127, 0])).max() <= 4


def test_rectangular_pixels_keep_the_pictures_proportions_without_enlarging() -> None:
    ds = images.ct()
    ds.PixelSpacing = [1.0, 0.5]  # each pixel twice as tall as wide: 96 x 48 pixels show as 48 x 48
    assert render(ds).summary["output_size"] == {"width": 48, "height": 48}


def test_large_images_are_downscaled_to_max_size_and_small_ones_never_enlarged() -> None:
    assert render(images.ct(), max_size=32).summary["output_size"] == {"width": 32, "height": 16}
    assert render(images.ct(), max_size=1024).summary["output_size"] == {"width": 96, "height": 48}


def test_an_instance_without_pixel_data_says_what_it_is() -> None:
    report = Dataset()
    report.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"
    with pytest.raises(NotRenderable, match="Comprehensive SR Storage has no pixel data"):
        render(report)


def test_a_frame_over_the_pixel_cap_is_refused_before_decoding() -> None:
    with pytest.raises(NotRenderable, match="96x48 frame is larger than this server renders"):
        render(images.ct(), max_pixels=1000)


def test_an_undecodable_transfer_syntax_is_named() -> None:
    ds = images.ct()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 video: no plugin decodes it
    with pytest.raises(NotRenderable, match="MPEG2"):
        render(ds)
