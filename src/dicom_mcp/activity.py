"""What the process is doing right now: tool calls in flight, and whether it is draining to stop."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Activity:
    """Shared by the tools (which count calls) and the HTTP layer (which drains on shutdown)."""

    in_flight: int = 0  # tool bodies running
    requests: int = 0  # tool-call HTTP requests whose response is not yet sent
    draining: bool = False

    @property
    def busy(self) -> bool:
        """Whether any tool call is still on its way."""
        return self.in_flight > 0 or self.requests > 0
