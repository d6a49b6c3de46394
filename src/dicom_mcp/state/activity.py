"""What the process is doing right now: tool calls and MCP requests in flight, and draining.

Shared by the tools (which count calls) and the HTTP layer (which counts requests and drains
them before a stop, `transport/lifecycle.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

# A client often follows a tool call with another request at once (the SDK's clients list the
# tools to check the first result of each tool against its output schema). Draining waits
# this long with nothing in flight before it calls the process idle, so such a follow-up is
# answered rather than cut by the shutdown.
QUIET_PERIOD = 0.25


@dataclass
class Activity:
    """Shared by the tools (which count calls) and the HTTP layer (which drains on shutdown)."""

    in_flight: int = 0  # tool bodies running
    requests: int = 0  # MCP requests (POSTs) whose response is not yet sent
    draining: bool = False
    last_finished: float = field(default_factory=time.monotonic)

    @property
    def busy(self) -> bool:
        """Whether any request is still on its way."""
        return self.in_flight > 0 or self.requests > 0

    @property
    def settled(self) -> bool:
        """Nothing in flight, and nothing finished within the last QUIET_PERIOD seconds."""
        return not self.busy and time.monotonic() - self.last_finished >= QUIET_PERIOD

    def started(self) -> None:
        """A request has arrived; its response is not yet sent."""
        self.requests += 1

    def finished(self) -> None:
        """A request's response has been sent (or the request was cut)."""
        self.requests -= 1
        self.last_finished = time.monotonic()
