"""An instance's WADO-RS metadata (DICOM JSON, PS3.18 F) as a pydicom Dataset, in the sandbox.

A DICOMweb node answers get_instance_metadata for an instance too large to retrieve with the
instance's metadata instead: every attribute, bulk data only by reference (BulkDataURI), which
is never fetched. The JSON comes from the PACS and is as untrusted as any instance: its size was
bounded by the call's byte budget as it arrived, its sequence items and nesting are bounded here
before pydicom builds anything, as for a binary dataset (`reading/structure.py`), and it is parsed
here, in a worker under the sandbox's deadline and memory ceiling.
"""

from __future__ import annotations

import json
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset

from dicom_mcp.reading.structure import MAX_DEPTH, MAX_ITEMS, TooComplex


class NotMetadata(ValueError):
    """The body is not the DICOM JSON of one instance."""


def from_metadata(data: bytes) -> Dataset:
    """The one dataset of a WADO-RS metadata answer; elements given by reference are left empty.

    Raises:
        NotMetadata: it is not an array holding one DICOM JSON dataset.
        TooComplex: it has too many sequence items, or nests them too deeply.
    """
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise NotMetadata("the WADO-RS metadata is not JSON") from None
    if isinstance(document, list) and len(document) == 1:
        document = document[0]
    if not isinstance(document, dict):
        raise NotMetadata("the WADO-RS metadata does not hold one instance")
    check_json_shape(document)
    ds = Dataset.from_json(document, bulk_data_uri_handler=_by_reference)
    meta = [element.tag for element in ds if element.tag.group == 0x0002]
    if meta:  # some archives include the file meta group; the header names its transfer syntax
        ds.file_meta = FileMetaDataset()
        for tag in meta:
            ds.file_meta[tag] = ds[tag]
            del ds[tag]
    return ds


def check_json_shape(document: dict[str, Any]) -> None:
    """Raise TooComplex past MAX_ITEMS sequence items in all, or MAX_DEPTH sequences deep."""
    items = 0
    stack: list[tuple[dict[str, Any], int]] = [(document, 0)]
    while stack:
        dataset, depth = stack.pop()
        for element in dataset.values():
            if not isinstance(element, dict) or element.get("vr") != "SQ":
                continue
            value = element.get("Value")
            if not isinstance(value, list):
                continue
            items += len(value)
            if items > MAX_ITEMS:
                raise TooComplex(
                    f"the instance holds too many sequence items (more than {MAX_ITEMS}) to read"
                )
            if depth + 1 > MAX_DEPTH:
                raise TooComplex(
                    f"the instance nests sequences too deeply (more than {MAX_DEPTH} levels) to read"
                )
            stack.extend((item, depth + 1) for item in value if isinstance(item, dict))


def _by_reference(tag: str, vr: str, uri: str) -> None:
    """Bulk data stays where it is: the header notes it, it is never fetched."""
    return None
