"""Safe reads of one attribute from a Dataset that may be malformed or hostile.

pydicom converts an element's raw bytes when it is first read, and on bad data it raises many
kinds of error (unknown VRs, lengths that are no multiple of the value size, sequences that end
early). A reader treats any of them as "this attribute is unreadable", never as a crash.
"""

from __future__ import annotations

import struct

from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

DATASET_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    OverflowError,
    NotImplementedError,  # an unknown VR
    OSError,  # a sequence or item cut short
    struct.error,
    BytesLengthException,
    RecursionError,
)


def get(ds: Dataset | None, keyword: str) -> object:
    """The attribute's value, or None when absent, empty or unreadable."""
    if ds is None:
        return None
    try:
        value = ds.get(keyword)
    except DATASET_ERRORS:
        return None
    return None if value is None or value == "" else value


def values(ds: Dataset | None, keyword: str) -> list[object]:
    """The attribute's values as a list (empty when absent, empty or unreadable)."""
    value = get(ds, keyword)
    if value is None:
        return []
    return list(value) if isinstance(value, MultiValue | list | tuple) else [value]


def text(ds: Dataset | None, keyword: str) -> str | None:
    """The attribute as text (multi-values joined by backslashes), None when absent or empty."""
    joined = "\\".join(str(value) for value in values(ds, keyword)).strip()
    return joined or None


def items(ds: Dataset | None, keyword: str) -> list[Dataset]:
    """A sequence attribute's items (empty when absent or unreadable)."""
    value = get(ds, keyword)
    try:
        return (
            [item for item in value if isinstance(item, Dataset)]
            if isinstance(value, Sequence | list)
            else []
        )
    except DATASET_ERRORS:
        return []


def first(ds: Dataset | None, keyword: str) -> Dataset | None:
    """A sequence attribute's first item, or None."""
    found = items(ds, keyword)
    return found[0] if found else None
