"""Every byte a caller receives, kept and searched for canaries: results, errors, pictures, progress.

A Transcript wraps an MCP client: each call's whole result (structured content, content blocks,
`_meta`, the error text) and the progress messages sent while it ran are kept as text; pictures
(PNG content blocks and the viewer's `_meta` pictures) are kept as decoded bytes, and their
base64 left out of the text, where it could spell a short canary by chance. The search ignores
case and Unicode normal form; a canary of digits only (a DICOM date) must stand alone, not
inside a longer number such as a 2.25 UID.
"""

from __future__ import annotations

import base64
import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from mcp import Client
from mcp_types import CallToolResult

from testbeds.canary import CANARIES

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
TEXT_CHUNKS: Final = frozenset({"tEXt", "iTXt", "zTXt"})


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _find(text: str, canaries: Iterable[str]) -> list[tuple[str, int]]:
    """(canary, where it starts in the folded text) for each canary `text` holds."""
    folded = _folded(text)
    found = []
    for canary in canaries:
        wanted = _folded(canary)
        start = folded.find(wanted)
        while start >= 0:
            end = start + len(wanted)
            alone = not canary.isdigit() or not (
                folded[start - 1 : start].isdigit() or folded[end : end + 1].isdigit()
            )
            if alone:
                found.append((canary, start))
                break
            start = folded.find(wanted, start + 1)
    return found


def canaries_in(text: str, canaries: Iterable[str] = CANARIES) -> list[str]:
    """The canaries `text` holds, ignoring case and normal form."""
    return [canary for canary, _ in _find(text, canaries)]


def canaries_in_context(text: str, canaries: Iterable[str] = CANARIES, width: int = 60) -> list[str]:
    """Each canary `text` holds, with what surrounds it (to tell where a leak came from)."""
    folded = _folded(text)
    return [
        f"{canary!r} in ...{folded[max(0, at - width) : at + width]}..."
        for canary, at in _find(text, canaries)
    ]


def png_chunk_types(data: bytes) -> list[str]:
    """The chunk types of a PNG, in order."""
    assert data.startswith(PNG_SIGNATURE), "not a PNG"
    types, offset = [], len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        types.append(data[offset + 4 : offset + 8].decode("latin-1"))
        offset += 12 + length
    return types


def picture_problems(data: bytes, canaries: Iterable[str] = CANARIES) -> list[str]:
    """What a PNG carries that it must not: text chunks, canaries in its bytes."""
    chunks = [f"{kind} chunk" for kind in png_chunk_types(data) if kind in TEXT_CHUNKS]
    as_text = data.decode("latin-1") + data.decode("utf-8", errors="ignore")
    return chunks + canaries_in(as_text, canaries)


def _take_pictures(value: Any, pictures: list[bytes]) -> Any:
    """`value` with every base64 picture ({mimeType: image/..., data}) decoded into `pictures` and blanked."""
    if isinstance(value, dict):
        if str(value.get("mimeType", "")).startswith("image/") and isinstance(value.get("data"), str):
            pictures.append(base64.b64decode(value["data"], validate=True))
            value = {**value, "data": "<picture>"}
        return {key: _take_pictures(item, pictures) for key, item in value.items()}
    if isinstance(value, list):
        return [_take_pictures(item, pictures) for item in value]
    return value


@dataclass
class Transcript:
    """An MCP client whose answers are all kept for searching."""

    client: Client
    texts: list[tuple[str, str]] = field(default_factory=list)
    pictures: list[tuple[str, bytes]] = field(default_factory=list)

    async def result(self, tool: str, **arguments: object) -> CallToolResult:
        """Call `tool`; keep and return its result, whatever it is."""
        messages: list[str] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            if message:
                messages.append(message)

        result = await self.client.call_tool(tool, dict(arguments), progress_callback=on_progress)
        pictures: list[bytes] = []
        dumped = _take_pictures(result.model_dump(mode="json", by_alias=True), pictures)
        self.texts.append((tool, json.dumps(dumped, ensure_ascii=False)))
        self.texts += [(f"{tool} progress", message) for message in messages]
        self.pictures += [(tool, picture) for picture in pictures]
        return result

    async def ok(self, tool: str, **arguments: object) -> dict[str, Any]:
        """Call a tool that must succeed; return its structured result."""
        result = await self.result(tool, **arguments)
        assert not result.is_error, f"{tool} failed: {result.content}"
        assert result.structured_content is not None
        return dict(result.structured_content)

    async def error(self, tool: str, **arguments: object) -> str:
        """Call a tool that must fail; return its error text."""
        result = await self.result(tool, **arguments)
        assert result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}"
        return " ".join(getattr(block, "text", "") for block in result.content)

    def hits(self, canaries: Iterable[str] = CANARIES) -> list[str]:
        """Where a canary was seen, as `tool: canary` (an empty list is a clean transcript)."""
        wanted = tuple(canaries)
        found = [f"{where}: {hit}" for where, text in self.texts for hit in canaries_in_context(text, wanted)]
        found += [
            f"{where} picture: {p}" for where, data in self.pictures for p in picture_problems(data, wanted)
        ]
        return found

    def seen(self, canaries: Iterable[str] = CANARIES) -> set[str]:
        """The canaries seen anywhere in the transcript's text."""
        return {canary for _, text in self.texts for canary in canaries_in(text, canaries)}
