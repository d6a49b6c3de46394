"""A misbehaving DICOMweb archive: an in-process HTTP server that fails in one chosen way.

Real archives cannot hang, cut a body short or send nonsense on demand; this one can. The first
path segment picks the behaviour, so one server stands for many nodes:
`http://127.0.0.1:<port>/<behaviour>/studies?...`. Every request is recorded (path, raw query,
headers) and every TCP connection counted, so tests can check what was sent and what was reused.

    ok          QIDO-RS: STUDIES, honouring limit and offset; WADO-RS: INSTANCE, as multipart/related
    slow        answers only once `release` is set (or after 30 s)
    trickle     sends the headers, then a body byte every 0.2 s, never finishing in a test's deadline
    auth        401 unless Authorization carries TOKEN (bearer) or USERNAME and PASSWORD (basic); then as ok
    forbidden   403
    error       500
    malformed   200, a body that is not JSON
    notalist    200, JSON that is not an array of datasets
    cut         WADO-RS: a multipart body without its closing delimiter
    dropped     a Content-Length the body never reaches, then the connection closes
    busy        503 with Retry-After: 0 for the first two requests to it, then as ok
    overloaded  429 with Retry-After: 3600
    redirect    302 to another server
    paged       as ok, but at most one result per answer, with the Warning that says more exist
    decoding    as ok, matching PatientID and PatientName (wildcards) on the values percent-decoded
    literal     the same on the values as they came, still encoded (as Debian's Orthanc 1.10 does)
    relay       each request, path and query string as sent, to `upstream` (a real archive), and
                its answer back: the requests a real archive saw, recorded
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian

TOKEN = "s3cret-token"
USERNAME, PASSWORD = "mcp", "pass word"
BOUNDARY = "dicom-mcp-test-boundary"
STUDY_UIDS = (
    "1.2.826.0.1.3680043.8.498.77.1",
    "1.2.826.0.1.3680043.8.498.77.2",
    "1.2.826.0.1.3680043.8.498.77.3",
)
INSTANCE_UID = "1.2.826.0.1.3680043.8.498.77.3.1.1"
STUDIES: list[dict[str, Any]] = [
    {
        "0020000D": {"vr": "UI", "Value": [uid]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": f"DOE^JANE{number}"}]},
        "00100020": {"vr": "LO", "Value": [f"WEB{number}"]},
        "00080020": {"vr": "DA", "Value": ["20240102"]},
        "00201208": {"vr": "IS", "Value": [number]},
    }
    for number, uid in enumerate(STUDY_UIDS, start=1)
]
_MATCHED = {"PatientID": "00100020", "PatientName": "00100010"}  # what decoding and literal match


def instance_bytes() -> bytes:
    """A small CT instance as a Part 10 file."""
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = INSTANCE_UID
    ds.StudyInstanceUID = STUDY_UIDS[0]
    ds.SeriesInstanceUID = STUDY_UIDS[0] + ".1"
    ds.Modality = "CT"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = UID(INSTANCE_UID)
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@dataclass(frozen=True)
class Recorded:
    """One request as the archive saw it."""

    behaviour: str
    path: str  # below the behaviour segment, e.g. "studies"
    query: str  # raw, as sent
    headers: dict[str, str]

    @property
    def params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)


@dataclass
class FaultArchive:
    """A running fault archive."""

    port: int
    requests: list[Recorded] = field(default_factory=list)
    connections: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    upstream: str | None = None  # the DICOMweb root `relay` forwards to
    _counts: dict[str, int] = field(default_factory=dict)

    def url(self, behaviour: str) -> str:
        return f"http://127.0.0.1:{self.port}/{behaviour}"

    def hits(self, behaviour: str) -> list[Recorded]:
        return [r for r in self.requests if r.behaviour == behaviour]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as archives do
    archive: FaultArchive

    def setup(self) -> None:
        super().setup()
        self.archive.connections += 1

    def log_message(self, format: str, *args: Any) -> None:  # the URLs hold query values
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        behaviour, _, rest = parts.path.lstrip("/").partition("/")
        recorded = Recorded(behaviour, rest, parts.query, {k.lower(): v for k, v in self.headers.items()})
        self.archive.requests.append(recorded)
        count = self.archive._counts[behaviour] = self.archive._counts.get(behaviour, 0) + 1
        getattr(self, "_" + behaviour.replace("-", "_"), self._unknown)(recorded, count)

    # --- behaviours -----------------------------------------------------------------------------

    def _ok(
        self, request: Recorded, count: int, page: int | None = None, studies: list[dict[str, Any]] = STUDIES
    ) -> None:
        if request.headers.get("accept", "").startswith("multipart/related"):  # WADO-RS
            self._multipart(closed=True)
            return
        params = dict(request.params)
        offset = int(params.get("offset", 0))
        limit = int(params.get("limit", len(studies)))
        rows = studies[offset : offset + min(limit, page or limit)]
        more = page is not None and offset + len(rows) < len(studies)
        headers = (
            {"Warning": '299 fault-archive: "There are additional results that can be requested"'}
            if more
            else {}
        )
        self._send(200, json.dumps(rows).encode(), "application/dicom+json", headers)

    def _paged(self, request: Recorded, count: int) -> None:
        self._ok(request, count, page=1)

    def _decoding(self, request: Recorded, count: int) -> None:
        self._ok(request, count, studies=_matching(request.params))

    def _literal(self, request: Recorded, count: int) -> None:
        raw = [(key, value) for key, _, value in (pair.partition("=") for pair in request.query.split("&"))]
        self._ok(request, count, studies=_matching(raw))

    def _relay(self, request: Recorded, count: int) -> None:
        assert self.archive.upstream is not None, "relay needs an upstream"
        root = urlsplit(self.archive.upstream)
        upstream = http.client.HTTPConnection(root.hostname or "", root.port or 80, timeout=30)
        try:
            upstream.request(
                "GET",
                f"{root.path}/{request.path}" + (f"?{request.query}" if request.query else ""),
                headers={"Accept": request.headers.get("accept", "*/*")},
            )
            answer = upstream.getresponse()
            body = answer.read()
        finally:
            upstream.close()
        warning = answer.getheader("Warning")
        content_type = answer.getheader("Content-Type", "application/octet-stream")
        self._send(answer.status, body, content_type, {"Warning": warning} if warning else None)

    def _slow(self, request: Recorded, count: int) -> None:
        self.archive.release.wait(30)
        self._ok(request, count)

    def _trickle(self, request: Recorded, count: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/dicom+json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        with contextlib.suppress(OSError):
            while not self.archive.release.is_set():
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)

    def _auth(self, request: Recorded, count: int) -> None:
        expected = {
            f"Bearer {TOKEN}",
            "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode(),
        }
        if request.headers.get("authorization") in expected:
            self._ok(request, count)
        else:
            self._send(401, b"{}", "application/json", {"WWW-Authenticate": "Bearer"})

    def _forbidden(self, request: Recorded, count: int) -> None:
        self._send(403, b"forbidden", "text/plain")

    def _error(self, request: Recorded, count: int) -> None:
        self._send(500, b"internal error: PatientName=DOE^JANE", "text/plain")

    def _malformed(self, request: Recorded, count: int) -> None:
        self._send(200, b'[{"0020000D": {"vr": "UI", "Value": ["1.2', "application/dicom+json")

    def _notalist(self, request: Recorded, count: int) -> None:
        self._send(200, b'{"0020000D": {"vr": "UI"}}', "application/dicom+json")

    def _cut(self, request: Recorded, count: int) -> None:
        self._multipart(closed=False)

    def _dropped(self, request: Recorded, count: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/dicom+json")
        self.send_header("Content-Length", "5000")
        self.end_headers()
        self.wfile.write(json.dumps(STUDIES).encode()[:100])
        self.wfile.flush()
        self.close_connection = True

    def _busy(self, request: Recorded, count: int) -> None:
        if count <= 2:
            self._send(503, b"", "text/plain", {"Retry-After": "0"})
        else:
            self._ok(request, count)

    def _overloaded(self, request: Recorded, count: int) -> None:
        self._send(429, b"", "text/plain", {"Retry-After": "3600"})

    def _redirect(self, request: Recorded, count: int) -> None:
        self._send(302, b"", "text/plain", {"Location": "http://127.0.0.1:9/elsewhere"})

    def _unknown(self, request: Recorded, count: int) -> None:
        self._send(404, b"", "text/plain")

    # --- plumbing -----------------------------------------------------------------------------------

    def _multipart(self, *, closed: bool) -> None:
        body = f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + instance_bytes()
        if closed:
            body += f"\r\n--{BOUNDARY}--\r\n".encode()
        content_type = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
        self._send(200, body, content_type)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)


def _matching(params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The STUDIES whose Patient ID and name match the parameters' patterns (* and ?), as given."""
    patterns = [(_MATCHED[key], value) for key, value in params if key in _MATCHED]
    return [study for study in STUDIES if all(_matches(study[tag], value) for tag, value in patterns)]


def _matches(element: dict[str, Any], pattern: str) -> bool:
    value = element["Value"][0]
    text = value["Alphabetic"] if isinstance(value, dict) else str(value)
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), text) is not None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that reset their connections (deadlines, shutdown tests) are expected here."""


@contextmanager
def run_fault_archive() -> Iterator[FaultArchive]:
    """Serve on a free loopback port until the block ends."""
    archive = FaultArchive(port=0)
    handler = type("Handler", (_Handler,), {"archive": archive})
    server = _Server(("127.0.0.1", 0), handler)
    archive.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="fault-archive", daemon=True)
    thread.start()
    try:
        yield archive
    finally:
        archive.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
