"""One DIMSE exchange's plumbing: the next message off an association's queue, and its contexts.

The operation's own thread is the DIMSE queue's only reader; every wait is bounded by the
DIMSE timeout and by the operation's overall deadline (`give_up`, a `time.monotonic()` value).
"""

from __future__ import annotations

import queue
import time
from typing import Any, TypeVar

from pydicom.uid import UID
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_ECHO, C_FIND, C_GET, C_MOVE

from dicom_mcp.dimse import failures
from dicom_mcp.model.target import Target

R = TypeVar("R", C_FIND, C_ECHO, C_GET, C_MOVE)


def next_message(
    assoc: Association, target: Target, give_up: float, dimse_timeout: float, first: bool
) -> tuple[int, Any]:
    """The next DIMSE message and its presentation context ID; waits no longer than either timeout."""
    remaining = give_up - time.monotonic()
    try:
        item: tuple[Any, Any] = assoc.dimse.msg_queue.get(timeout=max(min(dimse_timeout, remaining), 0.0))
    except queue.Empty:
        raise failures.silent(
            target.describe(), deadline_reached=remaining <= dimse_timeout, dimse_timeout=dimse_timeout
        ) from None
    context_id, message = item
    if message is None:  # put there when the connection closed, or by abort()
        raise failures.closed(target.describe(), before_any_answer=first)
    return int(context_id), message


def check_response(message: Any, target: Target, kind: type[R], msg_id: int) -> tuple[R, int]:
    """`message` as a response of `kind` to `msg_id`, and its status."""
    if not isinstance(message, kind) or message.MessageIDBeingRespondedTo != msg_id:
        raise failures.stray_message(target.describe())
    status = message.Status
    if status is None:
        raise failures.no_status(target.describe())
    return message, int(status)


def next_response(
    assoc: Association,
    target: Target,
    give_up: float,
    dimse_timeout: float,
    kind: type[R],
    msg_id: int,
    first: bool,
) -> tuple[R, int]:
    """The next DIMSE message, which must answer `msg_id`, and its status."""
    _, message = next_message(assoc, target, give_up, dimse_timeout, first)
    return check_response(message, target, kind, msg_id)


def context_for(assoc: Association, abstract_syntax: str, target: Target) -> tuple[int, UID]:
    """The ID and transfer syntax of the accepted presentation context for `abstract_syntax`."""
    for context in assoc.accepted_contexts:
        if context.abstract_syntax == abstract_syntax and context.context_id is not None:
            return context.context_id, context.transfer_syntax[0]
    raise failures.service_not_accepted(target.describe(), abstract_syntax)


def syntax_of(assoc: Association, context_id: int) -> UID | None:
    """The transfer syntax of the accepted context `context_id`."""
    for context in assoc.accepted_contexts:
        if context.context_id == context_id:
            return UID(context.transfer_syntax[0])
    return None
