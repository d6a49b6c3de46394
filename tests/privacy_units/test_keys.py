"""The operator's pseudonym secret: long enough, readable, and read as the same bytes every time."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicom_mcp.errors import ConfigurationError
from dicom_mcp.privacy.keys import MIN_SECRET_BYTES, PseudonymKeys, load_keys
from dicom_mcp.privacy.pseudonyms import PATIENT_ID

SECRET = b"0123456789abcdef0123456789abcdef-operator"


def _token(keys: PseudonymKeys) -> str:
    return keys.for_principal("researcher").token(PATIENT_ID, "PID0001")


def test_a_secret_shorter_than_32_bytes_is_refused() -> None:
    assert MIN_SECRET_BYTES == 32
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        PseudonymKeys(b"x" * 31)
    PseudonymKeys(b"x" * 32)  # exactly enough


def test_a_short_key_file_is_refused_in_one_line_naming_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_bytes(b"too short\n")
    with pytest.raises(ConfigurationError) as refused:
        load_keys(path)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("DICOM_MCP_PSEUDONYM_KEY_FILE")
    assert "at least 32 bytes" in message
    assert "too short" not in message  # the secret itself is never repeated


@pytest.mark.parametrize("make", ["missing", "directory"])
def test_an_unreadable_key_file_is_one_clear_message(tmp_path: Path, make: str) -> None:
    path = tmp_path / "key"
    if make == "directory":
        path.mkdir()
    with pytest.raises(ConfigurationError) as refused:
        load_keys(path)
    message = str(refused.value)
    assert message.startswith("DICOM_MCP_PSEUDONYM_KEY_FILE cannot be read: ")
    assert "\n" not in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__  # no OSError chained


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_a_trailing_newline_is_not_part_of_the_secret(tmp_path: Path, ending: bytes) -> None:
    plain, with_newline = tmp_path / "plain", tmp_path / "newline"
    plain.write_bytes(SECRET)
    with_newline.write_bytes(SECRET + ending)
    assert _token(load_keys(with_newline)) == _token(load_keys(plain)) == _token(PseudonymKeys(SECRET))


def test_other_bytes_of_the_file_are_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_bytes(SECRET + b" ")
    assert _token(load_keys(path)) != _token(PseudonymKeys(SECRET))


def test_each_principal_has_its_own_key_derived_once() -> None:
    keys = PseudonymKeys(SECRET)
    assert keys.for_principal("researcher") is keys.for_principal("researcher")
    assert _token(keys) != keys.for_principal("auditor").token(PATIENT_ID, "PID0001")


def test_a_random_secret_made_as_advised_is_never_refused(tmp_path: Path) -> None:
    # The refusal and .env.example advise `head -c 32 /dev/urandom > FILE`: 32 random bytes, the
    # last of which is a newline (or a carriage return) about once in 128 keys. Stripping it
    # leaves 31 bytes, and the operator's freshly made key is refused.
    path = tmp_path / "key"
    path.write_bytes(bytes(range(200, 231)) + b"\n")
    load_keys(path)
