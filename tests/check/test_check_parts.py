"""`dicom-mcp check` on the service's own parts: the session store (a real Redis), the API keys file,
the OAuth JWKS (a file, and a URL served here), the pseudonym key, the nodes file; and DICOMweb
credentials against an archive that checks them."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from testbeds.dicomweb import TOKEN, run_fault_archive
from testbeds.faults import closed_port
from testbeds.pacs import RunningPacs
from testbeds.redis import RedisServer
from tests.check.cli import check_env, run_check, write_nodes
from tests.security.tokens import ISSUER, Issuer, write_api_keys

# Each test runs `dicom-mcp check` as a subprocess.
pytestmark = pytest.mark.service

AUDIENCE = "https://dicom-mcp.hospital.example/mcp"


@contextmanager
def serving(path: Path) -> Iterator[str]:
    """Serve `path`'s bytes at /jwks.json on a loopback port (404 elsewhere); yield the server's root URL."""
    body = path.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/jwks.json"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) if found else 0))
            self.end_headers()
            if found:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def default_pacs(pacs: RunningPacs) -> dict[str, str]:
    return {"DICOM_HOST": pacs.host, "DICOM_PORT": str(pacs.port), "DICOM_CALLED_AE_TITLE": pacs.ae_title}


def test_working_parts_are_counted_and_exit_0(
    orthanc: RunningPacs, redis_db: RedisServer, tmp_path: Path
) -> None:
    keys = write_api_keys(tmp_path / "api-keys", {"alice": "alice-token", "bob": "bob-token"})
    digest = hashlib.sha256(b"carol-token").hexdigest()
    keys.write_text(keys.read_text() + f"carol {digest} dicom:move,dicom:pseudonymised\n")
    secret = tmp_path / "pseudonym.key"
    secret.write_bytes(b"k" * 32)
    jwks = Issuer.create().write_jwks(tmp_path / "jwks.json")
    with serving(jwks) as root:
        env = check_env(
            default_pacs(orthanc),
            session_store=redis_db.url,
            api_keys_file=str(keys),
            oauth_jwks=f"{root}/jwks.json",
            oauth_issuer=ISSUER,
            oauth_audience=AUDIENCE,
            pseudonym_key_file=str(secret),
        )
        checked = run_check(tmp_path, env)
    assert checked.status == 0, checked.out + checked.err
    store = checked.row("session store")
    assert store["WHERE"] == f"redis at 127.0.0.1:{redis_db.port}/0"
    assert store["RESULT"].startswith("PING ") and ", write and read back " in store["RESULT"]
    assert redis_db.client().keys("dicom-mcp:check:*") == []  # what it wrote, it deleted
    assert checked.row("API keys")["RESULT"] == "3 keys (1 may move, 1 pseudonymised)"
    assert checked.row("OAuth JWKS")["RESULT"] == "1 key"
    assert checked.row("pseudonym key")["RESULT"] == "loaded (1 API key with dicom:pseudonymised)"
    assert checked.row("nodes file")["RESULT"] == "not set"
    for secret_text in ("alice-token", "carol-token", digest, "kkkkkkkk"):
        assert secret_text not in checked.out


def test_parts_that_cannot_be_used_fail_with_the_services_own_words(
    orthanc: RunningPacs, tmp_path: Path
) -> None:
    keys = tmp_path / "api-keys"
    keys.write_text("alice not-a-digest\n")
    nodes = tmp_path / "nodes.toml"
    nodes.write_text('[nodes.broken]\nhost = "pacs"\n')
    jwks = Issuer.create().write_jwks(tmp_path / "jwks.json")
    with serving(jwks) as root:
        env = check_env(
            default_pacs(orthanc),
            session_store=f"redis://127.0.0.1:{closed_port()}/0",
            api_keys_file=str(keys),
            oauth_jwks=f"{root}/elsewhere.json",
            oauth_issuer=ISSUER,
            oauth_audience=AUDIENCE,
            nodes_file=str(nodes),
            view="pseudonymised",
        )
        checked = run_check(tmp_path, env, "--json")
    assert checked.status == 1, checked.out + checked.err
    document = checked.document()
    assert [n["name"] for n in document["nodes"]] == ["default"] and document["nodes"][0]["ok"]
    parts = {p["name"]: p["checks"]["result"] for p in document["parts"]}
    assert {name: result["status"] for name, result in parts.items()} == dict.fromkeys(
        ("nodes file", "session store", "API keys", "OAuth JWKS", "pseudonym key"), "failed"
    )
    assert "node 'broken': port: Field required" in parts["nodes file"]["detail"]
    assert parts["session store"]["detail"].startswith("Redis is unreachable (ConnectionError")
    assert parts["API keys"]["detail"] == f"{keys}:1: expected '<principal> <sha256 hex> [permissions]'"
    assert "404" in parts["OAuth JWKS"]["detail"]
    assert (
        parts["pseudonym key"]["detail"] == "DICOM_MCP_VIEW=pseudonymised needs DICOM_MCP_PSEUDONYM_KEY_FILE"
    )


def test_dicomweb_credentials_are_tried_with_and_without(tmp_path: Path) -> None:
    good, bad = tmp_path / "good-token", tmp_path / "bad-token"
    good.write_text(f"{TOKEN}\n")
    bad.write_text("wrong\n")
    with run_fault_archive() as archive:
        nodes = write_nodes(
            tmp_path / "nodes.toml",
            {
                "good": {"protocol": "dicomweb", "url": archive.url("auth"), "token_file": good},
                "bad": {"protocol": "dicomweb", "url": archive.url("auth"), "token_file": bad},
                "none": {"protocol": "dicomweb", "url": archive.url("auth")},
                "gone": {"protocol": "dicomweb", "url": archive.url("auth"), "token_file": tmp_path / "gone"},
            },
        )
        (tmp_path / "gone").write_text("")  # the nodes file wants it there; empty, it cannot be used
        pacs = {"DICOM_HOST": "127.0.0.1", "DICOM_PORT": str(closed_port())}
        checked = run_check(tmp_path, check_env(pacs, nodes_file=str(nodes)))
    assert checked.status == 1
    assert checked.row("good")["CREDENTIALS"] == "accepted"
    assert (checked.row("bad")["QIDO-RS"], checked.row("bad")["CREDENTIALS"]) == ("HTTP 401", "refused (401)")
    assert checked.row("none")["CREDENTIALS"] == "refused (401)"
    assert checked.row("gone")["CREDENTIALS"] == "unreadable"
    problems = checked.problems()
    assert "node 'none' (DICOMweb) asks for credentials (HTTP 401) and the node has none" in problems
    assert "node 'bad' (DICOMweb) refused our credentials (HTTP 401)" in problems
    assert "node 'gone': its token_file is empty" in problems
    assert TOKEN not in checked.out + checked.err
