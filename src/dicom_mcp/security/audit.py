"""The audit trail: one JSON line per tool call and per refused access.

Modelled on DICOM PS3.15 audit messages: a C-FIND is a "Query" event (DCM 110112), a
C-ECHO or configuration change an "Application Activity"-like event, a refusal a
"Security Alert" (DCM 110113). This is the only place where query values (patient names,
IDs, dates) may be written; ordinary logs never carry them. Records are written and
flushed one by one, so nothing is lost on a crash, and the sink is closed on shutdown.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from pathlib import Path
from typing import IO, Any, Final

EVENT_CODES: Final = {
    "query": {"code": "110112", "system": "DCM", "meaning": "Query"},
    "echo": {"code": "110100", "system": "DCM", "meaning": "Application Activity"},
    "configure": {"code": "110100", "system": "DCM", "meaning": "Application Activity"},
    "refused": {"code": "110113", "system": "DCM", "meaning": "Security Alert"},
    "read": {"code": "110103", "system": "DCM", "meaning": "DICOM Instances Accessed"},
    "move": {"code": "110104", "system": "DCM", "meaning": "DICOM Instances Transferred"},
    # Staff turning pseudonyms back into identifiers read the patient's record (`dicom-mcp reidentify`).
    "reidentify": {"code": "110110", "system": "DCM", "meaning": "Patient Record"},
}


class AuditSink:
    """Writes audit records as JSON lines to a file, standard output, or nowhere."""

    def __init__(self, destination: str | None, dash_stream: IO[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._stream: IO[str] | None
        self._owned = False
        if not destination:
            self._stream = None
        elif destination == "-":
            self._stream = dash_stream or sys.stdout
        else:
            path = Path(destination)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = path.open("a", encoding="utf-8")
            self._owned = True

    def record(self, event: str, **fields: Any) -> None:
        """Append one record; `event` is a key of EVENT_CODES."""
        if self._stream is None:
            return
        entry = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "event": event,
            "event_id": EVENT_CODES[event],
            **fields,
        }
        line = json.dumps(entry, ensure_ascii=False, default=str)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def close(self) -> None:
        """Flush and close the file (standard output is only flushed)."""
        with self._lock:
            if self._stream is None:
                return
            self._stream.flush()
            if self._owned:
                self._stream.close()
            self._stream = None
