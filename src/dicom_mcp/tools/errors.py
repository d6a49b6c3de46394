"""Turn the lower layers' errors into tool errors, once, at the tool boundary.

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

from dicom_mcp.dicom.errors import InvalidQuery, NothingFound, PacsError, RetrieveTooLarge, ServiceBusy
from dicom_mcp.errors import ConfigurationError
from dicom_mcp.reading.errors import ReportUnreadable
from dicom_mcp.reading.image import NotRenderable
from dicom_mcp.security.targets import MoveRefused, TargetRefused
from dicom_mcp.sessions.resolver import SessionNotFound, TooManySessions
from dicom_mcp.sessions.store import StoreError

logger = logging.getLogger(__name__)


# Our errors whose message a caller reads as it is, after a prefix that says what kind it is.
# Order matters: a subclass comes before its base (NotRenderable is a ReportUnreadable).
PREFIXES: Final[tuple[tuple[type[Exception], str], ...]] = (
    (InvalidQuery, "invalid input: "),
    (NothingFound, "not found: "),
    (RetrieveTooLarge, "too large: "),
    (ServiceBusy, "busy: "),
    (MoveRefused, "move refused: "),
    (NotRenderable, "cannot render: "),
    (ReportUnreadable, "unreadable: "),
    (TargetRefused, "target refused: "),
    (SessionNotFound, ""),
    (TooManySessions, ""),
)


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
