"""DICOM wildcard matching (PS3.4 C.2.2.2.4): `*` any run of characters, `?` any one, the rest literal."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """A compiled regular expression that `fullmatch`es what `pattern` matches."""
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))
