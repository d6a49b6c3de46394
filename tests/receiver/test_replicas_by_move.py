"""Two replicas behind one address: a PACS knows one host and port per AE title, so the instances
a C-MOVE sends back may reach the replica that did not ask. With the Redis store, the replica
that receives hands them to the one waiting, through Redis; every read gets its own instances.

Both replicas run as MCPPAIR, which both PACS know at a round-robin TCP proxy in front of the two
receivers (testbeds/roundrobin.py). Reads go two by two to each replica's HTTP endpoint; the proxy
says which receiver got each of the PACS' associations, and each replica's /metrics what it took.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from testbeds.net import free_port
from testbeds.pacs import Catalog, RunningPacs
from testbeds.pacs.dataset import CT_SLICES
from testbeds.redis import RedisServer
from testbeds.roundrobin import RoundRobin, round_robin
from testbeds.service import RunningService, run_service
from testbeds.store import Destination
from tests.receiver.beds import PAIR, answer, mover_env

pytestmark = pytest.mark.anyio

READS = 6  # reads of the CT series' instances, two in a row through each replica in turn


@pytest.fixture
def pair(
    noget_orthanc: RunningPacs,
    noget_dcmqrscp: RunningPacs,
    receivers: dict[str, Destination],
    redis_db: RedisServer,
    tmp_path: Path,
) -> Iterator[tuple[RunningService, RunningService, RoundRobin]]:
    """Two replicas sharing Redis, their receivers behind the proxy the PACS know as MCPPAIR."""
    ports = [free_port(), free_port()]
    with ExitStack() as stack:
        proxy = stack.enter_context(round_robin(ports, port=receivers[PAIR].port))
        replicas = []
        for name, port in zip("ab", ports, strict=True):
            workdir = tmp_path / name
            workdir.mkdir()
            env = mover_env(
                workdir,
                noget_orthanc,
                noget_dcmqrscp,
                retrieve="move",
                receiver=Destination(PAIR, "127.0.0.1", port),
                ae_title=PAIR,
                session_store=redis_db.url,
            )
            replicas.append(stack.enter_context(run_service(workdir, env)))
        yield replicas[0], replicas[1], proxy


@pytest.mark.parametrize("pacs", ["orthanc", "dcmqrscp"])
async def test_every_read_gets_its_instances_whichever_replica_received_them(
    pair: tuple[RunningService, RunningService, RoundRobin],
    reference: RunningService,
    pacs_catalog: Catalog,
    pacs: str,
) -> None:
    first, second, proxy = pair
    (series,) = pacs_catalog.series_with_content(CT_SLICES)
    uids = [instance.sop_uid for instance in pacs_catalog.instances_for_series(series.series_uid)]
    # The proxy alternates the PACS' associations between the receivers; reading twice in a row
    # from each replica makes half of the reads' instances reach the replica that is not waiting.
    for number in range(READS):
        uid = uids[number % len(uids)]
        replica = (first, second)[(number // 2) % 2]
        moved = await answer(replica, pacs, "get_instance_metadata", sop_instance_uid=uid)
        assert not moved.is_error, moved.blocks
        assert moved.structured is not None and moved.structured["sop_instance_uid"] == uid
        assert moved == await answer(reference, pacs, "get_instance_metadata", sop_instance_uid=uid)
    # The PACS' associations went to both receivers in turn, and each replica says what it took:
    # the reads whose instances reached the other replica were handed on through Redis.
    assert set(proxy.routed) == set(proxy.upstreams)
    taken = [taken_instances(replica) for replica in (first, second)]
    handed_on = sum(counts.get("handed on", 0) for counts in taken)
    came_over = sum(counts.get("from another replica", 0) for counts in taken)
    kept = sum(counts.get("kept", 0) for counts in taken)
    assert handed_on == came_over > 0, (taken, proxy.routed)
    assert kept + came_over == READS


def taken_instances(service: RunningService) -> dict[str, int]:
    """dicom_mcp_receiver_instances_total by path, from the replica's /metrics."""
    text = httpx.get(f"{service.base_url}/metrics", timeout=10).text
    found = {}
    for line in text.splitlines():
        match = re.fullmatch(r'dicom_mcp_receiver_instances_total\{path="([^"]+)"\} ([0-9.e+]+)', line)
        if match:
            found[match[1]] = int(float(match[2]))
    return found
