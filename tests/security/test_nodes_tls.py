"""Named nodes from the nodes file, and DICOM TLS towards a TLS-only peer (mutual authentication)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from dicom_mcp.services import build_services
from dicom_mcp.settings import Settings
from dicom_mcp.transport.server import build_server
from testbeds.clients import call_error, call_ok
from testbeds.faults import answers, fault_pacs
from testbeds.pki import Pki, make_pki, server_context

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), days=2, ca_days=2)


@pytest.fixture
def tls_pacs(pki: Pki) -> Iterator[Any]:
    """A PACS that speaks only TLS 1.2+ and demands a client certificate signed by the test CA."""
    with fault_pacs(answers(2), ae_title="SECURE", ssl_context=server_context(pki)) as pacs:
        yield pacs


def nodes_file(path: Path, port: int, tls: dict[str, str]) -> Path:
    lines = [
        "[nodes.secure]",
        'host = "127.0.0.1"',
        f"port = {port}",
        'ae_title = "SECURE"',
        'description = "TLS test PACS"',
        "max_associations = 2",
        "[nodes.secure.tls]",
        *(f'{key} = "{value}"' for key, value in tls.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


async def call_with_nodes(path: Path, *calls: tuple[str, dict[str, Any]]) -> list[Any]:
    settings = Settings(_env_file=None, nodes_file=path, dicom_port=1, dimse_timeout=5, query_deadline=10)
    services = build_services(settings)
    results: list[Any] = []
    async with Client(build_server(services)) as client:
        for tool, arguments in calls:
            outcome = await client.call_tool(tool, arguments)
            results.append(outcome)
    await services.aclose()
    return results


async def test_tls_node_with_client_certificate_answers(pki: Pki, tls_pacs: Any, tmp_path: Path) -> None:
    tls = {"ca_file": str(pki.ca), "cert_file": str(pki.client_cert), "key_file": str(pki.client_key)}
    path = nodes_file(tmp_path / "nodes.toml", tls_pacs.port, tls)
    listed, configured, echo, found = await call_with_nodes(
        path,
        ("list_dicom_nodes", {}),
        ("configure_dicom_server", {"node": "secure"}),
        ("verify_connection", {}),
        ("query_studies", {"patient_id": "FAULT*"}),
    )
    nodes = {n["name"]: n for n in listed.structured_content["nodes"]}
    assert nodes["secure"] == {
        "name": "secure", "description": "TLS test PACS", "ae_title": "SECURE", "host": None, "port": None, "tls": True,
        "move_destination": False, "protocol": "dimse"
    }  # fmt: skip
    assert configured.structured_content["host"] is None
    assert configured.structured_content["port"] is None
    assert echo.structured_content["success"] is True, echo.structured_content
    assert found.structured_content["count"] == 2


@pytest.mark.parametrize("case", ["no client certificate", "untrusted PACS certificate"])
async def test_tls_failures_are_clear(pki: Pki, tls_pacs: Any, tmp_path: Path, case: str) -> None:
    tls = (
        {"ca_file": str(pki.ca)}
        if case == "no client certificate"
        else {
            "ca_file": str(pki.other_ca),
            "cert_file": str(pki.client_cert),
            "key_file": str(pki.client_key),
        }
    )
    path = nodes_file(tmp_path / "nodes.toml", tls_pacs.port, tls)
    _, echo = await call_with_nodes(
        path, ("configure_dicom_server", {"node": "secure"}), ("verify_connection", {})
    )
    assert echo.structured_content["success"] is False
    assert "TLS" in echo.structured_content["message"]
    assert "127.0.0.1" not in echo.structured_content["message"]  # a node's address stays hidden


async def test_unknown_node_names_the_way_out(tmp_path: Path) -> None:
    path = nodes_file(tmp_path / "nodes.toml", 104, {})
    path.write_text(path.read_text().replace("[nodes.secure.tls]\n", ""))
    settings = Settings(_env_file=None, nodes_file=path)
    services = build_services(settings)
    async with Client(build_server(services)) as client:
        assert "list_dicom_nodes" in await call_error(client, "configure_dicom_server", node="nope")
        both = await call_error(client, "configure_dicom_server", node="secure", host="127.0.0.1", port=104)
        assert "not both" in both
        assert (await call_ok(client, "configure_dicom_server", node="secure"))["node"] == "secure"
