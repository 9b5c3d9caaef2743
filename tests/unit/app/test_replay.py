"""A campaign reloaded from its stored events is the campaign that recorded them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.persistence import persistence_environment
from app.campaigns import CampaignsApp
from app.views import campaign_view
from domain.campaign import AttemptOutcome, Campaign, PauseReason
from domain.lifecycle import TERMINAL, CampaignStatus
from tests.builders import scheduled
from tests.fakes.system import ManualClock
from tests.unit.app.recorded_state import recorded_state

Step = Callable[[Campaign, datetime], None]


def chat(index: int) -> str:
    return f"49151{10000000 + index}@c.us"


def reload(app: CampaignsApp, live: Campaign) -> Campaign:
    """Rebuild the campaign from the store, bypassing the aggregate cache (a version does)."""
    reloaded: Campaign = app.repository.get(live.id, version=live.version)
    return reloaded


# One step per event the campaign can record, in an order that a run can take.
RUN: list[tuple[type[Campaign.Event], Step]] = [
    (Campaign.CampaignStarted, lambda c, now: c.start(at=now)),
    (
        Campaign.AttemptStarted,
        lambda c, now: c.begin_attempt(index=0, attempt_id="a-0", chat_id=chat(0), at=now),
    ),
    (
        Campaign.AttemptAbandoned,
        lambda c, now: c.abandon_attempt(index=0, attempt_id="a-0", reason="422", at=now),
    ),
    (
        Campaign.AttemptStarted,
        lambda c, now: c.begin_attempt(index=0, attempt_id="a-1", chat_id=chat(0), at=now),
    ),
    (
        Campaign.ContactAttempted,
        lambda c, now: c.record_attempt(
            index=0,
            chat_id=chat(0),
            outcome=AttemptOutcome.SENT,
            message_id="true_4915110000000@c.us_AAA",
            attempt_id="a-1",
            at=now,
        ),
    ),
    (
        Campaign.PacingDelayChosen,
        lambda c, now: c._pacing_delay_chosen(index=0, seconds=41.5, at=now),
    ),
    (
        Campaign.CampaignPaused,
        lambda c, now: c.pause_at_next(
            reason=PauseReason.SESSION_NOT_WORKING, detail="status STOPPED", at=now
        ),
    ),
    (
        Campaign.AutoResumeWithheld,
        lambda c, now: c.withhold_auto_resume(detail="flapping", at=now),
    ),
    (Campaign.CampaignResumed, lambda c, now: c.resume(at=now, automatic=True)),
    (
        Campaign.ContactAttempted,
        lambda c, now: c.record_attempt(
            index=1, chat_id=chat(1), outcome=AttemptOutcome.SKIPPED, error="no WhatsApp", at=now
        ),
    ),
    (
        Campaign.AttemptStarted,
        lambda c, now: c.begin_attempt(index=2, attempt_id="a-2", chat_id=chat(2), at=now),
    ),
    (
        Campaign.ContactAttempted,
        lambda c, now: c.record_attempt(
            index=2,
            chat_id=chat(2),
            outcome=AttemptOutcome.IN_DOUBT,
            error="timeout",
            attempt_id="a-2",
            at=now,
        ),
    ),
    (Campaign.CampaignCompleted, lambda c, now: c.complete(at=now)),
]
CANCEL: tuple[type[Campaign.Event], Step] = (
    Campaign.CampaignCancelled,
    lambda c, now: c.cancel(reason="wrong audience", at=now),
)

# Every prefix of the run, each ending in a different place, and a cancellation while paused.
HISTORIES = [RUN[:n] for n in range(len(RUN) + 1)] + [[*RUN[:7], CANCEL]]


def history_id(history: list[tuple[type[Campaign.Event], Step]]) -> str:
    last = history[-1][0].__name__ if history else "CampaignScheduled"
    return f"{len(history) + 1:02d}-{last}"


@pytest.mark.parametrize("history", HISTORIES, ids=[history_id(h) for h in HISTORIES])
def test_a_campaign_reloaded_after_each_kind_of_event_equals_the_live_one(
    campaigns: CampaignsApp,
    clock: ManualClock,
    history: list[tuple[type[Campaign.Event], Step]],
) -> None:
    campaign_id = scheduled(campaigns, 3)
    live = campaigns.load(campaign_id)
    for _, step in history:
        clock.advance(7)
        step(live, clock.now())
        campaigns.save(live)

    reloaded = reload(campaigns, live)

    expected_last = history[-1][0] if history else Campaign.CampaignScheduled
    assert type(list(campaigns.iter_history(campaign_id))[-1]) is expected_last
    assert recorded_state(reloaded) == recorded_state(live)
    assert campaign_view(reloaded) == campaign_view(live)


# -- any legal history --------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """A legal command, named so that hypothesis prints a readable history when one fails."""

    name: str
    apply: Step = field(repr=False)


def legal_moves(campaign: Campaign) -> list[Move]:
    """Return every command but cancel that the campaign accepts now (a model of the rules)."""
    status = campaign.state
    moves: list[Move] = []
    if status is CampaignStatus.SCHEDULED:
        moves = [Move("start", lambda c, now: c.start(at=now))]
    elif status is CampaignStatus.RUNNING and campaign.in_flight is not None:
        index, attempt_id = campaign.in_flight["index"], campaign.in_flight["attempt_id"]
        moves = [
            Move(f"record {outcome.value} {index}", _recorder(index, attempt_id, outcome))
            for outcome in AttemptOutcome
        ]
        moves.append(
            Move(
                f"abandon {index}",
                lambda c, now: c.abandon_attempt(
                    index=index, attempt_id=attempt_id, reason="422", at=now
                ),
            )
        )
        return moves
    elif status is CampaignStatus.RUNNING:
        index = campaign.next_index
        moves = [
            Move(
                "pause",
                lambda c, now: c.pause_at_next(reason=PauseReason.MANUAL, detail="", at=now),
            )
        ]
        if index < campaign.total:
            moves.append(
                Move(
                    f"begin {index}",
                    lambda c, now: c.begin_attempt(
                        index=index, attempt_id=f"a-{c.version}", chat_id=chat(index), at=now
                    ),
                )
            )
            moves.append(
                Move(
                    f"skip {index}",
                    lambda c, now: c.record_attempt(
                        index=index, chat_id=chat(index), outcome=AttemptOutcome.SKIPPED, at=now
                    ),
                )
            )
        else:
            moves.append(Move("complete", lambda c, now: c.complete(at=now)))
        if index > 0:
            moves.append(
                Move(
                    f"delay {index - 1}",
                    lambda c, now: c._pacing_delay_chosen(index=index - 1, seconds=3.25, at=now),
                )
            )
    elif status is CampaignStatus.PAUSED:
        moves = [
            Move("resume", lambda c, now: c.resume(at=now)),
            Move("auto-resume", lambda c, now: c.resume(at=now, automatic=True)),
        ]
        if campaign.auto_resume_withheld is None:
            moves.append(
                Move("withhold", lambda c, now: c.withhold_auto_resume(detail="flap", at=now))
            )
    return moves


def cancel_move(campaign: Campaign) -> Move | None:
    """Return the cancellation when the campaign accepts one (kept apart: it ends a history)."""
    if campaign.state in TERMINAL or campaign.in_flight is not None:
        return None
    return Move("cancel", lambda c, now: c.cancel(reason="operator", at=now))


def _recorder(index: int, attempt_id: str, outcome: AttemptOutcome) -> Step:
    def record(campaign: Campaign, now: datetime) -> None:
        campaign.record_attempt(
            index=index,
            chat_id=chat(index),
            outcome=outcome,
            message_id=f"msg-{index}" if outcome is AttemptOutcome.SENT else None,
            error=None if outcome is AttemptOutcome.SENT else outcome.value,
            attempt_id=attempt_id,
            at=now,
        )

    return record


def play(
    app: CampaignsApp, live: Campaign, move: Move, clock: ManualClock, data: st.DataObject
) -> None:
    clock.advance(data.draw(st.integers(min_value=0, max_value=3600), label="seconds"))
    move.apply(live, clock.now())
    app.save(live)


@settings(max_examples=200, deadline=None)
@given(size=st.integers(min_value=1, max_value=4), data=st.data())
def test_any_legal_history_replays_to_the_live_campaign(size: int, data: st.DataObject) -> None:
    clock = ManualClock()
    app = CampaignsApp(clock=clock, env=persistence_environment("memory://"))
    try:
        campaign_id = scheduled(app, size)
        live = app.load(campaign_id)
        for _ in range(data.draw(st.integers(min_value=0, max_value=60), label="steps")):
            moves = legal_moves(live)
            if not moves:
                break
            play(app, live, data.draw(st.sampled_from(moves), label="move"), clock, data)
        cancel = cancel_move(live)
        if cancel is not None and data.draw(st.booleans(), label="cancel at the end"):
            play(app, live, cancel, clock, data)

        reloaded = reload(app, live)
        attempted = [
            e for e in app.iter_history(campaign_id) if isinstance(e, Campaign.ContactAttempted)
        ]

        assert recorded_state(reloaded) == recorded_state(live)
        assert campaign_view(reloaded) == campaign_view(live)
        assert live.next_index == len(attempted) == reloaded.next_index
    finally:
        app.close()
