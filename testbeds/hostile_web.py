"""A hostile DICOMweb archive: QIDO-RS and WADO-RS answers that each test chooses, bombs among them.

`testbeds.dicomweb` fails in fixed ways; this one sends what a test hands it. The first path
segment names a route, so one server stands for many nodes: `http://127.0.0.1:<port>/<route>/...`.
A route has one answer for every QIDO-RS search (a GET that accepts application/dicom+json) and
one for every WADO-RS retrieve (a GET that accepts multipart/related); a route without one
answers 404. Requests are counted per path (route and path, without the query string).

The generators build hostile bodies at test time without holding what they inflate to; the
instances in them are testbeds.bombs' (`bombs.part10` makes one a part):

    gzip_bomb        a QIDO-RS body, gzip-compressed, of `[{},{},...]` (250 MiB from ~250 KB)
    nested_json      `[[[...]]]`, 200,000 deep
    empty_parts      a multipart/related body of 1,000,000 parts with empty bodies
"""

from __future__ import annotations

import contextlib
import json
import threading
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import urlsplit

from testbeds.bombs import COMPREHENSIVE_SR, Place

BOUNDARY: Final = "hostile-web"
# The instance every route's QIDO-RS answer locates, and another patient's, in another study.
PLACE: Final = Place.make(91)
OTHER_PLACE: Final = Place.make(92)
_CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, sent with its Content-Length."""

    body: bytes
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)
    status: int = 200


@dataclass(frozen=True)
class Route:
    qido: Answer | None = None
    wado: Answer | None = None


@dataclass
class HostileWeb:
    """A running hostile archive."""

    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)  # "route/path" -> requests

    def serve(self, name: str, *, qido: Answer | None = None, wado: Answer | None = None) -> str:
        """Answer requests under `name` with these answers; return the route's URL (a node's url)."""
        self.routes[name] = Route(qido, wado)
        return self.url(name)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def requests_to(self, name: str) -> int:
        return sum(count for path, count in self.hits.items() if path.split("/", 1)[0] == name)


# --- answers --------------------------------------------------------------------------------------


def dicom_json(rows: object, *, gzipped: bool = False) -> Answer:
    """A QIDO-RS answer of `rows` (any JSON), gzip-compressed when asked."""
    body = json.dumps(rows).encode()
    if gzipped:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        body = compressor.compress(body) + compressor.flush()
    return qido_body(body, gzipped=gzipped)


def qido_body(body: bytes, *, gzipped: bool = False) -> Answer:
    """A QIDO-RS answer of raw bytes (already gzip-compressed when `gzipped`)."""
    return Answer(body, "application/dicom+json", {"Content-Encoding": "gzip"} if gzipped else {})


def located(sop_class: str = COMPREHENSIVE_SR, modality: str = "SR") -> Answer:
    """A QIDO-RS answer that places PLACE's instance in its series and study, at any level asked."""
    row = {
        "0020000D": {"vr": "UI", "Value": [PLACE.study]},
        "0020000E": {"vr": "UI", "Value": [PLACE.series]},
        "00080018": {"vr": "UI", "Value": [PLACE.sop]},
        "00080016": {"vr": "UI", "Value": [sop_class]},
        "00080060": {"vr": "CS", "Value": [modality]},
    }
    return dicom_json([row])


def multipart(instances: Iterable[bytes]) -> Answer:
    """A WADO-RS answer: each instance an application/dicom part."""
    head = f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
    body = b"".join(head + instance + b"\r\n" for instance in instances) + f"--{BOUNDARY}--\r\n".encode()
    return multipart_body(body)


def multipart_body(body: bytes) -> Answer:
    return Answer(body, f'multipart/related; type="application/dicom"; boundary={BOUNDARY}')


# --- generators -----------------------------------------------------------------------------------


def gzip_bomb(inflated: int = 250 * 2**20) -> bytes:
    """`[{},{},...]` of about `inflated` bytes, gzip-compressed a chunk at a time (~1000:1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"{}," * (_CHUNK // 3)
    out = [compressor.compress(b"[")]
    for _ in range(max(1, inflated // len(chunk))):
        out.append(compressor.compress(chunk))
    out.append(compressor.compress(b"{}]"))
    out.append(compressor.flush())
    return b"".join(out)


def nested_json(depth: int = 200_000) -> bytes:
    return b"[" * depth + b"]" * depth


def empty_parts(count: int = 1_000_000) -> Answer:
    """A WADO-RS answer of `count` application/dicom parts, each with an empty body."""
    part = f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n\r\n".encode()
    return multipart_body(part * count + f"--{BOUNDARY}--\r\n".encode())


# --- the server -----------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    archive: HostileWeb

    def log_message(self, format: str, *args: Any) -> None:  # the URLs hold UIDs
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path.strip("/")
        self.archive.hits[path] += 1
        route = self.archive.routes.get(path.split("/", 1)[0], Route())
        retrieve = self.headers.get("Accept", "").startswith("multipart/related")
        answer = route.wado if retrieve else route.qido
        self._send(answer or Answer(b"", "text/plain", status=404))

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):  # the service may hang up once it has read enough
            self.wfile.write(answer.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-answer are expected here."""


@contextmanager
def run_hostile_web() -> Iterator[HostileWeb]:
    """Serve on a free loopback port until the block ends."""
    archive = HostileWeb(port=0)
    server = _Server(("127.0.0.1", 0), type("Handler", (_Handler,), {"archive": archive}))
    archive.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="hostile-web", daemon=True)
    thread.start()
    try:
        yield archive
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
