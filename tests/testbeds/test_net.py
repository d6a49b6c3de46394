"""Connections counted from /proc agree with the sockets a test holds; polling gives up loudly."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial

import pytest

from testbeds.net import (
    AssociationSampler,
    connections_to,
    count_established,
    free_port,
    is_listening,
    own_sockets_to,
)
from testbeds.poll import until


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def connect(stack: ExitStack, listener: socket.socket, count: int) -> list[socket.socket]:
    """Open `count` connections to `listener`, accept them, keep both ends open until `stack` closes."""
    port = listener.getsockname()[1]
    clients = [stack.enter_context(socket.create_connection(("127.0.0.1", port))) for _ in range(count)]
    for _ in range(count):
        stack.enter_context(listener.accept()[0])
    return clients


def test_a_free_port_is_free_and_a_listening_one_is_seen(listener: socket.socket) -> None:
    port = free_port()
    assert not is_listening(port)
    with socket.create_server(("", port)):  # free on every interface
        assert is_listening(port)
    assert is_listening(listener.getsockname()[1])


def test_each_end_of_a_connection_is_counted_once(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with ExitStack() as stack:
        clients = connect(stack, listener, 3)
        assert count_established(port) == 3  # the server's ends
        assert connections_to(port) == 3  # this process's client ends
        with own_sockets_to(port) as found:
            assert sorted(s.getsockname() for s in found) == sorted(c.getsockname() for c in clients)
    until(lambda: connections_to(port) == 0 and count_established(port) == 0, within=5)


def test_the_sampler_keeps_the_most_it_saw(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with AssociationSampler(partial(connections_to, port)) as sampler, ExitStack() as stack:
        connect(stack, listener, 2)
        until(lambda: sampler.maximum == 2, within=5)
    assert sampler.maximum == 2


def test_until_names_what_it_waited_for() -> None:
    with pytest.raises(TimeoutError, match=r"the impossible not reached within 0\.05 s"):
        until(lambda: False, within=0.05, what="the impossible")
