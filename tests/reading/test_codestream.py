"""The frame size a codestream declares, read before decoding: JPEG SOFn, JPEG-LS SOF55, JPEG 2000 SIZ."""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from dicom_mcp.reading.codestream import declared_size


def test_a_baseline_jpeg_declares_its_rows_and_columns() -> None:
    out = io.BytesIO()
    Image.fromarray(np.zeros((48, 80), dtype=np.uint8)).save(out, format="JPEG")
    assert declared_size(out.getvalue()) == (48, 80)


def test_a_jpeg_ls_sof55_header_is_read() -> None:
    sof55 = b"\xff\xf7" + struct.pack(">HBHHB", 11, 8, 16384, 16384, 1) + b"\x01\x11\x00"
    assert declared_size(b"\xff\xd8" + sof55 + b"\xff\xda") == (16384, 16384)


def test_a_jpeg_2000_siz_gives_the_image_area_less_its_offset() -> None:
    siz = b"\xff\x4f\xff\x51" + struct.pack(">HHIIII", 41, 0, 300, 200, 44, 0)
    assert declared_size(siz + b"\x00" * 40) == (200, 256)


def test_a_jpeg_2000_inside_a_jp2_box_is_found() -> None:
    siz = b"\xff\x4f\xff\x51" + struct.pack(">HHIIII", 41, 0, 64, 32, 0, 0)
    assert declared_size(b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"jp2c" + siz + b"\x00" * 40) == (32, 64)


def test_bytes_without_a_known_header_declare_nothing() -> None:
    assert declared_size(b"\x00" * 64) is None
    assert declared_size(b"\xff\xd8\xff\xda\x00\x02") is None  # a scan before any frame header
