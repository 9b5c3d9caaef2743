"""Hundreds of sessions: created at start or by the control, each sending on its own."""

from __future__ import annotations

import pytest

from adapters.cli import build_parser, main
from adapters.cli.simulate_waha import config_from
from adapters.waha_simulator import SimulatorConfig
from tests.adapters.waha_simulator.support import QUICK, TEXT, Simulate

MANY = 250


async def test_hundreds_of_configured_sessions_each_send(simulate: Simulate) -> None:
    names = tuple(f"s{n}" for n in range(MANY))
    config = SimulatorConfig(
        sessions=names, not_working_wait=0, starting_seconds=None, ack_seconds=(0, 0)
    )
    client, sim = await simulate(config)

    for name in names:
        answer = await client.post("/api/sendText", json={**TEXT, "session": name})
        assert answer.status == 201
    listed = await (await client.get("/api/sessions")).json()

    assert len(listed) == MANY
    assert {entry.session for entry in sim.ledger()} == set(names)
    assert set(sim.sends.max_in_flight().values()) == {1}


async def test_the_control_adds_sessions(simulate: Simulate) -> None:
    client, sim = await simulate(QUICK)
    names = [f"bench-{n}" for n in range(MANY)]

    answer = await client.post("/_simulator/sessions", json={"names": names})
    sent = await client.post("/api/sendText", json={**TEXT, "session": names[-1]})

    assert answer.status == 201
    assert sent.status == 201
    assert len(sim.session_names()) == MANY + 1
    assert {sim.status(name) for name in names} == {"WORKING"}


async def test_the_control_adds_sessions_in_a_given_status(simulate: Simulate) -> None:
    client, sim = await simulate(QUICK)

    await client.post("/_simulator/sessions", json={"names": ["a", "b"], "status": "STOPPED"})

    assert (sim.status("a"), sim.status("b")) == ("STOPPED", "STOPPED")


@pytest.mark.parametrize("body", [{}, {"names": []}, {"names": [""]}, {"names": [1]}])
async def test_the_control_refuses_sessions_without_names(
    simulate: Simulate, body: dict[str, object]
) -> None:
    client, sim = await simulate(QUICK)

    answer = await client.post("/_simulator/sessions", json=body)

    assert answer.status == 400
    assert sim.session_names() == ["default"]


def test_the_command_line_counts_sessions_beside_the_named_ones() -> None:
    args = build_parser().parse_args(
        ["simulate-waha", "--sessions", "default,sales", "--session-count", "3"]
    )

    config = config_from(args)

    assert config.sessions == ("default", "sales", "session-1", "session-2", "session-3")


def test_too_many_sessions_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate-waha", "--session-count", "10001"]) == 2

    assert "--session-count is at most 10,000" in capsys.readouterr().err
