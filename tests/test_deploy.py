"""The Dockerfile, the compose file and the documented commands: checked, and run here.

No Docker engine runs on the test machines, so every command those files run is exercised
directly: the install, the entry point with the container's settings, the HEALTHCHECK, and the
deployment page's `docker run` settings (docs/operators/deployment.md), with requests sent from a
non-loopback address as Docker's bridge sends them. The README's client examples (curl, a desktop
client's stdio config) run as written.
"""

from __future__ import annotations

import hashlib
import inspect
import ipaddress
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import yaml
from mcp import Client, StdioServerParameters

from dicom_mcp.settings import environment_names
from testbeds.clients import call_ok, mcp_client
from testbeds.net import free_port
from testbeds.pacs import Catalog, RunningPacs, run_orthanc
from testbeds.pacs.dataset import JAPANESE_NAME
from testbeds.pacs.orthanc import orthanc_config, orthanc_get
from testbeds.service import REPO, SERVICE_LOGS, RunningService, run_service, service_env, wait_healthy
from testbeds.store import Destination

BIN = Path(sys.executable).parent
COMPOSE = REPO / "deploy" / "docker-compose.yml"
README_URL = "http://127.0.0.1:8000"
# The README first: its first bash block is the run command.
DOCUMENTED = (REPO / "README.md", REPO / "docs" / "operators" / "deployment.md")


def setting_names() -> set[str]:
    return set(environment_names().values())


def dockerfile() -> str:
    return (REPO / "Dockerfile").read_text()


def readme_blocks(language: str) -> list[str]:
    text = "\n".join(page.read_text() for page in DOCUMENTED)
    return [block.strip() for block in re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)]


def readme_commands(start: str) -> list[list[str]]:
    """Every command in the documented bash blocks that starts with `start`, split as bash would."""
    lines = "\n".join(readme_blocks("bash")).replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.strip().startswith(start)]


def flag_values(command: list[str], flag: str) -> list[str]:
    return [value for name, value in itertools.pairwise(command) if name == flag]


def pacs_settings(pacs: RunningPacs) -> dict[str, str]:
    return {"DICOM_HOST": pacs.host, "DICOM_PORT": str(pacs.port), "DICOM_CALLED_AE_TITLE": pacs.ae_title}


def port_of(service: RunningService) -> str:
    return service.base_url.rsplit(":", 1)[1]


# --- The README's curl call ------------------------------------------------------------------


def readme_curl_command() -> list[str]:
    (command,) = readme_commands(f"curl -s {README_URL}/mcp")
    return command


def readme_body(**params: Any) -> dict[str, Any]:
    """The README curl's JSON body, with `params` (such as another tool's name) replaced."""
    (data,) = flag_values(readme_curl_command(), "-d")
    body: dict[str, Any] = json.loads(data)
    body["params"].update(params)
    return body


def readme_curl(
    base_url: str, *, host: str | None = None, token: str | None = None, body: dict[str, Any] | None = None
) -> httpx.Response:
    """Send the README curl's request with httpx: to another address or Host, or with another body."""
    headers = dict(header.split(": ", 1) for header in flag_values(readme_curl_command(), "-H"))
    body = body or readme_body()
    headers["Mcp-Name"] = body["params"]["name"]
    if host:
        headers["Host"] = host
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{base_url}/mcp", content=json.dumps(body), headers=headers, timeout=30)


def run_readme_curl(service: RunningService, drop: str | None = None) -> tuple[int, str]:
    """Run the README's curl command against `service`, without header `drop`; return status and body."""
    command = [part.replace(README_URL, service.base_url) for part in readme_curl_command()]
    if drop:
        (index,) = [i for i, part in enumerate(command) if part.startswith(f"{drop}: ")]
        del command[index - 1 : index + 1]
    out = subprocess.run([*command, "-w", "\n%{http_code}"], capture_output=True, text=True, check=True)
    body, _, status = out.stdout.rpartition("\n")
    return int(status), body


@pytest.fixture(scope="module")
def readme_service(
    tmp_path_factory: pytest.TempPathFactory, orthanc: RunningPacs
) -> Iterator[RunningService]:
    with run_service(tmp_path_factory.mktemp("readme"), service_env(pacs_settings(orthanc))) as service:
        yield service


def test_readme_curl_tool_call_gets_a_json_rpc_result(readme_service: RunningService) -> None:
    status, body = run_readme_curl(readme_service)
    assert status == 200
    answer = json.loads(body)
    assert (answer["jsonrpc"], answer["id"]) == ("2.0", 1)
    assert answer["result"]["structuredContent"]["success"] is True


@pytest.mark.parametrize("header", ["Content-Type", "MCP-Protocol-Version", "Mcp-Method", "Mcp-Name"])
def test_readme_curl_needs_each_of_its_headers(readme_service: RunningService, header: str) -> None:
    assert run_readme_curl(readme_service, drop=header)[0] == 400


def test_readme_curl_needs_the_meta_envelope(readme_service: RunningService) -> None:
    body = readme_body()
    del body["params"]["_meta"]
    assert readme_curl(readme_service.base_url, body=body).status_code == 400


# --- The README's desktop (stdio) config -------------------------------------------------------


@pytest.mark.anyio
async def test_readme_desktop_config_takes_its_settings_from_the_env_block(
    tmp_path: Path, orthanc: RunningPacs
) -> None:
    (config,) = [json.loads(block) for block in readme_blocks("json") if "mcpServers" in block]
    (server,) = config["mcpServers"].values()
    assert server["command"] == "dicom-mcp"  # on the client's PATH; here, this venv's
    assert set(server["env"]) == set(pacs_settings(orthanc))
    (tmp_path / ".env").write_text("DICOM_PORT=1\n")  # the env block wins over a stray .env
    params = StdioServerParameters(
        command=str(BIN / server["command"]),
        args=server["args"],
        env=server["env"] | pacs_settings(orthanc),
        cwd=tmp_path,
    )
    async with Client(params) as client:
        assert (await call_ok(client, "verify_connection"))["success"] is True


# --- Dockerfile ----------------------------------------------------------------------------------


def healthcheck_command() -> list[str]:
    match = re.search(r"HEALTHCHECK [^\n]*\\\n\s+CMD (\[[^\n]*\])\n", dockerfile())
    assert match, "the Dockerfile has no exec-form HEALTHCHECK"
    return list(json.loads(match.group(1)))


def container_command() -> list[str]:
    """The image's ENTRYPOINT followed by its CMD."""
    entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile(), flags=re.MULTILINE)
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile(), flags=re.MULTILINE)
    assert entrypoint and cmd
    command = [*json.loads(entrypoint.group(1)), *json.loads(cmd.group(1))]
    return [str(BIN / command[0]), *command[1:]]


@contextmanager
def run_container(workdir: Path, env: Mapping[str, str]) -> Iterator[RunningService]:
    """Run the image's command with its ENV (all interfaces) on a free port; expect a clean exit."""
    port = free_port()
    log_path = workdir / f"container-{port}.log"
    SERVICE_LOGS.append(log_path)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            container_command(),
            env={**env, "DICOM_MCP_HOST": "0.0.0.0", "DICOM_MCP_PORT": str(port)},
            stdout=log,
            stderr=log,
        )
    service = RunningService(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_healthy(service)
        yield service
    finally:
        code = service.stop()
    assert code == 0


def bridge_address() -> str:
    """A non-loopback address of this machine: a client connecting to it is not a loopback client."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("192.0.2.1", 9))  # sends nothing; the kernel only picks the outgoing address
        address = str(sock.getsockname()[0])
    assert not ipaddress.ip_address(address).is_loopback, "these tests need a non-loopback address"
    return address


def test_dockerfile_is_hadolint_clean() -> None:
    result = subprocess.run([str(BIN / "hadolint"), str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_and_binds_all_interfaces() -> None:
    text = dockerfile()
    assert re.search(r"^USER 10001$", text, flags=re.MULTILINE)
    assert "DICOM_MCP_HOST=0.0.0.0" in text
    assert 'ENTRYPOINT ["dicom-mcp"]' in text


def test_healthcheck_follows_the_port_setting_and_fails_when_nothing_listens(tmp_path: Path) -> None:
    command = [sys.executable, *healthcheck_command()[1:]]
    with run_service(tmp_path, service_env()) as service:
        assert port_of(service) != "8000"
        env = service_env() | {"DICOM_MCP_PORT": port_of(service)}
        assert subprocess.run(command, env=env, timeout=10).returncode == 0
    env["DICOM_MCP_PORT"] = str(free_port())
    assert subprocess.run(command, env=env, capture_output=True, timeout=10).returncode != 0


def test_container_settings_bind_all_interfaces_and_check_host_names(tmp_path: Path) -> None:
    with run_container(tmp_path, service_env(allowed_hosts="dicom-mcp")) as service:
        init = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        headers = {"Accept": "application/json, text/event-stream", "Host": "dicom-mcp:8000"}
        assert httpx.post(service.mcp_url, json=init, headers=headers).status_code != 421
        headers["Host"] = "attacker.example"
        assert httpx.post(service.mcp_url, json=init, headers=headers).status_code == 421


def test_plain_docker_run_refuses_clients_from_the_bridge(tmp_path: Path, orthanc: RunningPacs) -> None:
    with run_container(tmp_path, service_env(pacs_settings(orthanc))) as service:
        from_bridge = f"http://{bridge_address()}:{port_of(service)}"
        assert readme_curl(from_bridge, host="127.0.0.1:8000").status_code == 403
        assert readme_curl(service.base_url).status_code == 200


def test_readme_docker_run_forms_serve_clients_from_the_bridge(tmp_path: Path, orthanc: RunningPacs) -> None:
    forms = readme_commands("docker run")
    assert len(forms) == 2
    token = "readme-token"
    for form in forms:
        settings = dict(value.split("=", 1) for value in flag_values(form, "-e")) | pacs_settings(orthanc)
        (published,) = flag_values(form, "-p")
        assert published.split(":")[-1] == "8000"  # the container port: the image's DICOM_MCP_PORT
        if "DICOM_MCP_API_KEYS_FILE" in settings:
            settings["DICOM_MCP_API_KEYS_FILE"] = str(tmp_path / "api-keys")
            (tmp_path / "api-keys").write_text(f"alice {hashlib.sha256(token.encode()).hexdigest()}\n")
        # The name clients use: loopback when published on loopback, else the allowed host.
        host = "127.0.0.1" if published.startswith("127.0.0.1:") else settings["DICOM_MCP_ALLOWED_HOSTS"]
        with run_container(tmp_path, service_env() | settings) as service:
            from_bridge = f"http://{bridge_address()}:{port_of(service)}"
            answer = readme_curl(from_bridge, host=f"{host}:8000", token=token)
            assert answer.status_code == 200, answer.text
            assert answer.json()["result"]["structuredContent"]["success"] is True
            if "DICOM_MCP_API_KEYS_FILE" in settings:
                assert readme_curl(from_bridge, host=f"{host}:8000").status_code == 401


# --- Compose -------------------------------------------------------------------------------------


def compose_services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def compose_orthanc_config() -> dict[str, Any]:
    """The compose file's ORTHANC__* variables as the orthancteam image reads them: config keys,
    with JSON objects (such as DicomModalities) parsed."""
    config = {}
    for name, value in compose_services()["orthanc"]["environment"].items():
        key = "".join(word.capitalize() for word in name.removeprefix("ORTHANC__").split("_"))
        config[key] = (
            json.loads(value) if value.startswith("{") else {"true": True, "false": False}.get(value, value)
        )
    return config


def compose_receiver() -> Destination:
    """The one move destination the compose file registers at Orthanc: dicom-mcp's receiver."""
    (entry,) = compose_orthanc_config()["DicomModalities"].values()
    return Destination(*entry)


def test_compose_file_is_valid_and_uses_real_settings() -> None:
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    service = compose_services()["dicom-mcp"]
    assert set(service["environment"]) <= setting_names()
    assert service["environment"]["DICOM_MCP_PORT"] == "8000"
    assert service["environment"]["DICOM_PORT"] == "4242"


def test_compose_publishes_every_port_on_loopback_only() -> None:
    ports = {name: service.get("ports", []) for name, service in compose_services().items()}
    assert ports == {
        "dicom-mcp": ["127.0.0.1:8000:8000"],
        "orthanc": ["127.0.0.1:4242:4242", "127.0.0.1:8042:8042"],
        "sample-data": [],
    }


def test_compose_orthanc_answers_in_utf8_like_the_test_bed_orthanc() -> None:
    config = compose_orthanc_config()
    assert config["DefaultEncoding"] == "Utf8"
    encoding = inspect.signature(run_orthanc).parameters["default_encoding"].default
    test_bed = orthanc_config(Path("/unused"), 4242, 8042, encoding, [compose_receiver()])
    # Modalities are keyed by a name of one's choosing; what Orthanc sends to is the value.
    assert [*config.pop("DicomModalities").values()] == [*test_bed["DicomModalities"].values()]
    assert {key: test_bed.get(key) for key in config} == config


def test_compose_registers_the_receiver_at_orthanc_on_the_compose_network() -> None:
    services = compose_services()
    env = services["dicom-mcp"]["environment"]
    assert set(env) <= setting_names()
    # Orthanc sends C-MOVE results to dicom-mcp's AE title, at its compose host name and receiver port.
    assert compose_receiver() == Destination(
        env["DICOM_AE_TITLE"], "dicom-mcp", int(env["DICOM_MCP_RECEIVER_PORT"])
    )
    assert compose_receiver().host in services
    # It listens on the container's every interface, and accepts Orthanc: the default PACS.
    assert env.get("DICOM_MCP_RECEIVER_HOST", env["DICOM_MCP_HOST"]) == "0.0.0.0"
    assert env["DICOM_HOST"] == "orthanc" in services
    # Orthanc reaches it inside the compose network: it is not published on the host (the ports
    # test above lists every published port).
    assert not any(port.endswith(f":{compose_receiver().port}") for port in services["dicom-mcp"]["ports"])


def test_compose_settings_read_an_orthanc_without_c_get_through_the_receiver(
    tmp_path: Path, pacs_catalog: Catalog
) -> None:
    env = compose_services()["dicom-mcp"]["environment"]
    seed, instance = pacs_catalog.files()[0], pacs_catalog.instances[0]
    (tmp_path / "seed").mkdir()
    shutil.copy(seed, tmp_path / "seed")
    port = free_port()  # the compose port may be taken here; the pairing is what is checked
    receiver = Destination(compose_receiver().ae_title, "127.0.0.1", port)
    with run_orthanc(
        tmp_path / "orthanc", tmp_path / "seed", move_destinations=[receiver], disable_get=True
    ) as pacs:
        settings = {"DICOM_AE_TITLE": env["DICOM_AE_TITLE"], "DICOM_MCP_RECEIVER_PORT": str(port)}
        with run_service(tmp_path, service_env(pacs_settings(pacs) | settings)) as service:
            call = readme_body(name="get_instance_metadata", arguments={"sop_instance_uid": instance.sop_uid})
            answer = readme_curl(service.base_url, body=call).json()
    assert "error" not in answer, answer
    assert answer["result"].get("isError") is not True, answer["result"]
    assert answer["result"]["structuredContent"]["sop_instance_uid"] == instance.sop_uid


def test_readme_loading_commands_store_into_orthanc_and_names_come_back_whole(
    tmp_path: Path, pacs_catalog: Catalog
) -> None:
    studies = {study.study_uid for study in pacs_catalog.studies_for_patient("PAT005")}
    series = {s.series_uid for s in pacs_catalog.series if s.study_uid in studies}
    files = [
        path
        for path, i in zip(pacs_catalog.files(), pacs_catalog.instances, strict=True)
        if i.series_uid in series
    ]
    seed, by_curl, by_storescu = files[:3]
    (tmp_path / "seed").mkdir()
    shutil.copy(seed, tmp_path / "seed")
    (curl,) = readme_commands("curl -X POST")
    (storescu,) = readme_commands("storescu")
    encoding = compose_orthanc_config()["DefaultEncoding"]
    with run_orthanc(tmp_path / "orthanc", tmp_path / "seed", default_encoding=encoding) as pacs:
        assert pacs.http_url
        curl = [part.replace("http://127.0.0.1:8042", pacs.http_url) for part in curl]
        subprocess.run([*curl[:-1], f"@{by_curl}", "-sf", "-o", "/dev/null"], check=True, timeout=30)
        storescu = [str(pacs.port) if part == "4242" else part for part in storescu]
        subprocess.run([*storescu[:-1], str(by_storescu)], check=True, timeout=30, capture_output=True)
        assert orthanc_get(pacs, "/statistics")["CountInstances"] == 3
        with run_service(tmp_path, service_env(pacs_settings(pacs))) as service:
            query = readme_body(name="query_patients", arguments={"patient_id": "PAT005"})
            answer = readme_curl(service.base_url, body=query).json()
    assert answer["result"]["structuredContent"]["matches"][0]["PatientName"] == JAPANESE_NAME


# --- The README's run command ----------------------------------------------------------------------


@pytest.mark.timeout(600)
def test_readme_run_command_installs_and_serves_from_a_clean_copy(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name in tracked.split():
        if (REPO / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy / name)
    env = service_env()
    env["DICOM_MCP_PORT"] = str(free_port())  # the command as written; only the port moves aside
    log_path = tmp_path / "readme-run.log"
    SERVICE_LOGS.append(log_path)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["bash", "-c", readme_blocks("bash")[0]],
            cwd=copy,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    service = RunningService(f"http://127.0.0.1:{env['DICOM_MCP_PORT']}", process, log_path)
    try:
        wait_healthy(service, timeout=500)
        assert httpx.get(f"{service.base_url}/readyz").status_code == 200
        patients = anyio.run(first_patients, service.mcp_url)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    # The first command runs on the built-in sample PACS: a first call answers with sample data.
    assert patients and all(str(name).startswith("DEMO^") for name in patients)


async def first_patients(url: str) -> list[object]:
    async with mcp_client(url, "modern") as client:
        found = await call_ok(client, "query_patients")
    return [match["PatientName"] for match in found["matches"]]  # type: ignore[attr-defined, index]


def test_compose_loads_the_sample_data_before_dicom_mcp_starts() -> None:
    services = compose_services()
    loader, service = services["sample-data"], services["dicom-mcp"]
    assert loader["build"] == service["build"]  # the same image
    assert "entrypoint" not in service  # the image's: the service
    command = [*loader["entrypoint"], *loader["command"]]
    assert command[:3] == ["python", "-m", "dicom_mcp.demo.load"]
    assert flag_values(command, "--host") == [service["environment"]["DICOM_HOST"]]
    assert flag_values(command, "--port") == [service["environment"]["DICOM_PORT"]]
    assert flag_values(command, "--called-ae") == [service["environment"]["DICOM_CALLED_AE_TITLE"]]
    assert float(flag_values(command, "--wait")[0]) >= 60  # Orthanc's first start, on a slow machine
    assert loader["restart"] == "no"
    assert loader["depends_on"] == {"orthanc": {"condition": "service_started"}}
    assert service["depends_on"]["sample-data"] == {"condition": "service_completed_successfully"}
    # The command as compose runs it, towards a port where nothing listens: its flags parse, it fails in one line.
    port = str(free_port())
    run = [sys.executable, *command[1:]]
    for flag, value in (("--host", "127.0.0.1"), ("--port", port), ("--wait", "0")):
        run[run.index(flag) + 1] = value
    result = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"python -m dicom_mcp.demo.load: could not open a TCP connection to ORTHANC@127.0.0.1:{port}"
    ]
