"""The campaign's states and the one table of what each command may do from each of them."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from transitions import Machine

from domain.errors import IllegalTransitionError


class CampaignStatus(StrEnum):
    """Where a campaign is in its life; stored by value in events and snapshots."""

    SCHEDULED = "Scheduled"
    RUNNING = "Running"
    PAUSED = "Paused"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"


TERMINAL: Final = frozenset({CampaignStatus.COMPLETED, CampaignStatus.CANCELLED})
_OPEN: Final = [s.value for s in CampaignStatus if s not in TERMINAL]

# The single source of what is allowed. Self-loops are the runner's bookkeeping commands:
# they leave the status alone but are only legal while the campaign runs.
TRANSITIONS: Final[list[dict[str, object]]] = [
    {"trigger": "start", "source": "Scheduled", "dest": "Running"},
    {"trigger": "pause", "source": "Running", "dest": "Paused"},
    {"trigger": "resume", "source": "Paused", "dest": "Running"},
    {"trigger": "complete", "source": "Running", "dest": "Completed"},
    {"trigger": "cancel", "source": _OPEN, "dest": "Cancelled"},
    {"trigger": "begin_attempt", "source": "Running", "dest": "Running"},
    {"trigger": "record_attempt", "source": "Running", "dest": "Running"},
    {"trigger": "abandon_attempt", "source": "Running", "dest": "Running"},
    {"trigger": "request_pause", "source": "Running", "dest": "Running"},
    {"trigger": "request_cancel", "source": "Running", "dest": "Running"},
    {"trigger": "withhold_auto_resume", "source": "Paused", "dest": "Paused"},
    # An operator's change to a campaign that has not started (CampaignEdited).
    {"trigger": "edit", "source": "Scheduled", "dest": "Scheduled"},
    # The note that some contacts are sent again by a new campaign (a retry); only once
    # nothing can still change their outcomes. Bookkeeping: the status stays.
    {"trigger": "record_retry", "source": "Paused", "dest": "Paused"},
    {"trigger": "record_retry", "source": "Completed", "dest": "Completed"},
    {"trigger": "record_retry", "source": "Cancelled", "dest": "Cancelled"},
]

# Never attached to a model: it answers "may I?" and draws the diagram, nothing else, so the
# aggregate's events stay the only writer of its status.
MACHINE: Final = Machine(
    model=None,
    states=[s.value for s in CampaignStatus],
    transitions=TRANSITIONS,
    initial=None,
    auto_transitions=False,
)


def next_status(current: CampaignStatus, command: str) -> CampaignStatus:
    """Return the status `command` leads to from `current`, or raise IllegalTransitionError."""
    event = MACHINE.events.get(command)
    transitions = event.transitions.get(current.value) if event is not None else None
    if not transitions:
        raise IllegalTransitionError(command, current.value)
    return CampaignStatus(str(transitions[0].dest))


def allowed_commands(current: CampaignStatus) -> list[str]:
    """Return the commands the table allows from `current`, in table order."""
    return [str(t["trigger"]) for t in TRANSITIONS if _sources(t).count(current.value)]


def _sources(transition: dict[str, object]) -> list[str]:
    source = transition["source"]
    return [source] if isinstance(source, str) else [str(s) for s in source]  # type: ignore[attr-defined]


def mermaid_diagram() -> str:
    """Return the state diagram, drawn from the transition table, as Mermaid text."""
    lines = ["stateDiagram-v2", "    [*] --> Scheduled"]
    for transition in TRANSITIONS:
        dest = str(transition["dest"])
        lines.extend(
            f"    {source} --> {dest}: {transition['trigger']}"
            for source in _sources(transition)
            if source != dest
        )
    for state in CampaignStatus:
        loops = [str(t["trigger"]) for t in TRANSITIONS if _sources(t) == [t["dest"]] == [state]]
        if loops:
            lines.append(f"    note right of {state.value}: also {', '.join(loops)}")
    lines.extend(f"    {s.value} --> [*]" for s in sorted(TERMINAL))
    return "\n".join(lines) + "\n"
