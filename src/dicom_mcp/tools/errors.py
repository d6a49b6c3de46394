"""Turn the lower layers' errors into tool results, once, at the tool boundary.

`tool_errors` makes a whole call's error; `item_reason` the reason one item of a call gives
(the others still shown); `contract.py` answers arguments that break a tool's schema with the
same "invalid input:" words before the tool runs.

Messages come from the typed errors, which name causes and never carry patient data.
Anything unexpected becomes a generic message; its details go to the log, not the caller.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from mcp.server.mcpserver.exceptions import ToolError

from dicom_mcp.errors import (
    ConfigurationError,
    InvalidQuery,
    MoveRefused,
    NothingFound,
    NotRenderable,
    PacsError,
    ReportUnreadable,
    RetrieveTooLarge,
    ServiceBusy,
    SessionNotFound,
    StoreError,
    TargetRefused,
    TooManySessions,
    Withheld,
)

logger = logging.getLogger(__name__)


# Our errors whose message a caller reads as it is, after a prefix that says what kind it is.
# Order matters: a subclass comes before its base (NotRenderable is a ReportUnreadable).
PREFIXES: Final[tuple[tuple[type[Exception], str], ...]] = (
    (InvalidQuery, "invalid input: "),
    (NothingFound, "not found: "),
    (RetrieveTooLarge, "too large: "),
    (ServiceBusy, "busy: "),
    (MoveRefused, "move refused: "),
    (Withheld, "withheld: "),
    (NotRenderable, "cannot render: "),
    (ReportUnreadable, "unreadable: "),
    (TargetRefused, "target refused: "),
    (SessionNotFound, ""),
    (TooManySessions, ""),
)


# Failures of one item of a call that shows several (a study's reports, a viewer window): that
# item says why, and the others are still shown. Anything else fails the whole call.
ITEM_FAILURES: Final[tuple[type[Exception], ...]] = (ReportUnreadable, NothingFound, RetrieveTooLarge)


def item_reason(exc: Exception) -> str:
    """Why one item could not be shown, as its result says it (an ITEM_FAILURES error's own words)."""
    return str(exc)


@contextmanager
def tool_errors(tool: str) -> Iterator[None]:
    """Re-raise known failures as ToolError with a clear, patient-free message."""
    try:
        yield
    except ToolError:
        raise
    except ConfigurationError as exc:
        logger.error("configuration error in %s: %s", tool, type(exc).__name__)
        raise ToolError(f"server configuration error: {exc}; the operator must fix it") from exc
    except PacsError as exc:
        raise ToolError(f"PACS error ({type(exc).__name__}): {exc}") from exc
    except StoreError as exc:
        logger.warning("session store failure in %s: %s", tool, type(exc).__name__)
        raise ToolError("the session store is unavailable; try again shortly") from exc
    except Exception as exc:
        prefix = next((text for kind, text in PREFIXES if isinstance(exc, kind)), None)
        if prefix is not None:
            raise ToolError(f"{prefix}{exc}") from exc
        # Unknown failures may carry anything in their text: log the type and where, not the message.
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        logger.error(
            "unexpected %s in tool %s at %s:%s", type(exc).__name__, tool, frame.filename, frame.lineno
        )
        raise ToolError(f"internal error in {tool}; the operator can find details in the server log") from exc
