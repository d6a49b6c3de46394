"""The text block a model reads, next to the structured result a client parses.

The structured result stays exactly as its output schema says. The text repeats it as compact
JSON, and a list of matches as a table: the column names once, then one row per match, instead of
every key repeated in every row (a 2,000-match answer shrinks by about half; measured in tests).
"""

from __future__ import annotations

import json
from typing import Any


def text_for(structured: dict[str, Any]) -> str:
    """Compact JSON of `structured`, with `matches` (a list of objects) written as columns and rows."""
    matches = structured.get("matches")
    if isinstance(matches, list) and matches and all(isinstance(m, dict) for m in matches):
        columns = list(dict.fromkeys(key for match in matches for key in match))
        rest = {key: value for key, value in structured.items() if key != "matches"}
        table = {"columns": columns, "rows": [[match.get(c) for c in columns] for match in matches]}
        return _compact({**rest, "matches": table})
    return _compact(structured)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
