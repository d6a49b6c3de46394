"""Only the default PACS and the operator's allowlist can be reached."""

import socket

import pytest

from dicom_mcp.errors import TargetRefused
from dicom_mcp.model.target import Target
from dicom_mcp.security.targets import AllowRule, TargetPolicy

pytestmark = pytest.mark.anyio

DEFAULT = Target("127.0.0.1", 11112, "ANY-SCP", "default")


def policy(*entries: str) -> TargetPolicy:
    return TargetPolicy.from_settings(entries, DEFAULT)


async def test_default_pacs_is_always_allowed() -> None:
    assert await policy().admit("127.0.0.1", 11112, "OTHER") == Target("127.0.0.1", 11112, "OTHER")


async def test_nothing_else_is_allowed_without_an_allowlist() -> None:
    with pytest.raises(TargetRefused, match="DICOM_MCP_ALLOWED_TARGETS"):
        await policy().admit("127.0.0.1", 4242, "ORTHANC")


@pytest.mark.parametrize(
    ("entries", "host", "port", "allowed"),
    [
        (("10.0.0.0/8",), "10.1.2.3", 104, True),
        (("10.0.0.0/8",), "11.1.2.3", 104, False),
        (("10.0.0.0/8:104",), "10.1.2.3", 105, False),
        (("pacs.hospital.example",), "PACS.hospital.example", 4242, True),
        (("pacs.hospital.example:4242",), "pacs.hospital.example", 4243, False),
        (("127.0.0.1:4242",), "127.0.0.1", 4242, True),
        (("[::1]:4242",), "::1", 4242, True),
        (("fd00::/8",), "fd00::5", 104, True),
    ],
)
async def test_allowlist_entries(entries: tuple[str, ...], host: str, port: int, allowed: bool) -> None:
    if allowed:
        assert (await policy(*entries).admit(host, port, "PACS")).port == port
    else:
        with pytest.raises(TargetRefused):
            await policy(*entries).admit(host, port, "PACS")


async def test_host_names_are_resolved_and_pinned_when_only_networks_are_listed() -> None:
    target = await policy("127.0.0.0/8").admit("localhost", 4242, "PACS")
    assert target.host in {"127.0.0.1", "::1"} or target.host.startswith("127.")


@pytest.mark.parametrize("port", [0, -1, 65536, 10**9])
async def test_ports_out_of_range_are_refused(port: int) -> None:
    with pytest.raises(TargetRefused, match="port"):
        await policy("0.0.0.0/0").admit("10.0.0.1", port, "PACS")


@pytest.mark.parametrize("ae_title", ["", "   ", "A" * 17, "BAD\\AE", "TAB\tAE", "ÄE"])
async def test_bad_ae_titles_are_refused(ae_title: str) -> None:
    with pytest.raises(TargetRefused, match="ae_title"):
        await policy("0.0.0.0/0").admit("10.0.0.1", 104, ae_title)


async def test_malformed_host_is_refused() -> None:
    with pytest.raises(TargetRefused):
        await policy("0.0.0.0/0").admit("bad host;rm -rf", 104, "PACS")


def test_malformed_allowlist_entries_fail_at_start_up() -> None:
    with pytest.raises(ValueError, match="ALLOWED_TARGETS"):
        AllowRule.parse("not a host!")


async def test_refusal_opens_no_socket() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        with pytest.raises(TargetRefused):
            await policy("10.0.0.0/8").admit("127.0.0.1", port, "PACS")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked
