"""The receiver as the service builds it from settings (`services.build_receiver`).

Without DICOM_MCP_RECEIVER_PORT there is none, and a PACS to be read by C-MOVE only is a
configuration error that names the setting. With it, the receiver listens under the service's
AE title and accepts associations from the addresses of the DIMSE PACS only (the default one
and the nodes'), not from DICOMweb nodes' hosts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from dicom_mcp.dimse.receiver import Receiver
from dicom_mcp.errors import ConfigurationError
from dicom_mcp.model.target import Target, WebSettings
from dicom_mcp.pacs.budget import Budget
from dicom_mcp.services import build_receiver, build_services, default_target
from dicom_mcp.settings import Settings
from testbeds.net import free_port
from tests.receiver_units.peers import PACS_AE, Sent, ct, store
from tests.servers import stop_promptly

ARCHIVE = Target("127.0.0.2", 104, "ARCHIVE", name="archive")
CLOUD = Target("192.0.2.7", 443, "", name="cloud", web=WebSettings("https://192.0.2.7/dicom-web"))


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextmanager
def built(config: Settings, targets: list[Target]) -> Iterator[Receiver]:
    receiver = build_receiver(config, targets)
    assert receiver is not None
    try:
        yield receiver
    finally:
        stop_promptly(receiver)


def test_without_a_port_there_is_no_receiver() -> None:
    config = settings()
    assert build_receiver(config, [default_target(config), ARCHIVE, CLOUD]) is None


def test_dicom_retrieve_move_without_a_port_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DICOM_RETRIEVE", "move")
    config = settings()
    with pytest.raises(ConfigurationError, match="DICOM_MCP_RECEIVER_PORT") as caught:
        build_receiver(config, [default_target(config), ARCHIVE])
    assert "'default'" in str(caught.value)


def test_a_node_read_by_move_without_a_port_is_a_configuration_error() -> None:
    config = settings()
    node = Target("127.0.0.2", 104, "ARCHIVE", name="archive", retrieve="move")
    with pytest.raises(ConfigurationError, match="DICOM_MCP_RECEIVER_PORT") as caught:
        build_receiver(config, [default_target(config), node])
    assert "'archive'" in str(caught.value)


def test_auto_without_a_port_starts_without_a_receiver() -> None:
    config = settings(dicom_retrieve="auto")
    assert build_receiver(config, [default_target(config), ARCHIVE]) is None


def test_with_a_port_it_listens_under_the_service_ae_title(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("DICOM_MCP_RECEIVER_PORT", str(port))
    config = settings(dicom_ae_title="MCPRECV", receiver_host="127.0.0.1", dicom_retrieve="move")
    with built(config, [default_target(config)]) as receiver:
        assert (receiver.ae_title, receiver.host, receiver.port) == ("MCPRECV", "127.0.0.1", port)
        assert store(port, [], called_ae="MCPRECV") == []
        assert store(port, [Sent(ct(), "MCPRECV", 1)], called_ae="MCPRECV") == [0x0124]  # nobody waits


def test_it_accepts_the_dimse_pacs_addresses_and_not_dicomweb_ones() -> None:
    config = settings(receiver_port=free_port(), receiver_host="127.0.0.1", dicom_host="127.0.0.1")
    with built(config, [default_target(config), ARCHIVE, CLOUD]) as receiver:
        assert receiver.allowed == {"127.0.0.1", "127.0.0.2"}


def test_host_names_are_resolved_to_addresses() -> None:
    config = settings(receiver_port=free_port(), receiver_host="127.0.0.1", dicom_host="localhost")
    with built(config, [default_target(config)]) as receiver:
        assert "127.0.0.1" in receiver.allowed
        assert "localhost" not in receiver.allowed


def test_it_binds_to_the_service_host_unless_told_otherwise() -> None:
    config = settings(receiver_port=free_port(), host="127.0.0.1")
    with built(config, [default_target(config)]) as receiver:
        assert receiver.host == "127.0.0.1"


@pytest.mark.parametrize(("cap", "kept"), [(2**16, False), (2**20, True)])
def test_the_per_call_byte_cap_bounds_one_message(cap: int, kept: bool) -> None:
    # Even for a retrieval with room to spare: DICOM_MCP_MAX_RETRIEVE_BYTES bounds what one message
    # may bring before it is complete.
    config = settings(receiver_port=free_port(), receiver_host="127.0.0.1", max_retrieve_bytes=cap)
    big = ct(payload=2**19)
    with (
        built(config, [default_target(config)]) as receiver,
        receiver.waits.waiting([big.SOPInstanceUID], Budget(2**24), PACS_AE) as waiter,
    ):
        statuses = store(receiver.port, [Sent(big, config.dicom_ae_title, waiter.message_id)])
        if kept:
            assert statuses == [0x0000]
            assert len(waiter.instances) == 1
        else:
            assert statuses in (None, [-1])  # the association ends under the message
            assert waiter.instances == []


@pytest.mark.parametrize(("store_url", "relayed"), [("memory://", False), ("redis://127.0.0.1:1/0", True)])
def test_replicas_on_redis_hand_instances_on_and_a_single_one_does_not(store_url: str, relayed: bool) -> None:
    config = settings(receiver_port=free_port(), receiver_host="127.0.0.1", session_store=store_url)
    with built(config, [default_target(config)]) as receiver:
        assert (receiver.relay is not None) is relayed


def test_stop_closes_it() -> None:
    port = free_port()
    config = settings(receiver_port=port, receiver_host="127.0.0.1")
    receiver = build_receiver(config, [default_target(config)])
    assert receiver is not None
    assert store(port, []) == []
    stop_promptly(receiver)
    assert store(port, []) is None


@pytest.mark.anyio
async def test_the_services_own_the_receiver_and_close_it() -> None:
    port = free_port()
    services = build_services(settings(receiver_port=port, receiver_host="127.0.0.1"))
    try:
        assert services.receiver is not None
        assert services.receiver.port == port
        assert store(port, []) == []
    finally:
        await services.aclose()
    assert store(port, []) is None
