"""Bytes of retrieved instances in memory: a cap per tool call, and one for the whole process.

A retrieval takes bytes from its call's `Budget` as they arrive (after inflation, for deflated
instances), before it keeps them; the call gives them back once the instance is read and
dropped, and whatever is left when it ends. The process's `Pool` counts the bytes all calls in
flight hold. Thread-safe: DIMSE retrievals take from worker
threads.
"""

from __future__ import annotations

import threading

from dicom_mcp.errors import RetrieveTooLarge, ServiceBusy


class Pool:
    """The bytes every call in flight may hold together (DICOM_MCP_MAX_BYTES_IN_FLIGHT)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.held = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> None:
        """Hold `size` more bytes.

        Raises:
            ServiceBusy: other calls hold so much that these would pass the cap.
        """
        with self._lock:
            if self.held + size > self.cap:
                raise ServiceBusy(
                    f"the service is busy: calls in flight already hold {self.held} bytes of instances, "
                    f"and this one would pass the cap of {self.cap} (DICOM_MCP_MAX_BYTES_IN_FLIGHT); "
                    "try again in a moment"
                )
            self.held += size

    def give(self, size: int) -> None:
        with self._lock:
            self.held = max(0, self.held - size)


class Budget:
    """The bytes one tool call may hold at once (DICOM_MCP_MAX_RETRIEVE_BYTES), drawn from `pool`."""

    def __init__(self, cap: int, pool: Pool | None = None) -> None:
        self.cap = cap
        self.held = 0
        self._pool = pool
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        return max(0, self.cap - self.held)

    def take(self, size: int, where: str = "the PACS") -> None:
        """Hold `size` more bytes, within the call's cap and the process's.

        Raises:
            RetrieveTooLarge: the call would pass its cap.
            ServiceBusy: the process is holding too much for other calls.
        """
        with self._lock:
            if self.held + size > self.cap:
                raise too_large(where, self.cap)
            if self._pool is not None:
                self._pool.take(size)
            self.held += size

    def give(self, size: int) -> None:
        """Let go of `size` bytes (an instance was read and dropped)."""
        with self._lock:
            size = min(size, self.held)
            self.held -= size
            if self._pool is not None:
                self._pool.give(size)

    def close(self) -> None:
        """Give everything back to the process (when the call ends)."""
        self.give(self.held)


def too_large(where: str, cap: int) -> RetrieveTooLarge:
    return RetrieveTooLarge(
        f"the instances from {where} passed the cap of {cap} bytes per call "
        "(DICOM_MCP_MAX_RETRIEVE_BYTES), counted after decompression; ask for fewer, e.g. one instance"
    )
