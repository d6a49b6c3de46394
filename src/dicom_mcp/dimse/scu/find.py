"""C-ECHO and C-FIND over a Channel.

Responses are shaped straight from their raw elements (`values.shaper_for`), and the deadline
is the timeout of each wait on the queue, so no timer thread runs per operation (measured in
bench/ against pynetdicom's own `send_c_find`).
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from pydicom.uid import UID
from pynetdicom.dimse_primitives import C_ECHO, C_FIND
from pynetdicom.dsutils import decode

from dicom_mcp.dimse import failures
from dicom_mcp.dimse.identifiers import encode_query
from dicom_mcp.dimse.scu.association import VERIFICATION, Channel
from dicom_mcp.dimse.scu.exchange import context_for, next_response
from dicom_mcp.dimse.shaper import Shaper, shaper_for
from dicom_mcp.model.queries import Query
from dicom_mcp.model.target import Target
from dicom_mcp.model.values import JsonValue


@dataclass
class Found:
    """What one C-FIND returned, and whether it ended cleanly enough to reuse the association."""

    matches: list[dict[str, JsonValue]]
    truncated: bool
    clean: bool


def echo(channel: Channel, target: Target, give_up: float, dimse_timeout: float) -> None:
    """One C-ECHO exchange; raises unless it succeeds."""
    assoc = channel.assoc
    context_id, _ = context_for(assoc, VERIFICATION, target)
    request = C_ECHO()
    request.MessageID, request.AffectedSOPClassUID = 1, VERIFICATION
    assoc.dimse.send_msg(request, context_id)
    _, status = next_response(assoc, target, give_up, dimse_timeout, C_ECHO, 1, first=True)
    failures.check_echo_status(status)


def find(
    channel: Channel,
    target: Target,
    query: Query,
    limit: int,
    give_up: float,
    dimse_timeout: float,
    msg_id: int,
) -> Found:
    """One C-FIND exchange, keeping at most `limit` matches (C-CANCEL once one more arrives).

    Raises:
        IdentifierNotEncodable: before anything is sent; the association is still clean.
    """
    assoc = channel.assoc
    context_id, syntax = context_for(assoc, query.model, target)
    request = C_FIND()
    request.MessageID, request.AffectedSOPClassUID, request.Priority = msg_id, query.model, 2
    request.Identifier = BytesIO(encode_query(query, syntax))
    assoc.dimse.send_msg(request, context_id)
    shape = shaper_for(query.return_keys)
    matches: list[dict[str, JsonValue]] = []
    truncated = False
    while True:
        response, status = next_response(
            assoc, target, give_up, dimse_timeout, C_FIND, msg_id, first=not matches
        )
        if status not in failures.PENDING:
            failures.check_find_status(status, cancelled=truncated)
            return Found(matches, truncated, status in (failures.SUCCESS, failures.CANCEL))
        if response.Identifier is None:
            continue
        if len(matches) < limit:
            matches.append(_shaped(shape, response.Identifier, syntax))
        elif not truncated:
            # One match beyond the limit proves there are more: stop the PACS.
            truncated = True
            assoc.send_c_cancel(msg_id, context_id=context_id)


def _shaped(shape: Shaper, identifier: BytesIO, syntax: UID) -> dict[str, JsonValue]:
    if syntax.is_little_endian and not syntax.is_deflated:
        return shape.from_bytes(identifier.getvalue(), syntax.is_implicit_VR)
    return shape(decode(identifier, syntax.is_implicit_VR, syntax.is_little_endian, syntax.is_deflated))
