"""Draining waits until nothing is in flight and nothing has finished for a moment."""

from __future__ import annotations

import time

from dicom_mcp.state.activity import QUIET_PERIOD, Activity


def test_a_request_in_flight_keeps_the_process_busy() -> None:
    activity = Activity(requests=1, last_finished=time.monotonic() - 60)
    assert activity.busy and not activity.settled


def test_a_running_tool_body_keeps_the_process_busy() -> None:
    activity = Activity(in_flight=1, last_finished=time.monotonic() - 60)
    assert activity.busy and not activity.settled


def test_a_response_just_sent_leaves_room_for_the_clients_follow_up() -> None:
    activity = Activity(requests=1)
    activity.finished()
    assert not activity.busy
    assert not activity.settled  # the SDK's clients list the tools right after a first result


def test_quiet_for_the_quiet_period_is_settled() -> None:
    activity = Activity(last_finished=time.monotonic() - QUIET_PERIOD)
    assert activity.settled
