"""The sessions page: each WhatsApp number the campaigns use, WAHA's word on it, its campaigns.

`session_rows` is the one place that turns what is known of sessions into rows: when send lanes
bring more (the lane's owner, sending windows, daily caps), they are added here as fields or
`facts`, and the template shows whatever a row carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from adapters.console.formatting import count
from adapters.console.records import ScheduledRecord
from app.campaign_facts import CampaignFacts
from app.ports import SessionStatusFact
from domain.lifecycle import TERMINAL, CampaignStatus
from domain.session import is_sendable


@dataclass(frozen=True)
class SessionCampaign:
    """A campaign that sends (or will send) through the session."""

    id: str
    name: str
    status: str

    @property
    def href(self) -> str:
        """The campaign's page."""
        return f"/ui/campaigns/{self.id}"


@dataclass(frozen=True)
class SessionRow:
    """One session: its status as WAHA last said it, and what runs on it."""

    name: str
    status: str | None  # None: WAHA could not say (the reason is in `note`)
    note: str
    sendable: bool
    observed_at: datetime | None
    active: list[SessionCampaign]
    finished: int
    # Who sends through the session now (a process's lane); None until send lanes exist.
    lane_owner: str | None = None
    # More facts as (label, value), e.g. ("sent today", "1,234"): the page lists them.
    facts: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class StatusAnswer:
    """What asking WAHA for a session's status gave: its fact, or why there is none."""

    fact: SessionStatusFact | None
    problem: str = ""


def session_names(facts: Iterable[CampaignFacts]) -> list[str]:
    """Return the sessions campaigns name, in name order."""
    return sorted({f.session for f in facts})


def session_rows(
    names: Sequence[str],
    facts: Sequence[CampaignFacts],
    records: Mapping[UUID, ScheduledRecord],
    answers: Mapping[str, StatusAnswer],
    sent_today: Mapping[str, int],
) -> list[SessionRow]:
    """Return a row per session, with its campaigns, WAHA's answer and today's sends."""
    rows = []
    for name in names:
        mine = [f for f in facts if f.session == name]
        active = [
            SessionCampaign(str(f.id), _name(records, f), f.status.value)
            for f in mine
            if f.status not in TERMINAL
        ]
        active.sort(key=lambda c: (_ORDER.get(c.status, 9), c.name.casefold()))
        answer = answers.get(name, StatusAnswer(None, "not asked"))
        fact = answer.fact
        status = fact.status if fact is not None else None
        extra: list[tuple[str, str]] = []
        if name in sent_today:
            extra.append(("sent today (UTC)", count(sent_today[name])))
        rows.append(
            SessionRow(
                name=name,
                status=status,
                note=_note(status, answer.problem),
                sendable=status is not None and is_sendable(status),
                observed_at=fact.observed_at if fact is not None else None,
                active=active,
                finished=len(mine) - len(active),
                facts=tuple(extra),
            )
        )
    return rows


_ORDER = {
    CampaignStatus.RUNNING.value: 0,
    CampaignStatus.PAUSED.value: 1,
    CampaignStatus.SCHEDULED.value: 2,
}


def _name(records: Mapping[UUID, ScheduledRecord], facts: CampaignFacts) -> str:
    record = records.get(facts.id)
    return record.name if record is not None else str(facts.id)


def _note(status: str | None, problem: str) -> str:
    if status is None:
        return f"WAHA could not say: {problem}" if problem else "WAHA could not say"
    if is_sendable(status):
        return "working: campaigns can send"
    return f"cannot send while {status}: campaigns on it pause"
