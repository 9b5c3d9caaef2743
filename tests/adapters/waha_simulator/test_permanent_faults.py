"""A fault armed with `times: null` holds every call of its endpoint until it is cleared."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.adapters.waha_simulator.support import IMAGE, TEXT, Client, Simulate

SEND_BODIES: dict[str, dict[str, Any]] = {
    "sendText": TEXT,
    "sendImage": IMAGE,
    "sendFile": IMAGE,
    "sendVideo": {**IMAGE, "convert": False},
    "sendVoice": {**IMAGE, "convert": False},
}


async def failed(client: Client, endpoint: str, body: dict[str, Any]) -> str:
    try:
        answer = await client.post(f"/api/{endpoint}", json=body)
    except aiohttp.ServerDisconnectedError:
        return "dropped"
    return str(answer.status)


@pytest.mark.parametrize("kind", ["error_500", "drop"])
@pytest.mark.parametrize("endpoint", sorted(SEND_BODIES))
async def test_a_fault_without_times_holds_every_send_until_cleared(
    simulate: Simulate, endpoint: str, kind: str
) -> None:
    client, sim = await simulate()
    body = SEND_BODIES[endpoint]

    armed = await client.post(
        "/_simulator/faults", json={"endpoint": endpoint, "kind": kind, "times": None}
    )
    during = [await failed(client, endpoint, body) for _ in range(3)]
    cleared = await client.delete("/_simulator/faults")
    after = await failed(client, endpoint, body)

    assert (await armed.json())["times"] is None
    assert during == ["500" if kind == "error_500" else "dropped"] * 3
    assert await cleared.json() == {}
    assert after == "201"
    assert len(sim.ledger()) == 1
