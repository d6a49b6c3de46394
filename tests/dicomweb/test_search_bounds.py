"""QIDO-RS answers read within what was asked for: rows one at a time, a body cap from `limit`."""

from __future__ import annotations

import pytest

from dicom_mcp.dicomweb.exchange import (
    MAX_SEARCH_BYTES,
    SEARCH_BYTES_BASE,
    TooManyRows,
    json_rows,
    search_cap,
)
from dicom_mcp.dicomweb.multipart import TooManyParts, parts


def test_rows_are_read_up_to_the_number_asked_for() -> None:
    assert json_rows(' [ {"a": 1} , {} ] ', 2) == [{"a": 1}, {}]
    assert json_rows("[]", 0) == []
    with pytest.raises(TooManyRows):
        json_rows("[{}, {}, {}]", 2)


def test_a_million_empty_rows_stop_at_the_first_one_too_many() -> None:
    with pytest.raises(TooManyRows):
        json_rows("[" + ",".join(["{}"] * 1_000_000) + "]", 11)


@pytest.mark.parametrize("text", ["{}", "[{}", "[{} {}]", "[{}],", "[{},]"])
def test_what_is_not_one_json_array_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        json_rows(text, 10)


def test_nesting_too_deep_is_a_recursion_error_not_a_crash() -> None:
    with pytest.raises(RecursionError):
        json_rows("[" + "[" * 200_000 + "]" * 200_000 + "]", 10)


def test_the_body_cap_grows_with_the_rows_asked_for_up_to_a_ceiling() -> None:
    assert search_cap(1) < search_cap(100) < search_cap(10**6) == MAX_SEARCH_BYTES
    assert search_cap(10) < SEARCH_BYTES_BASE + 11 * 32 * 1024


def test_a_multipart_body_with_too_many_parts_is_refused() -> None:
    body = b"--b\r\n\r\n" * 6 + b"--b--"
    assert len(parts(body.replace(b"--b\r\n\r\n", b"--b\r\n\r\n\r\n"), "b", 10)) == 6
    with pytest.raises(TooManyParts):
        parts(body, "b", 5)
