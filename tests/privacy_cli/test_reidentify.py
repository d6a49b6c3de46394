"""`dicom-mcp reidentify`: staff resolve a caller's tokens from the shared map, and it is audited.

The command runs as a subprocess, as staff would run it, against a real redis-server holding a
map written by RedisTokenMap under tokens made with the same key file.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from dicom_mcp.privacy.keys import load_keys
from dicom_mcp.state.pseudonyms import Original, RedisTokenMap
from testbeds.net import free_port
from testbeds.redis import RedisServer
from testbeds.service import service_env

PATIENT_ID = "PID-ÄRGER-1"
ORIGINALS = {
    "uid": Original("1.2.826.0.1.3680043.8.498.4242", PATIENT_ID),
    "patient_id": Original(PATIENT_ID, PATIENT_ID),
    "accession": Original("ACC-77-SECRET", PATIENT_ID),
    "study_id": Original("STUDY-9", PATIENT_ID),
}


@dataclass
class Site:
    """Where staff run the command: the key file, the audit log, and the settings naming them."""

    key_file: Path
    audit_log: Path
    settings: dict[str, str]

    def token(self, principal: str, kind: str) -> str:
        return load_keys(self.key_file).for_principal(principal).token(kind, ORIGINALS[kind].value)

    def audit_records(self) -> list[dict[str, Any]]:
        if not self.audit_log.exists():
            return []
        return [json.loads(line) for line in self.audit_log.read_text(encoding="utf-8").splitlines()]


def reidentify(cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dicom_mcp", "reidentify", *args],
        env=service_env(**settings),
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


@pytest.fixture
def site(tmp_path: Path) -> Site:
    key_file = tmp_path / "pseudonym.key"
    key_file.write_bytes(os.urandom(32).hex().encode() + b"\n")
    audit_log = tmp_path / "audit" / "audit.jsonl"
    settings = {"pseudonym_key_file": str(key_file), "audit_log": str(audit_log)}
    return Site(key_file, audit_log, settings)


@pytest.fixture
def shared(site: Site, redis_db: RedisServer) -> Iterator[Site]:
    """The site with the service's map in Redis: every kind of alice's tokens remembered."""

    async def remember() -> None:
        token_map = RedisTokenMap(redis_db.url, ttl=60)
        try:
            await token_map.remember(
                "alice", {(kind, site.token("alice", kind)): original for kind, original in ORIGINALS.items()}
            )
        finally:
            await token_map.aclose()

    anyio.run(remember)
    site.settings["session_store"] = redis_db.url
    yield site


def test_each_token_prints_its_kind_and_original_and_the_disclosure_is_audited(
    shared: Site, tmp_path: Path
) -> None:
    tokens = {kind: shared.token("alice", kind) for kind in ORIGINALS}
    done = reidentify(tmp_path, "--principal", "alice", *tokens.values(), **shared.settings)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        f"{tokens[kind]}\t{kind}\t{original.value}" for kind, original in ORIGINALS.items()
    ]
    [record] = shared.audit_records()
    assert record["event"] == "reidentify"
    assert record["event_id"]["system"] == "DCM"
    assert record["principal"] == "alice"
    assert record["operator"] == getpass.getuser()
    assert record["tokens"] == [
        {"token": tokens[kind], "kind": kind, "outcome": "found", "original": original.value}
        for kind, original in ORIGINALS.items()
    ]


def test_an_unknown_token_is_said_so_and_exits_1(shared: Site, tmp_path: Path) -> None:
    known = shared.token("alice", "patient_id")
    never_minted = "P-AAAAAAAAAAAA"
    not_a_token = "DOE^JOHN"
    done = reidentify(tmp_path, "--principal", "alice", never_minted, known, not_a_token, **shared.settings)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{never_minted}\tunknown",
        f"{known}\tpatient_id\t{PATIENT_ID}",
        f"{not_a_token}\tunknown",
    ]
    [record] = shared.audit_records()
    assert [t["outcome"] for t in record["tokens"]] == ["unknown", "found", "unknown"]


def test_another_principals_tokens_are_unknown(shared: Site, tmp_path: Path) -> None:
    token = shared.token("alice", "accession")
    done = reidentify(tmp_path, "--principal", "bob", token, **shared.settings)
    assert (done.returncode, done.stdout) == (1, f"{token}\tunknown\n")
    [record] = shared.audit_records()
    assert record["principal"] == "bob"


def test_an_entry_the_key_does_not_make_is_not_disclosed(
    shared: Site, redis_db: RedisServer, tmp_path: Path
) -> None:
    planted = shared.token("alice", "study_id")  # alice's real token, pointed at someone else

    async def plant() -> None:
        token_map = RedisTokenMap(redis_db.url, ttl=60)
        try:
            await token_map.remember("alice", {("study_id", planted): Original("OTHER-PATIENT", None)})
        finally:
            await token_map.aclose()

    anyio.run(plant)
    done = reidentify(tmp_path, "--principal", "alice", planted, **shared.settings)
    assert (done.returncode, done.stdout) == (1, f"{planted}\tunknown\n")
    assert "OTHER-PATIENT" not in done.stdout + done.stderr
    [record] = shared.audit_records()
    assert record["tokens"] == [
        {"token": planted, "kind": "study_id", "outcome": "mismatch", "original": None}
    ]


# --- the command cannot run: status 2, one line on stderr, nothing on stdout ----------------------


def cannot_run(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1
    return done.stderr


def test_a_memory_store_says_the_map_lives_in_the_service(site: Site, tmp_path: Path) -> None:
    done = reidentify(tmp_path, "--principal", "alice", "P-AAAAAAAAAAAA", **site.settings)
    message = cannot_run(done)
    assert message.startswith("dicom-mcp reidentify: the token map lives in the running service's memory")
    assert "DICOM_MCP_SESSION_STORE=redis://" in message
    assert site.audit_records() == []


@pytest.mark.parametrize(
    ("key_file", "message"),
    [
        ("", "DICOM_MCP_PSEUDONYM_KEY_FILE is not set"),
        ("missing.key", "DICOM_MCP_PSEUDONYM_KEY_FILE cannot be read"),
        ("short.key", "at least 32 bytes"),
    ],
)
def test_an_unusable_key_file_is_refused(
    site: Site, redis_db: RedisServer, tmp_path: Path, key_file: str, message: str
) -> None:
    (tmp_path / "short.key").write_bytes(b"too short\n")
    settings = {
        **site.settings,
        "session_store": redis_db.url,
        "pseudonym_key_file": str(tmp_path / key_file) if key_file else "",
    }
    done = reidentify(tmp_path, "--principal", "alice", "P-AAAAAAAAAAAA", **settings)
    assert message in cannot_run(done)
    assert site.audit_records() == []


def test_without_an_audit_log_nothing_is_disclosed(shared: Site, tmp_path: Path) -> None:
    token = shared.token("alice", "patient_id")
    done = reidentify(tmp_path, "--principal", "alice", token, **{**shared.settings, "audit_log": ""})
    assert "DICOM_MCP_AUDIT_LOG is not set" in cannot_run(done)


def test_an_unreachable_redis_is_status_2(site: Site, tmp_path: Path) -> None:
    settings = {**site.settings, "session_store": f"redis://127.0.0.1:{free_port()}/0"}
    done = reidentify(tmp_path, "--principal", "alice", "P-AAAAAAAAAAAA", **settings)
    assert "the token map cannot be read: Redis is unreachable" in cannot_run(done)
    assert site.audit_records() == []


def test_invalid_settings_are_status_2(site: Site, tmp_path: Path) -> None:
    done = reidentify(tmp_path, "--principal", "alice", "P-AAAAAAAAAAAA", **site.settings, view="sideways")
    assert "invalid settings: view" in cannot_run(done)


def test_a_missing_principal_is_a_usage_error(site: Site, tmp_path: Path) -> None:
    done = reidentify(tmp_path, "P-AAAAAAAAAAAA", **site.settings)
    assert done.returncode == 2
    assert "--principal" in done.stderr
