"""C-FIND and C-GET/C-MOVE identifiers as bytes, in the transfer syntax an association accepted.

A query's identifier is written by `wire.py` directly when it can (the common case, fast), else
by pydicom; a retrieval's by pydicom. Deflated syntaxes get the raw deflate PS3.5 A.5 asks for.
"""

from __future__ import annotations

import zlib

from pydicom.uid import UID

from dicom_mcp.dimse import wire
from dicom_mcp.errors import IdentifierNotEncodable
from dicom_mcp.model.queries import Query
from dicom_mcp.model.retrievals import Keys
from dicom_mcp.model.validation import writable, written


def encode_query(query: Query, syntax: UID) -> bytes:
    """The identifier, encoded in the negotiated transfer syntax.

    Raises:
        IdentifierNotEncodable: pydicom could not write it (validation should have refused
            the attribute); raised before anything is sent.
    """
    encoding = {"implicit_vr": syntax.is_implicit_VR, "little_endian": syntax.is_little_endian}
    encoded = wire.encoded(query.elements(), **encoding)
    if encoded is None:
        encoded = written_by_pydicom(query, encoding)
    if not syntax.is_deflated:
        return encoded
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = compressor.compress(encoded) + compressor.flush()
    return deflated + b"\x00" * (len(deflated) % 2)


def encode_keys(keys: Keys, syntax: UID) -> bytes:
    """A retrieval's identifier in the negotiated (uncompressed, not deflated) transfer syntax."""
    return written(
        keys.identifier(), implicit_vr=syntax.is_implicit_VR, little_endian=syntax.is_little_endian
    )


def written_by_pydicom(query: Query, encoding: dict[str, bool]) -> bytes:
    """The identifier written by pydicom (for what `wire.encoded` leaves to it)."""
    identifier = query.identifier()
    try:
        return written(identifier, **encoding)
    except Exception as exc:  # pydicom raises ValueError, TypeError, ...; its text may quote values
        culprit = next((e.keyword for e in identifier if not writable(e.keyword, **encoding)), None)
        what = f"attribute {culprit}" if culprit else f"pydicom ({type(exc).__name__})"
        raise IdentifierNotEncodable(
            f"the query could not be encoded as a DICOM identifier ({what} cannot be written in "
            f"the transfer syntax the PACS accepted); nothing was sent to the PACS"
        ) from None
