"""Every campaign status against every command of the transition table."""

from __future__ import annotations

import pytest

from domain.errors import IllegalTransitionError
from domain.lifecycle import TERMINAL, TRANSITIONS, CampaignStatus, allowed_commands, next_status

SCHEDULED = CampaignStatus.SCHEDULED
RUNNING = CampaignStatus.RUNNING
PAUSED = CampaignStatus.PAUSED
COMPLETED = CampaignStatus.COMPLETED
CANCELLED = CampaignStatus.CANCELLED

# The owner's table, written out by hand so these tests do not merely re-read TRANSITIONS:
# start S→R, pause R→P, resume P→R, complete R→C, cancel from any open state, and the
# runner's bookkeeping as self-loops of Running (and Paused for withholding auto-resume),
# an edit of a Scheduled campaign, and the note of a retry on a Paused or finished one.
EXPECTED: dict[tuple[CampaignStatus, str], CampaignStatus] = {
    (SCHEDULED, "start"): RUNNING,
    (RUNNING, "pause"): PAUSED,
    (PAUSED, "resume"): RUNNING,
    (RUNNING, "complete"): COMPLETED,
    (SCHEDULED, "cancel"): CANCELLED,
    (RUNNING, "cancel"): CANCELLED,
    (PAUSED, "cancel"): CANCELLED,
    (RUNNING, "begin_attempt"): RUNNING,
    (RUNNING, "record_attempt"): RUNNING,
    (RUNNING, "abandon_attempt"): RUNNING,
    (RUNNING, "request_pause"): RUNNING,
    (RUNNING, "request_cancel"): RUNNING,
    (PAUSED, "withhold_auto_resume"): PAUSED,
    # An operator's edit before the start; the note of a retry once outcomes cannot change.
    (SCHEDULED, "edit"): SCHEDULED,
    (PAUSED, "record_retry"): PAUSED,
    (COMPLETED, "record_retry"): COMPLETED,
    (CANCELLED, "record_retry"): CANCELLED,
}

COMMANDS = list(dict.fromkeys(str(t["trigger"]) for t in TRANSITIONS))
PAIRS = [(status, command) for status in CampaignStatus for command in COMMANDS]
ALLOWED = [pair for pair in PAIRS if pair in EXPECTED]
ILLEGAL = [pair for pair in PAIRS if pair not in EXPECTED]


def pair_id(pair: tuple[CampaignStatus, str]) -> str:
    status, command = pair
    return f"{status.value}-{command}"


def test_the_table_has_exactly_the_expected_commands() -> None:
    assert set(COMMANDS) == {command for _, command in EXPECTED}


@pytest.mark.parametrize(("status", "command"), ALLOWED, ids=[pair_id(p) for p in ALLOWED])
def test_an_allowed_command_leads_to_its_next_status(status: CampaignStatus, command: str) -> None:
    assert next_status(status, command) is EXPECTED[status, command]


@pytest.mark.parametrize(("status", "command"), ILLEGAL, ids=[pair_id(p) for p in ILLEGAL])
def test_an_illegal_command_raises_naming_the_command_and_the_state(
    status: CampaignStatus, command: str
) -> None:
    with pytest.raises(IllegalTransitionError) as raised:
        next_status(status, command)

    assert raised.value.command == command
    assert raised.value.status == status.value
    assert command in str(raised.value)
    assert status.value in str(raised.value)


@pytest.mark.parametrize("status", list(CampaignStatus), ids=lambda s: s.value)
def test_a_command_missing_from_the_table_is_illegal_in_every_state(
    status: CampaignStatus,
) -> None:
    with pytest.raises(IllegalTransitionError, match="launch_rockets"):
        next_status(status, "launch_rockets")


@pytest.mark.parametrize("status", list(CampaignStatus), ids=lambda s: s.value)
def test_allowed_commands_are_exactly_the_legal_ones_in_table_order(
    status: CampaignStatus,
) -> None:
    assert allowed_commands(status) == [c for c in COMMANDS if (status, c) in EXPECTED]


@pytest.mark.parametrize("status", sorted(TERMINAL), ids=lambda s: s.value)
def test_a_finished_campaign_allows_only_the_note_of_its_retry(status: CampaignStatus) -> None:
    assert allowed_commands(status) == ["record_retry"]
