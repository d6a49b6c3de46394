"""Byte budgets: a cap per call on what it holds at once, and one for the whole process."""

from __future__ import annotations

import pytest

from dicom_mcp.errors import RetrieveTooLarge, ServiceBusy
from dicom_mcp.pacs.budget import Budget, Pool


def test_a_call_past_its_cap_is_too_large_and_holds_nothing_more() -> None:
    budget = Budget(100)
    budget.take(60)
    with pytest.raises(RetrieveTooLarge, match="passed the cap of 100 bytes per call"):
        budget.take(41, "node 'x'")
    assert budget.held == 60


def test_bytes_given_back_can_be_taken_again() -> None:
    budget = Budget(100)
    budget.take(80)
    budget.give(80)
    budget.take(100)
    assert budget.remaining == 0


def test_the_process_pool_refuses_a_call_when_others_hold_its_cap() -> None:
    pool = Pool(150)
    first, second = Budget(100, pool), Budget(100, pool)
    first.take(100)
    with pytest.raises(ServiceBusy, match="DICOM_MCP_MAX_BYTES_IN_FLIGHT"):
        second.take(60)
    assert (pool.held, second.held) == (100, 0)


def test_a_closed_call_gives_everything_back_to_the_process() -> None:
    pool = Pool(150)
    budget = Budget(100, pool)
    budget.take(70)
    budget.give(20)
    budget.close()
    assert (pool.held, budget.held) == (0, 0)
    budget.close()  # twice is harmless
    assert pool.held == 0
