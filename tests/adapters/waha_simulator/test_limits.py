"""WhatsApp's own limits on an account, in `me`, in /capping and /timelock, and pushed."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.waha_simulator import SimulatorConfig
from tests.adapters.waha_simulator.support import Receiver, Simulate

TIMELOCK = {"isActive": True, "timeEnforcementEnds": 1_795_000_000}
CAPPING = {"cappingStatus": "CAPPED", "cycleEnd": 1_795_600_000, "totalQuota": 50, "usedQuota": 50}
LIMITS = {"reachoutTimelock": TIMELOCK, "messageCapping": CAPPING}


async def test_by_default_me_is_as_before(simulate: Simulate) -> None:
    client, _ = await simulate()

    session = await (await client.get("/api/sessions/default")).json()

    assert session["me"] == {"id": "10000000000@c.us", "pushName": "WAHA Simulator"}


async def test_limits_set_by_the_control_are_in_me(simulate: Simulate) -> None:
    client, _ = await simulate()

    answer = await client.put("/_simulator/sessions/default/limits", json=LIMITS)
    session = await (await client.get("/api/sessions/default")).json()
    me = await (await client.get("/api/sessions/default/me")).json()

    assert answer.status == 200
    for shown in (session["me"], me):
        assert shown["reachoutTimelock"] == {
            "enforcementType": "DEFAULT",
            "isActive": True,
            "timeEnforcementEnds": 1_795_000_000,
        }
        assert shown["messageCapping"]["cappingStatus"] == "CAPPED"
        assert shown["messageCapping"]["cycleEnd"] == 1_795_600_000
        assert shown["messageCapping"]["usedQuota"] == 50


async def test_the_timelock_and_capping_routes_answer_the_limits(simulate: Simulate) -> None:
    client, _ = await simulate()
    await client.put("/_simulator/sessions/default/limits", json=LIMITS)

    timelock = await (await client.get("/api/sessions/default/timelock")).json()
    capping = await (await client.get("/api/sessions/default/capping")).json()

    assert (timelock["isActive"], timelock["timeEnforcementEnds"]) == (True, 1_795_000_000)
    assert (capping["cappingStatus"], capping["totalQuota"]) == ("CAPPED", 50)


async def test_without_limits_the_routes_say_no_lock_and_no_cap(simulate: Simulate) -> None:
    client, _ = await simulate()

    timelock = await (await client.get("/api/sessions/default/timelock")).json()
    capping = await (await client.get("/api/sessions/default/capping")).json()

    assert (timelock["isActive"], timelock["timeEnforcementEnds"]) == (False, None)
    assert (capping["cappingStatus"], capping["totalQuota"]) == ("NONE", -1)


async def test_the_limit_routes_need_the_session_working(simulate: Simulate) -> None:
    client, sim = await simulate()
    sim.set_status("default", "STARTING")

    answer = await client.get("/api/sessions/default/capping")

    assert answer.status == 422


async def test_a_change_of_limits_is_pushed_as_session_status_with_them_in_me(
    simulate: Simulate, receiver: Receiver
) -> None:
    client, _ = await simulate(SimulatorConfig(webhook_url=receiver.url))

    await client.put("/_simulator/sessions/default/limits", json={"reachoutTimelock": TIMELOCK})
    _, _, pushed = await receiver.next()

    assert (pushed["event"], pushed["payload"]["status"]) == ("session.status", "WORKING")
    assert pushed["me"]["reachoutTimelock"]["isActive"] is True
    assert "messageCapping" not in pushed["me"]


async def test_null_clears_a_limit(simulate: Simulate) -> None:
    client, sim = await simulate()
    await client.put("/_simulator/sessions/default/limits", json=LIMITS)

    answer = await client.put(
        "/_simulator/sessions/default/limits", json={"reachoutTimelock": None}
    )

    assert list((await answer.json())["limits"]) == ["messageCapping"]
    assert "reachoutTimelock" not in (sim.me("default") or {})


async def test_a_reset_lifts_every_limit(simulate: Simulate) -> None:
    client, sim = await simulate()
    await client.put("/_simulator/sessions/default/limits", json=LIMITS)

    await client.post("/_simulator/reset")

    assert sim.limits("default") == {}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reachoutTimelock": {"timeEnforcementEnds": 1}},
        {"reachoutTimelock": {"isActive": "yes"}},
        {"reachoutTimelock": {"isActive": True, "timeEnforcementEnds": True}},
        {"messageCapping": {"cappingStatus": "FULL", "cycleEnd": 1}},
        {"messageCapping": {"cycleEnd": 1}},
        {"messageCapping": []},
    ],
    ids=[
        "nothing",
        "no isActive",
        "isActive not bool",
        "end not a number",
        "unknown status",
        "no status",
        "not an object",
    ],
)
async def test_the_control_refuses_limits_of_the_wrong_shape(
    simulate: Simulate, body: dict[str, Any]
) -> None:
    client, sim = await simulate()

    answer = await client.put("/_simulator/sessions/default/limits", json=body)

    assert answer.status == 400
    assert "error" in await answer.json()
    assert sim.limits("default") == {}


async def test_the_control_refuses_limits_for_an_unknown_session(simulate: Simulate) -> None:
    client, _ = await simulate()

    answer = await client.put("/_simulator/sessions/nobody/limits", json=LIMITS)

    assert answer.status == 400
