"""Failures every backend words alike: no slot came free, or the service is shutting down.

The protocol-specific wording lives with each adapter (`dimse/failures.py`, `dicomweb/errors.py`).
"""

from __future__ import annotations

from dicom_mcp.errors import AssociationAborted, PacsBusy


def busy(where: str, *, waiting_for_slot: bool) -> PacsBusy:
    """No association (or connection) to `where` came free within the deadline."""
    if waiting_for_slot:
        return PacsBusy(f"every association to {where} stayed busy for the whole deadline")
    return PacsBusy(f"no association to {where} came free within the deadline")


def shutting_down() -> AssociationAborted:
    """The operation was stopped because the service is shutting down."""
    return AssociationAborted("the service is shutting down; the operation was stopped")
