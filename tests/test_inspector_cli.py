"""The MCP Inspector's command line, a client we did not write, lists and calls the tools over HTTP and stdio.

It runs the Inspector the way the README's "Connecting a client" section does, with `--cli` and with
`-e DICOM_MCP_TRANSPORT=stdio` for stdio, against the Orthanc test bed. The package is
@modelcontextprotocol/inspector-cli, pinned in tests/interop/package.json and installed there by
scripts/test.sh, so nothing is downloaded here. It is pinned at 0.16.8 because the Inspector 2.x
needs Node.js 22, and from 0.17.0 on the CLI package fails at start-up unless the working
directory's parent holds a package.json. If node or the package is missing, these tests fail.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from testbeds.pacs import Catalog, RunningPacs
from testbeds.service import REPO, RunningService, run_service, service_env

INSPECTOR = REPO / "tests/interop/node_modules/@modelcontextprotocol/inspector-cli/build/cli.js"
TIMEOUT = 60.0  # one Inspector run; a stdio run also starts the service, about 3 s here

QUERY_TOOLS = {
    "configure_dicom_server",
    "verify_connection",
    "get_attribute_presets",
    "list_dicom_nodes",
    "query_patients",
    "query_studies",
    "query_series",
    "query_instances",
}


@dataclass
class Inspector:
    """The Inspector's CLI aimed at one server: `target` is a URL and its options, or a command to launch."""

    target: list[str]
    env: dict[str, str]

    def run(self, *args: str) -> dict[str, Any]:
        """Run `node cli.js --cli TARGET ARGS`; return the JSON result it prints."""
        assert shutil.which("node"), "node is not on PATH; install Node.js 20 or later"
        assert INSPECTOR.is_file(), f"{INSPECTOR} is missing; run npm install in tests/interop"
        argv = ["node", str(INSPECTOR), "--cli", *self.target, *args]
        # A session of its own, so that a timeout ends the Inspector's children too (its CLI
        # process and, on stdio, the service it launched).
        with subprocess.Popen(
            argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        ) as process:
            try:
                out, err = process.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                raise
        assert process.returncode == 0, f"{argv} exited with {process.returncode}: {err.decode()}"
        return dict(json.loads(out))


@pytest.fixture(scope="module")
def pacs_env(orthanc: RunningPacs) -> dict[str, str]:
    return {
        "DICOM_HOST": orthanc.host,
        "DICOM_PORT": str(orthanc.port),
        "DICOM_CALLED_AE_TITLE": orthanc.ae_title,
    }


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, pacs_env: dict[str, str]) -> Iterator[RunningService]:
    with run_service(tmp_path_factory.mktemp("inspector"), service_env(pacs_env)) as running:
        yield running


@pytest.fixture(params=["http", "stdio"])
def inspector(request: pytest.FixtureRequest, pacs_env: dict[str, str]) -> Inspector:
    """The Inspector over Streamable HTTP to the running service, or launching its own over stdio."""
    if request.param == "http":
        service: RunningService = request.getfixturevalue("service")
        return Inspector([service.mcp_url, "--transport", "http"], dict(os.environ))
    # `--transport stdio` would be taken by the Inspector itself; the README's way is the setting.
    command = ["-e", "DICOM_MCP_TRANSPORT=stdio", sys.executable, "-m", "dicom_mcp"]
    return Inspector(command, service_env(pacs_env))


def call(inspector: Inspector, tool: str, *arguments: str) -> dict[str, Any]:
    """Call a tool through the Inspector; each argument is `name=value`."""
    tool_args = ["--tool-arg", *arguments] if arguments else []
    return inspector.run("--method", "tools/call", "--tool-name", tool, *tool_args)


def test_inspector_lists_the_tools_with_their_input_schemas(inspector: Inspector) -> None:
    tools = {tool["name"]: tool for tool in inspector.run("--method", "tools/list")["tools"]}
    assert set(tools) >= QUERY_TOOLS
    schema = tools["query_patients"]["inputSchema"]
    assert (schema["type"], schema["additionalProperties"]) == ("object", False)
    assert {"name_pattern", "patient_id", "birth_date", "limit"} <= set(schema["properties"])


def test_inspector_calls_a_query_and_prints_the_matching_patients(
    inspector: Inspector, pacs_catalog: Catalog
) -> None:
    result = call(inspector, "query_patients", "name_pattern=SMITH*")
    assert result["isError"] is False
    rows = {
        (m["PatientID"], m["PatientName"], m["PatientBirthDate"], m["PatientSex"])
        for m in result["structuredContent"]["matches"]
    }
    smiths = [pacs_catalog.patient_by_id(patient_id) for patient_id in ("PAT001", "PAT002")]
    assert rows == {(p.patient_id, p.name, p.birth_date, p.sex) for p in smiths}
    assert (result["structuredContent"]["count"], result["structuredContent"]["truncated"]) == (2, False)


def test_inspector_prints_a_bad_argument_as_a_tool_error(inspector: Inspector) -> None:
    unknown = call(inspector, "query_patients", "bogus=1")
    out_of_range = call(inspector, "query_patients", "limit=0")
    assert unknown["isError"] is True
    assert "query_patients has no argument 'bogus'" in unknown["content"][0]["text"]
    assert out_of_range["isError"] is True
    assert "limit must be an integer between 1 and 1000" in out_of_range["content"][0]["text"]
