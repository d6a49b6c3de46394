"""A header read without the instance's pixel data says so, and notes the pixel data as a whole one would."""

from __future__ import annotations

from typing import Any

import pytest

from dicom_mcp.model.instances import PixelsLeft
from dicom_mcp.reading.partial import CUT_NOTE, METADATA_NO_PIXELS_NOTE, METADATA_NOTE, without_pixels

SOP = "1.2.3.4"


def made(**attributes: Any) -> dict[str, Any]:
    return {"sop_instance_uid": SOP, "attributes": {"Rows": 512, **attributes}, "truncated": False}


def test_a_header_cut_at_its_pixel_data_notes_the_length_its_element_declared() -> None:
    left = PixelsLeft("stopped", SOP, "PixelData", "OW", 524288)
    out = without_pixels(made(), left)
    assert out["attributes"]["PixelData"] == {"bulk_data": True, "vr": "OW", "bytes": 524288}
    assert out["note"] == CUT_NOTE and out["note"].startswith("pixel data not retrieved")


@pytest.mark.parametrize(("bits", "vr"), [(16, "OW"), (8, "OB"), (None, "OB")])
def test_in_implicit_vr_the_pixel_datas_vr_follows_bits_allocated(bits: int | None, vr: str) -> None:
    attributes = {} if bits is None else {"BitsAllocated": bits}
    out = without_pixels(made(**attributes), PixelsLeft("stopped", SOP, "PixelData", None, 10))
    assert out["attributes"]["PixelData"]["vr"] == vr


def test_encapsulated_pixel_data_has_no_size_to_note() -> None:
    out = without_pixels(made(), PixelsLeft("stopped", SOP, "PixelData", "OB", None))
    assert out["attributes"]["PixelData"] == {"bulk_data": True, "vr": "OB", "bytes": None}


def test_a_header_that_holds_its_pixel_data_came_whole_and_is_left_as_it_is() -> None:
    whole = made(PixelData={"bulk_data": True, "vr": "OW", "bytes": 524288})
    assert without_pixels(whole, PixelsLeft("stopped", SOP, "PixelData", "OW", 9)) is whole


def test_a_header_from_metadata_gives_every_referenced_bulk_value_an_unknown_size() -> None:
    bulk = {"bulk_data": True, "vr": "OB", "bytes": 0}
    header = made(
        PixelData={"bulk_data": True, "vr": "OW", "bytes": 0},
        IconImageSequence=[{"PixelData": bulk, "Rows": 4}],
        OverlayData={"bulk_data": True, "vr": "OW", "bytes": 12},
    )
    out = without_pixels(header, PixelsLeft("metadata", SOP))
    attributes = out["attributes"]
    assert attributes["PixelData"]["bytes"] is None
    assert attributes["IconImageSequence"] == [{"PixelData": {**bulk, "bytes": None}, "Rows": 4}]
    assert attributes["OverlayData"]["bytes"] == 12  # inline: its size is known
    assert out["note"] == METADATA_NOTE


def test_metadata_without_pixel_data_says_bulk_data_was_not_retrieved() -> None:
    out = without_pixels(made(), PixelsLeft("metadata", SOP))
    assert out["note"] == METADATA_NO_PIXELS_NOTE
