"""Which images a pseudonymised caller may see, and PNGs without text chunks."""

from __future__ import annotations

import base64
import struct
from io import BytesIO
from typing import Any

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from dicom_mcp.privacy.pixels import refusal, without_text

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
MULTIFRAME_TRUE_COLOR_SC = "1.2.840.10008.5.1.4.1.1.7.4"
CANARY = "Doe^Jane PID0001"


def facts(**changes: Any) -> dict[str, Any]:
    """An original CT slice's facts (as reading.identity makes them), with `changes`."""
    return {
        "Modality": "CT",
        "SOPClassUID": CT_IMAGE_STORAGE,
        "ImageType": ["ORIGINAL", "PRIMARY", "AXIAL"],
        "BurnedInAnnotation": None,
        "overlays": False,
        **changes,
    }


@pytest.mark.parametrize("modality", ["CT", "MR", "PT", "NM"])
def test_original_cross_sectional_images_are_shown(modality: str) -> None:
    assert refusal(facts(Modality=modality)) is None


@pytest.mark.parametrize("modality", ["CR", "DX", "MG"])
def test_projection_images_are_shown_when_they_say_no_text_is_burned_in(modality: str) -> None:
    assert refusal(facts(Modality=modality, BurnedInAnnotation="NO")) is None


@pytest.mark.parametrize("burned_in", [None, "", "UNKNOWN"])
@pytest.mark.parametrize("modality", ["CR", "DX", "MG"])
def test_projection_images_are_refused_unless_they_say_no(modality: str, burned_in: str | None) -> None:
    reason = refusal(facts(Modality=modality, BurnedInAnnotation=burned_in))
    assert reason == f"{modality} images are shown only when the instance says BurnedInAnnotation NO"


@pytest.mark.parametrize("burned_in", ["YES", "yes"])
def test_an_image_that_says_text_is_burned_in_is_refused(burned_in: str) -> None:
    assert refusal(facts(BurnedInAnnotation=burned_in)) == "the instance says text is burned into its pixels"


@pytest.mark.parametrize("modality", ["US", "ES", "XC", "OT", "SC", "DOC", ""])
def test_modalities_that_often_show_text_are_refused(modality: str) -> None:
    reason = refusal(facts(Modality=modality))
    assert reason is not None
    assert "may carry burned-in text" in reason
    assert "CT, MR, NM, PT" in reason


@pytest.mark.parametrize("sop_class", [SECONDARY_CAPTURE, MULTIFRAME_TRUE_COLOR_SC])
def test_secondary_captures_are_refused_whatever_their_modality(sop_class: str) -> None:
    reason = refusal(facts(SOPClassUID=sop_class))
    assert reason is not None and "secondary captures" in reason


def test_an_image_with_overlays_is_refused() -> None:
    assert refusal(facts(overlays=True)) == "the instance has overlays, which may hold text"


@pytest.mark.parametrize("image_type", [["DERIVED", "SECONDARY"], [], None])
def test_only_original_images_are_shown(image_type: list[str] | None) -> None:
    reason = refusal(facts(ImageType=image_type))
    assert reason == "only ORIGINAL images are shown (derived ones may carry annotations)"


def test_a_projection_image_must_be_original_too() -> None:
    assert refusal(facts(Modality="DX", BurnedInAnnotation="NO", ImageType=["DERIVED"])) is not None


def _png_with_text() -> bytes:
    info = PngInfo()
    info.add_text("Comment", CANARY)  # tEXt
    info.add_text("Title", CANARY, zip=True)  # zTXt
    info.add_itxt("Author", CANARY, lang="en", tkey="Author")  # iTXt
    image = Image.new("L", (16, 8))
    image.putdata([(x * 16) % 256 for x in range(16 * 8)])
    exif = Image.Exif()
    exif[0x010E] = CANARY  # ImageDescription, in an eXIf chunk
    out = BytesIO()
    image.save(out, format="PNG", pnginfo=info, exif=exif.tobytes())
    return out.getvalue()


def _chunks(png: bytes) -> list[bytes]:
    found, at = [], 8
    while at + 12 <= len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        found.append(png[at + 4 : at + 8])
        at += 12 + length
    return found


def test_text_and_exif_chunks_are_taken_out_of_a_png() -> None:
    raw = _png_with_text()
    texts = {b"tEXt", b"zTXt", b"iTXt", b"eXIf"}
    assert texts <= set(_chunks(raw))
    assert CANARY.encode() in raw
    cleaned = base64.b64decode(without_text(base64.b64encode(raw).decode(), "image/png"))
    assert not texts & set(_chunks(cleaned))
    assert CANARY.encode() not in cleaned
    assert _chunks(cleaned)[0] == b"IHDR" and _chunks(cleaned)[-1] == b"IEND"


def test_a_png_without_its_text_still_shows_the_same_picture() -> None:
    raw = _png_with_text()
    cleaned = base64.b64decode(without_text(base64.b64encode(raw).decode(), "image/png"))
    with Image.open(BytesIO(raw)) as before, Image.open(BytesIO(cleaned)) as after:
        after.load()
        assert after.size == before.size
        assert after.tobytes() == before.tobytes()
        assert not after.info.get("Comment")


def test_a_png_without_text_comes_back_unchanged() -> None:
    out = BytesIO()
    Image.new("L", (4, 4)).save(out, format="PNG")
    data = base64.b64encode(out.getvalue()).decode()
    assert without_text(data, "image/png") == data


@pytest.mark.parametrize("data", ["not base64!", base64.b64encode(b"GIF89a....").decode(), ""])
def test_anything_but_a_png_or_a_jpeg_becomes_nothing(data: str) -> None:
    assert without_text(data, "image/png") == ""


def _jpeg_with_text() -> bytes:
    out = BytesIO()
    exif = Image.Exif()
    exif[0x010E] = CANARY  # ImageDescription
    Image.new("L", (16, 16), 128).save(out, format="JPEG", comment=CANARY.encode(), exif=exif.tobytes())
    return out.getvalue()


def test_comment_and_exif_segments_are_taken_out_of_a_jpeg_which_still_decodes() -> None:
    raw = _jpeg_with_text()
    assert CANARY.encode() in raw
    cleaned = base64.b64decode(without_text(base64.b64encode(raw).decode(), "image/jpeg"))
    assert CANARY.encode() not in cleaned
    with Image.open(BytesIO(raw)) as before, Image.open(BytesIO(cleaned)) as after:
        after.load()
        assert after.tobytes() == before.tobytes()
        assert "comment" not in after.info and "exif" not in after.info


def test_a_picture_whose_bytes_do_not_match_its_type_becomes_nothing() -> None:
    assert without_text(base64.b64encode(_jpeg_with_text()).decode(), "image/png") == ""
