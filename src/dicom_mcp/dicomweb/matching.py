"""DICOM attribute matching (PS3.4 C.2.2.2), checked here on what a DICOMweb archive returns.

Every text matching key is checked again on the archive's results, the way Orthanc's C-FIND
matches: the whole value, * and ? as wildcards, person names without regard to case (accents
kept), other text exactly. A node with `local_matching` is sent only the part of a value that
travels unescaped in a query string (letters, digits, - . _ ~ and the wildcards); the check here
does the rest.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from dicom_mcp.model.matching import wildcard
from dicom_mcp.model.values import JsonValue

# What `search.query_string` sends as itself besides letters and digits: RFC 3986's unreserved
# characters and the wildcards. Anything else travels percent-encoded.
SENT_AS_IS = "-._~*?"
UNESCAPED = frozenset(string.ascii_letters + string.digits + SENT_AS_IS)


def sendable_prefix(value: str) -> str | None:
    """The pattern to ask the archive for when `value` holds characters it cannot be sent:
    its leading unescaped part and a *, or None when nothing of it can narrow the search."""
    for index, char in enumerate(value):
        if char not in UNESCAPED:
            prefix = value[:index].rstrip("*")
            return f"{prefix}*" if prefix else None
    return value


@dataclass(frozen=True)
class LocalMatch:
    """One matching key matched here: keyword, pattern, and whether case counts."""

    keyword: str
    pattern: str
    ignore_case: bool

    @property
    def _regex(self) -> re.Pattern[str]:
        return wildcard(self.pattern, ignore_case=self.ignore_case)

    def matches(self, value: JsonValue) -> bool:
        """Single-value matching, or wildcard matching when the pattern has * or ?; a multi-valued
        attribute matches when one of its values does."""
        values = value if isinstance(value, list) else [value]
        return any(isinstance(item, str) and self._regex.fullmatch(item) for item in values)
