"""The Dockerfile, the compose file and the README's run command: checked, and their commands run here.

No Docker engine runs on the test machines, so every command those files run is exercised
directly: the install, the entry point with the container's settings, and the HEALTHCHECK.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from dicom_mcp.settings import environment_names
from tests.service import (
    REPO,
    SERVICE_LOGS,
    RunningService,
    free_port,
    run_service,
    service_env,
    wait_healthy,
)

BIN = Path(sys.executable).parent


def setting_names() -> set[str]:
    return set(environment_names().values())


def dockerfile() -> str:
    return (REPO / "Dockerfile").read_text()


def healthcheck_command() -> list[str]:
    match = re.search(r"HEALTHCHECK [^\n]*\\\n\s+CMD (\[[^\n]*\])\n", dockerfile())
    assert match, "the Dockerfile has no exec-form HEALTHCHECK"
    return list(json.loads(match.group(1)))


def test_dockerfile_is_hadolint_clean() -> None:
    result = subprocess.run([str(BIN / "hadolint"), str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_and_binds_all_interfaces() -> None:
    text = dockerfile()
    assert re.search(r"^USER 10001$", text, flags=re.MULTILINE)
    assert "DICOM_MCP_HOST=0.0.0.0" in text
    assert 'ENTRYPOINT ["dicom-mcp"]' in text


def test_compose_file_is_valid_and_uses_real_settings() -> None:
    path = REPO / "deploy" / "docker-compose.yml"
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    service = yaml.safe_load(path.read_text())["services"]["dicom-mcp"]
    assert set(service["environment"]) <= setting_names()
    assert service["ports"] == ["127.0.0.1:8000:8000"]
    assert service["environment"]["DICOM_MCP_PORT"] == "8000"


def test_healthcheck_command_passes_on_a_live_service_and_fails_on_a_dead_one(tmp_path: Path) -> None:
    command = healthcheck_command()
    command[0] = sys.executable
    with run_service(tmp_path, service_env()) as service:
        port = service.base_url.rsplit(":", 1)[1]
        live = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in command]
        assert subprocess.run(live, timeout=10).returncode == 0
    dead = [part.replace("127.0.0.1:8000", f"127.0.0.1:{free_port()}") for part in command]
    assert subprocess.run(dead, capture_output=True, timeout=10).returncode != 0


def test_container_settings_bind_all_interfaces_and_check_host_names(tmp_path: Path) -> None:
    env = service_env(allowed_hosts="dicom-mcp")
    port = free_port()
    env.update({"DICOM_MCP_HOST": "0.0.0.0", "DICOM_MCP_PORT": str(port)})
    SERVICE_LOGS.append(tmp_path / "container.log")
    log = (tmp_path / "container.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "dicom-mcp"), "--transport", "http"], env=env, stdout=log, stderr=log
    )
    service = RunningService(f"http://127.0.0.1:{port}", process, tmp_path / "container.log")
    try:
        wait_healthy(service)
        init = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        headers = {"Accept": "application/json, text/event-stream", "Host": "dicom-mcp:8000"}
        assert httpx.post(service.mcp_url, json=init, headers=headers).status_code != 421
        headers["Host"] = "attacker.example"
        assert httpx.post(service.mcp_url, json=init, headers=headers).status_code == 421
    finally:
        assert service.stop() == 0
        log.close()


def readme_run_command() -> str:
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), flags=re.DOTALL)
    return blocks[0].strip()


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
            ["bash", "-c", readme_run_command()],
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
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) == 0
