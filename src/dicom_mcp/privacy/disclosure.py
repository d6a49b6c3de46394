"""What one pseudonymised call has learnt about the identities it touched.

The view's boundary (`dicom_mcp.tools.view`) opens a Disclosure for a call; whatever parses an
instance on the call's behalf (the sandbox client) notes the identifying facts the instance
carries, which the boundary then replaces wherever they appear in the answer, and the pictures it
vetted. Nothing is noted when no Disclosure is open (an identified caller).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

_ACTIVE: ContextVar[Disclosure | None] = ContextVar("dicom_mcp_disclosure", default=None)


@dataclass
class Disclosure:
    """The facts of the instances one call parsed, and which of them were shown as pictures."""

    text: str = "withhold"  # free text in reports: "withhold" or "scrub"
    facts: list[dict[str, Any]] = field(default_factory=list)
    shown: set[str] = field(default_factory=set)  # SOP Instance UIDs whose pixels passed pixels.refusal
    redacted: bool = False  # SR outlines were written without person names (and, withheld, free text)

    def note(self, facts: dict[str, Any]) -> None:
        self.facts.append(facts)


def active() -> Disclosure | None:
    """The open Disclosure of the call running in this context, if the caller is pseudonymised."""
    return _ACTIVE.get()


@contextmanager
def disclosing(disclosure: Disclosure) -> Iterator[Disclosure]:
    """Make `disclosure` the open one for the code run inside."""
    token = _ACTIVE.set(disclosure)
    try:
        yield disclosure
    finally:
        _ACTIVE.reset(token)
