"""multipart/related bodies: parts in order, transport padding and epilogues allowed, a body cut
short told apart from a complete one."""

from __future__ import annotations

import pytest

from dicom_mcp.dicomweb.multipart import CutShort, MultipartError, Part, boundary_of, parts

B = "b0und4ry"


def body(*payloads: bytes, closed: bool = True) -> bytes:
    out = b"preamble\r\n"
    for payload in payloads:
        out += (
            f"--{B}  \r\nContent-Type: application/dicom; charset=x\r\nContent-ID: <1>\r\n\r\n".encode()
            + payload
            + b"\r\n"
        )
    return out + (f"--{B}--\r\nepilogue".encode() if closed else b"")


def test_parts_come_back_in_order() -> None:
    assert parts(body(b"one", b"\r\n--not-the-boundary\r\n"), B) == [
        Part("application/dicom", b"one"),
        Part("application/dicom", b"\r\n--not-the-boundary\r\n"),
    ]


def test_no_parts_is_an_empty_list() -> None:
    assert parts(f"--{B}--\r\n".encode(), B) == []


def test_a_body_without_its_closing_delimiter_was_cut_short() -> None:
    with pytest.raises(CutShort):
        parts(body(b"one", closed=False), B)
    with pytest.raises(CutShort):
        parts(body(b"one")[:-30], B)


def test_a_body_without_any_delimiter_is_not_multipart() -> None:
    with pytest.raises(MultipartError):
        parts(b"just bytes", B)


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        (f'multipart/related; type="application/dicom"; boundary={B}', B),
        (f'multipart/related; boundary="{B}"; type="application/dicom"', B),
        ("application/dicom", None),
        ("multipart/related; type=application/dicom", None),
    ],
)
def test_boundary_from_the_content_type(content_type: str, boundary: str | None) -> None:
    assert boundary_of(content_type) == boundary
