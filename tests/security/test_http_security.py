"""The hostile-input table, against the real service over HTTP with API keys, OAuth and an audit log.

Every case must return its clear error, create nothing, and leave the service answering.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from testbeds.clients import call_error, call_ok, mcp_client
from testbeds.pacs import RunningPacs
from testbeds.service import RunningService, run_service, service_env
from tests.security.tokens import Issuer, write_api_keys

pytestmark = pytest.mark.anyio

PUBLIC_URL = "https://dicom-mcp.hospital.example"
AUDIENCE = f"{PUBLIC_URL}/mcp"
ALICE, BOB = "alice-secret-token-0123456789", "bob-secret-token-9876543210"
SESSION_CAP = 5
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


@dataclass
class Secured:
    service: RunningService
    issuer: Issuer
    audit_path: Path

    def audit(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit_path.read_text().splitlines()]


@pytest.fixture(scope="module")
def secured(
    orthanc: RunningPacs, dcmqrscp: RunningPacs, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Secured]:
    workdir = tmp_path_factory.mktemp("secured")
    issuer = Issuer.create()
    env = service_env(
        {
            "DICOM_HOST": orthanc.host,
            "DICOM_PORT": str(orthanc.port),
            "DICOM_CALLED_AE_TITLE": orthanc.ae_title,
        },
        allowed_targets=f"127.0.0.1:{dcmqrscp.port}",
        api_keys_file=str(write_api_keys(workdir / "keys", {"alice": ALICE, "bob": BOB})),
        oauth_jwks=str(issuer.write_jwks(workdir / "jwks.json")),
        oauth_issuer=issuer.issuer,
        oauth_audience=AUDIENCE,
        public_url=PUBLIC_URL,
        audit_log=str(workdir / "audit.jsonl"),
        max_sessions_per_principal=str(SESSION_CAP),
        log_level="DEBUG",
    )
    with run_service(workdir, env) as service:
        yield Secured(service, issuer, workdir / "audit.jsonl")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post(secured: Secured, token: str | None, body: Any = PING, **headers: str) -> httpx.Response:
    all_headers = {**HEADERS, **(bearer(token) if token else {}), **headers}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(secured.service.mcp_url, content=content, headers=all_headers, timeout=10)


async def still_answers(secured: Secured) -> None:
    async with mcp_client(secured.service.mcp_url, "modern", bearer(ALICE)) as client:
        result = await call_ok(client, "query_patients", patient_id="PAT002")
    assert result["count"] == 1


# --- authentication ---------------------------------------------------------------------


def test_no_token_is_401_with_resource_metadata(secured: Secured) -> None:
    response = post(secured, None)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{PUBLIC_URL}/.well-known/oauth-protected-resource/mcp"' in challenge


def test_protected_resource_metadata_is_served(secured: Secured) -> None:
    document = httpx.get(f"{secured.service.base_url}/.well-known/oauth-protected-resource/mcp").json()
    assert document["resource"] == AUDIENCE
    assert document["authorization_servers"] == [secured.issuer.issuer]
    assert document["scopes_supported"] == ["dicom:read", "dicom:move"]


def test_health_endpoints_stay_open(secured: Secured) -> None:
    assert httpx.get(f"{secured.service.base_url}/healthz").status_code == 200
    assert httpx.get(f"{secured.service.base_url}/readyz").status_code == 200


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("unknown api key", 401),
        ("expired jwt", 401),
        ("foreign audience", 401),
        ("foreign issuer", 401),
        ("forged signature", 401),
        ("not a jwt at all", 401),
        ("missing scope", 403),
    ],
)
def test_bad_tokens_are_refused(secured: Secured, case: str, status: int) -> None:
    issuer = secured.issuer
    tokens = {
        "unknown api key": "mallory-guess-0000000000",
        "expired jwt": issuer.token("carol", AUDIENCE, lifetime=-60),
        "foreign audience": issuer.token("carol", "https://other-service.example/mcp"),
        "foreign issuer": issuer.token("carol", AUDIENCE, iss="https://evil.example"),
        "forged signature": issuer.token(
            "carol", AUDIENCE, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ),
        "not a jwt at all": "e30.e30.e30",
        "missing scope": issuer.token("carol", AUDIENCE, scope="profile"),
    }
    response = post(secured, tokens[case])
    assert response.status_code == status
    assert "www-authenticate" in response.headers
    assert tokens[case] not in secured.service.log()


async def test_api_key_and_jwt_both_work(secured: Secured) -> None:
    good_jwt = secured.issuer.token("carol", AUDIENCE)
    for token in (ALICE, good_jwt):
        async with mcp_client(secured.service.mcp_url, "legacy", bearer(token)) as client:
            assert (await call_ok(client, "query_patients", name_pattern="SMITH*"))["count"] == 2
    assert ALICE not in secured.service.log()
    assert good_jwt not in secured.service.log()


# --- sessions belong to principals --------------------------------------------------------


async def test_another_principals_handle_is_answered_like_an_unknown_one(
    secured: Secured, dcmqrscp: RunningPacs
) -> None:
    async with mcp_client(secured.service.mcp_url, "modern", bearer(ALICE)) as alice:
        handle = (
            await call_ok(
                alice, "configure_dicom_server", host="127.0.0.1", port=dcmqrscp.port, ae_title="DCMQRSCP"
            )
        )["session"]
    async with mcp_client(secured.service.mcp_url, "modern", bearer(BOB)) as bob:
        foreign = await call_error(bob, "verify_connection", session=handle)
        unknown = await call_error(bob, "verify_connection", session="x" * len(handle))
    assert foreign == unknown
    assert "unknown or expired session handle" in foreign


async def test_session_flood_is_capped_per_principal(secured: Secured) -> None:
    jwt_token = secured.issuer.token("flooder", AUDIENCE)
    async with mcp_client(secured.service.mcp_url, "modern", bearer(jwt_token)) as client:
        for _ in range(SESSION_CAP):
            await call_ok(client, "configure_dicom_server", node="default")
        message = await call_error(client, "configure_dicom_server", node="default")
    assert "too many sessions" in message
    await still_answers(secured)


# --- malformed and hostile requests --------------------------------------------------------


def test_malformed_json_rpc_is_a_client_error(secured: Secured) -> None:
    for body in (b"{not json", b'{"jsonrpc": "2.0"}', b"[]"):
        assert 400 <= post(secured, ALICE, body).status_code < 500


def test_foreign_origin_and_host_are_refused(secured: Secured) -> None:
    assert post(secured, ALICE, Origin="https://evil.example").status_code == 403
    assert post(secured, ALICE, Host="evil.example").status_code == 421


def test_oversized_body_is_refused(secured: Secured) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x" * 2_000_000}}
    assert post(secured, ALICE, body).status_code == 413


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("query_patients", {"name_pattern": "A" * 10_000}, "name_pattern"),
        ("query_patients", {"patient_id": "P" * 10_000}, "patient_id"),
        ("query_patients", {"additional_attributes": ["PatientNameX"]}, "not a DICOM attribute keyword"),
        ("query_patients", {"attribute_preset": "everything"}, "minimal, standard, extended"),
        ("query_studies", {"study_date": "20230229"}, "not a real calendar date"),
        ("query_studies", {"study_date": "20231301-20231231"}, "not a real calendar date"),
        ("query_series", {"study_instance_uid": "1.2.3?4"}, "must be a DICOM UID"),
        ("query_instances", {"series_instance_uid": "1.2.0%"}, "must be a DICOM UID"),
        ("query_patients", {"name_pattern": "SMITH\\JONES"}, "backslash"),
        ("query_patients", {"patient_id": "PAT\x00001"}, "control characters"),
        ("query_patients", {"name_pattern": "SMITH\r\n*"}, "control characters"),
        (
            "configure_dicom_server",
            {"host": "127.0.0.1", "port": 65536},
            "port must be an integer from 1 to 65535",
        ),
        (
            "configure_dicom_server",
            {"host": "127.0.0.1", "port": -4},
            "port must be an integer from 1 to 65535",
        ),
    ],
)
async def test_hostile_values_are_clear_errors(
    secured: Secured, tool: str, arguments: dict[str, Any], message: str
) -> None:
    async with mcp_client(secured.service.mcp_url, "modern", bearer(ALICE)) as client:
        assert message in await call_error(client, tool, **arguments)
    await still_answers(secured)


async def test_target_outside_the_allowlist_opens_no_socket(secured: Secured) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        async with mcp_client(secured.service.mcp_url, "modern", bearer(ALICE)) as client:
            message = await call_error(
                client, "configure_dicom_server", host="127.0.0.1", port=port, ae_title="X"
            )
            assert "not an allowed DICOM target" in message
        with pytest.raises(BlockingIOError):
            listener.accept()


@pytest.mark.parametrize(
    ("pattern", "patient_id"), [("Müller^Jürgen", "PAT004"), ("Yamada*", "PAT005"), ("Иванова*", "PAT006")]
)
async def test_non_ascii_names_still_match(secured: Secured, pattern: str, patient_id: str) -> None:
    async with mcp_client(secured.service.mcp_url, "legacy", bearer(BOB)) as client:
        result = await call_ok(client, "query_patients", name_pattern=pattern)
    assert {m["PatientID"] for m in result["matches"]} == {patient_id}


# --- the audit trail -----------------------------------------------------------------------


async def test_audit_holds_one_record_per_call_with_the_query_values(secured: Secured) -> None:
    before = len(secured.audit())
    async with mcp_client(secured.service.mcp_url, "modern", bearer(BOB)) as client:
        started = time.monotonic()
        await call_ok(client, "query_patients", name_pattern="JONES*")
        waited_ms = (time.monotonic() - started) * 1000
        await call_error(client, "query_studies", study_date="20230230")
    records = secured.audit()[before:]
    assert [(r["tool"], r["outcome"]) for r in records] == [
        ("query_patients", "success"),
        ("query_studies", "error"),
    ]
    first = records[0]
    assert first["event_id"]["meaning"] == "Query"
    assert (first["principal"], first["keys"], first["matches"], first["level"]) == (
        "bob",
        {"PatientName": "JONES*"},
        1,
        "patient",
    )
    assert first["called_ae_title"] == "ORTHANC" and first["calling_ae_title"] == "MCPSCU"
    assert 0 < first["duration_ms"] <= waited_ms  # the service's own time, within the client's


def test_refused_access_is_audited(secured: Secured) -> None:
    before = len(secured.audit())
    post(secured, "mallory-guess-0000000000")
    refusals = [r for r in secured.audit()[before:] if r["event"] == "refused"]
    assert refusals and refusals[0]["status"] == 401
    assert refusals[0]["event_id"]["meaning"] == "Security Alert"


# --- rate limiting (its own service: a tiny limit) ------------------------------------------


def test_bursts_beyond_the_rate_limit_get_429_with_retry_after(tmp_path: Path) -> None:
    keys = write_api_keys(tmp_path / "keys", {"alice": ALICE, "bob": BOB})
    env = service_env({"DICOM_PORT": "1"}, api_keys_file=str(keys), rate_limit_per_minute="10")
    with run_service(tmp_path, env) as service:
        url = service.mcp_url
        statuses = [
            httpx.post(url, json=PING, headers={**HEADERS, **bearer(ALICE)}).status_code for _ in range(15)
        ]
        limited = httpx.post(url, json=PING, headers={**HEADERS, **bearer(ALICE)})
        other = httpx.post(url, json=PING, headers={**HEADERS, **bearer(BOB)})
        health = httpx.get(f"{service.base_url}/healthz")
    assert statuses.count(429) == 5 and 429 not in statuses[:10]
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert other.status_code != 429  # limits are per principal
    assert health.status_code == 200


def test_without_auth_only_loopback_is_served(tmp_path: Path) -> None:
    env = service_env({"DICOM_PORT": "1"})
    with run_service(tmp_path, env) as service:
        assert "NO AUTHENTICATION configured: serving loopback clients only" in service.log()
