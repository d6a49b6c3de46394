"""Baselines without the service: a hand-written pynetdicom script, and DCMTK's findscu."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import AE, evt

from dicom_mcp.model.queries import Query

BENCH_AET = "BENCHSCU"
_PENDING = (0xFF00, 0xFF01)
_SOP_UID_LINE = re.compile(rb"\(0008,0018\) UI \[([0-9.]+)\x00?\]")  # dcmdump prints the NUL pad


def _nodelay(event: evt.Event) -> None:
    sock = getattr(event.assoc.dul.socket, "socket", None)
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def script_find(
    host: str, port: int, called: str, query: Query, *, nodelay: bool = False
) -> tuple[float, list[Dataset]]:
    """One C-FIND the way a hand-written script does it: AE, associate, send_c_find, release.

    Returns the seconds taken and the matches. `nodelay` adds the one line such a script usually
    lacks (TCP_NODELAY), for a stronger baseline.
    """
    identifier = query.identifier()  # built before the clock starts, as a script's literal would be
    started = time.perf_counter()
    ae = AE(ae_title=BENCH_AET)
    ae.add_requested_context(query.model)
    handlers: list[Any] = [(evt.EVT_CONN_OPEN, _nodelay)] if nodelay else []
    assoc = ae.associate(host, port, ae_title=called, evt_handlers=handlers)
    if not assoc.is_established:
        raise ConnectionError("the direct script could not associate")
    matches: list[Dataset] = []
    final = -1
    for status, match in assoc.send_c_find(identifier, query.model):
        final = int(status.Status) if status else -1
        if final in _PENDING and match is not None:
            matches.append(match)
    assoc.release()
    elapsed = time.perf_counter() - started
    if final != 0x0000:
        raise RuntimeError(f"the direct script's C-FIND ended with status {final:#06x}")
    return elapsed, matches


def findscu_argv(host: str, port: int, called: str, query: Query) -> list[str]:
    """findscu arguments for exactly the identifier `query` sends (Study Root, same keys)."""
    level = query.identifier().QueryRetrieveLevel
    argv = ["findscu", "-S", "-aet", BENCH_AET, "-aec", called, "-k", f"QueryRetrieveLevel={level}"]
    matching = dict(query.matching)
    for element in query.identifier():
        if element.keyword == "QueryRetrieveLevel":
            continue
        value = matching.get(element.keyword)
        argv += ["-k", f"{element.keyword}={value}" if value else element.keyword]
    return [*argv, host, str(port)]


def run_findscu(argv: list[str]) -> tuple[float, list[str]]:
    """Run findscu (with DCMTK's TCP_NODELAY switch on); return seconds taken and the SOP UIDs it printed."""
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, env={**os.environ, "TCP_NODELAY": "1"}, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"findscu failed ({result.returncode}): {result.stderr[-500:]!r}")
    # At its default level findscu prints each match as a data set dump, one element a line.
    output = result.stdout + result.stderr
    return elapsed, [uid.decode() for uid in _SOP_UID_LINE.findall(output)]
