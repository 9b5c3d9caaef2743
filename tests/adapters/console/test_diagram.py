"""The state diagram is drawn from the transition table, the current state highlighted."""

from __future__ import annotations

import re

from adapters.console.diagram import edges, state_diagram
from domain.lifecycle import TRANSITIONS, CampaignStatus


def test_every_transition_that_changes_the_status_is_an_arrow() -> None:
    svg = str(state_diagram("Running"))
    drawn = set(re.findall(r'data-trigger="(\w+)" data-from="(\w+)" data-to="(\w+)"', svg))
    expected = set()
    for transition in TRANSITIONS:
        sources = transition["source"]
        for source in [sources] if isinstance(sources, str) else sources:  # type: ignore[attr-defined]
            if source != transition["dest"]:
                expected.add((str(transition["trigger"]), str(source), str(transition["dest"])))

    assert drawn == expected
    assert len(edges()) == len(expected)


def test_every_status_is_a_node_and_only_the_current_one_is_highlighted() -> None:
    svg = str(state_diagram("Paused"))

    assert set(re.findall(r'data-state="(\w+)"', svg)) == {s.value for s in CampaignStatus}
    assert re.findall(r'class="state current" data-state="(\w+)"', svg) == ["Paused"]
    assert "this campaign is Paused" in svg


def test_bookkeeping_commands_are_named_on_their_state_not_drawn() -> None:
    svg = str(state_diagram("Running"))

    assert 'data-trigger="record_attempt"' not in svg
    assert "also allows: begin_attempt, record_attempt" in svg


def test_the_diagram_needs_no_inline_style() -> None:
    assert "style=" not in str(state_diagram("Scheduled"))
