"""Whether a DICOMweb archive percent-decodes QIDO-RS query strings, found by asking it.

Matching values travel percent-encoded UTF-8 (PS3.18 8.3.4), but Debian's Orthanc 1.10 hands its
plugin the query string still encoded: `PatientName=M%C3%BCller*` finds nothing there. A node
whose `local_matching` is unset is asked, the first time one of its searches would send a value
percent-encoded, the same one-result search twice: with PatientID `*` and with `%2A`. An archive
that decodes finds a study both ways; one that does not compares `%2A` as it stands and finds
none. (`*` is a reserved character, so no proxy on the way decodes `%2A` on the archive's behalf.)

An archive with no study to find cannot tell: that search matches here (the safe choice: the
archive is sent only what travels unescaped) and the next one asks again. An answer is remembered
in this process for `REMEMBERED` seconds, so that an archive upgraded meanwhile is found out;
calls that need it while it is being asked wait for that one probe and share its answer. The
probe's results are counted, never read or kept, and its log lines name the node only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

import anyio

from dicom_mcp.dicomweb.exchange import Exchange

logger = logging.getLogger(__name__)

REMEMBERED: Final = 3600.0  # seconds an answer is trusted before the archive is asked again
PLAIN: Final = "PatientID=*&limit=1"
ENCODED: Final = "PatientID=%2A&limit=1"  # the same, percent-encoded


async def probe_decoding(exchange: Exchange) -> bool | None:
    """True when the archive decodes query strings, False when it does not, None when it holds no
    study to tell by (the encoded search is then not sent)."""
    if not await _finds(exchange, PLAIN):
        return None
    return await _finds(exchange, ENCODED)


async def _finds(exchange: Exchange, query: str) -> bool:
    # No includefield: the archive's default attributes only, dropped unread.
    return bool((await exchange.search("studies", query, scoped=False, rows=1)).rows)


@dataclass
class _Node:
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    probes: int = 0  # probes answered; a call that waited sees it change
    last: bool | None = None  # the last probe's answer
    until: float = 0.0  # when `last` stops being trusted (an unknown one never is)


class QueryDecoding:
    """What each DICOMweb root does with percent-encoded query values, as probed; one per process."""

    def __init__(self, remembered: float = REMEMBERED, clock: Callable[[], float] = time.monotonic) -> None:
        self._remembered, self._clock = remembered, clock
        self._nodes: dict[str, _Node] = {}  # by root URL: as many as the nodes file names

    async def decodes(self, root: str, exchange: Exchange) -> bool | None:
        """Whether the archive at `root` decodes query strings (None: it cannot tell yet), as
        remembered, else asked through `exchange` by one call at a time."""
        node = self._nodes.get(root) or self._nodes.setdefault(root, _Node())
        if node.last is not None and self._clock() < node.until:
            return node.last
        seen = node.probes
        async with node.lock:
            if node.probes != seen:  # answered while this call waited
                return node.last
            found = await probe_decoding(exchange)
            node.probes, node.last = node.probes + 1, found
            node.until = self._clock() + self._remembered if found is not None else 0.0
        _log(exchange.where, found)
        return found

    def local_matching(
        self, setting: bool | None, root: str, exchange: Exchange
    ) -> Callable[[], Awaitable[bool]]:
        """For one operation: whether to match here, the operator's `setting` else what the archive
        does; asked when first awaited, then kept for the operation."""
        answer: list[bool] = [] if setting is None else [setting]

        async def ask() -> bool:
            if not answer:
                answer.append(await self.decodes(root, exchange) is not True)
            return answer[0]

        return ask


def _log(where: str, decodes: bool | None) -> None:
    if decodes is None:
        logger.debug(
            "%s holds no study to tell whether it decodes query strings: matching escaped values "
            "here, asking again next time",
            where,
        )
    elif decodes:
        logger.info("%s decodes query strings: escaped values are matched by the archive", where)
    else:
        logger.info(
            "%s does not percent-decode query strings: escaped values are matched here (local matching)",
            where,
        )
