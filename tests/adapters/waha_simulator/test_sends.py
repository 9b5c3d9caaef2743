"""The record of every send request: when it came and went, what became of it, how many at once."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

import aiohttp
import pytest

from adapters.waha_simulator import Endpoint, Fault, FaultKind
from tests.adapters.waha_simulator.support import CHAT, IMAGE, TEXT, Simulate
from tests.fakes.system import InstantSleeper, ManualClock

START = datetime(2026, 11, 28, 9, 0, 0, 123_456, tzinfo=UTC)


class GateSleeper:
    """Holds every wait until the test opens the gate; says when `expected` waits have begun."""

    def __init__(self, expected: int) -> None:
        self.gate = asyncio.Event()
        self.all_waiting = asyncio.Event()
        self._expected = expected
        self._waiting = 0

    async def sleep(self, seconds: float) -> None:
        self._waiting += 1
        if self._waiting == self._expected:
            self.all_waiting.set()
        await self.gate.wait()


async def test_each_send_is_recorded_with_what_became_of_it(simulate: Simulate) -> None:
    client, sim = await simulate()
    await client.post("/api/sendText", json=TEXT)
    sim.add_fault(Endpoint.SEND_TEXT, Fault(FaultKind.ERROR_500))
    await client.post("/api/sendText", json=TEXT)
    await client.post("/api/sendText", json={"session": "default", "text": "no chat"})
    sim.set_status("default", "STARTING")
    await client.post("/api/sendImage", json=IMAGE)

    records = sim.sends.records()

    assert [(r.endpoint, r.kind, r.outcome, r.status) for r in records] == [
        ("sendText", "text", "accepted", 201),
        ("sendText", "text", "error_500", 500),
        ("sendText", "text", "refused", 400),
        ("sendImage", "image", "refused", 422),
    ]
    assert [(r.session, r.chat_id) for r in records] == [
        ("default", CHAT),
        ("default", CHAT),
        ("default", None),
        ("default", CHAT),
    ]
    assert records[0].message_id == sim.ledger()[0].message_id


async def test_a_body_that_is_not_json_is_recorded_without_a_session(simulate: Simulate) -> None:
    client, sim = await simulate()

    await client.post("/api/sendText", data=b"{not json", headers={"Content-Type": "text/plain"})

    [record] = sim.sends.records()
    assert (record.session, record.outcome, record.status) == (None, "refused", 400)
    assert sim.sends.in_flight() == {}


async def test_a_send_spans_its_wait_in_iso_times_to_the_microsecond(
    simulate: Simulate,
) -> None:
    clock = ManualClock(START)
    client, sim = await simulate(clock=clock, sleeper=InstantSleeper(clock))
    sim.add_fault(Endpoint.SEND_TEXT, Fault(FaultKind.LATENCY, seconds=2.5))
    await client.post("/api/sendText", json=TEXT)

    answer = await client.get("/_simulator/sends")
    [send] = (await answer.json())["sends"]

    assert send["received_at"] == "2026-11-28T09:00:00.123456+00:00"
    assert send["finished_at"] == "2026-11-28T09:00:02.623456+00:00"
    assert (send["outcome"], send["status"], send["session"]) == ("accepted", 201, "default")
    assert sim.ledger()[0].received_at == START


async def test_a_dropped_send_finishes_when_the_connection_is_closed(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_fault(Endpoint.SEND_VIDEO, Fault(FaultKind.DROP))
    video = {**IMAGE, "convert": False}

    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.post("/api/sendVideo", json=video)

    [record] = sim.sends.records()
    assert (record.kind, record.outcome, record.status) == ("video", "drop", None)
    assert record.finished_at is not None


async def test_a_hung_send_finishes_when_its_client_gives_up(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.add_fault(Endpoint.SEND_TEXT, Fault(FaultKind.ACCEPT_THEN_HANG))

    with pytest.raises(TimeoutError):
        await client.post("/api/sendText", json=TEXT, timeout=aiohttp.ClientTimeout(total=0.05))
    async with asyncio.timeout(5):
        await sim.sends.wait_idle()

    [record] = sim.sends.records()
    assert (record.outcome, record.status) == ("accept_then_hang", None)
    assert record.message_id == sim.ledger()[0].message_id


async def test_two_sends_at_once_on_one_session_are_two_in_flight(simulate: Simulate) -> None:
    sleeper = GateSleeper(expected=2)
    client, sim = await simulate(sleeper=sleeper)
    sim.add_fault(Endpoint.SEND_TEXT, Fault(FaultKind.LATENCY, times=2, seconds=1))
    sends = [asyncio.ensure_future(client.post("/api/sendText", json=TEXT)) for _ in range(2)]

    async with asyncio.timeout(5):
        await sleeper.all_waiting.wait()
    while_held = sim.sends.in_flight()
    sleeper.gate.set()
    answers = await asyncio.gather(*sends)

    assert while_held == {"default": 2}
    assert [answer.status for answer in answers] == [201, 201]
    assert sim.sends.max_in_flight() == {"default": 2}
    assert sim.sends.in_flight() == {}


async def test_sends_one_after_another_are_never_two_in_flight(simulate: Simulate) -> None:
    clock = ManualClock(START)
    client, sim = await simulate(clock=clock)
    for _ in range(3):
        await client.post("/api/sendText", json=TEXT)
        clock.advance(0.001)
    await client.post("/api/sendText", json={**TEXT, "session": "other"})

    records = sim.sends.records("default")

    assert sim.sends.max_in_flight() == {"default": 1, "other": 1}
    assert len(records) == 3
    for earlier, later in itertools.pairwise(records):
        assert earlier.finished_at is not None
        assert later.received_at > earlier.finished_at


async def test_the_control_lists_one_sessions_sends_and_the_most_in_flight(
    simulate: Simulate,
) -> None:
    client, _ = await simulate()
    await client.post("/api/sendText", json=TEXT)
    await client.post("/api/sendText", json={**TEXT, "session": "gone"})

    everything = await (await client.get("/_simulator/sends")).json()
    one = await (await client.get("/_simulator/sends", params={"session": "gone"})).json()

    assert [send["session"] for send in everything["sends"]] == ["default", "gone"]
    assert [(send["session"], send["status"]) for send in one["sends"]] == [("gone", 404)]
    assert everything["max_in_flight"] == {"default": 1, "gone": 1}
    assert everything["in_flight"] == {}


async def test_a_reset_forgets_the_sends(simulate: Simulate) -> None:
    client, sim = await simulate()
    await client.post("/api/sendText", json=TEXT)

    await client.post("/_simulator/reset")

    assert sim.sends.records() == []
    assert sim.sends.max_in_flight() == {}


async def test_courtesy_calls_are_not_sends(simulate: Simulate) -> None:
    client, sim = await simulate()

    await client.post("/api/sendSeen", json={"session": "default", "chatId": CHAT})
    await client.post("/api/startTyping", json={"session": "default", "chatId": CHAT})

    assert sim.sends.records() == []
