"""The Campaign aggregate: what each command records, and what it refuses without recording."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from uuid import UUID

import pytest

from domain.campaign import AttemptInFlightError, AttemptOutcome, Campaign, PauseReason
from domain.errors import AttemptOutOfOrderError, DomainError, IllegalTransitionError
from domain.lifecycle import CampaignStatus

E = TypeVar("E")

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)
AUDIENCE_ID = UUID("0b6f2d4e-5a3c-4f1b-8e7d-9c2a1b3d4e5f")

SCHEDULED = CampaignStatus.SCHEDULED
RUNNING = CampaignStatus.RUNNING
PAUSED = CampaignStatus.PAUSED
COMPLETED = CampaignStatus.COMPLETED
CANCELLED = CampaignStatus.CANCELLED


def chat(index: int) -> str:
    return f"49151{10000000 + index}@c.us"


def attempt(index: int) -> str:
    return f"attempt-{index}"


def a_scheduled_campaign(size: int = 3) -> Campaign:
    return Campaign(
        name="Spring sale",
        session="default",
        message={"text": "Hello {name}", "defaults": {}, "image": None},
        audience={"id": str(AUDIENCE_ID), "content_hash": "0" * 64, "size": size},
        scheduled_for=T0,
        pacing={"min_seconds": 30.0, "max_seconds": 60.0},
        options={"auto_resume": True},
        at=T0,
    )


def handle(campaign: Campaign, outcome: AttemptOutcome = AttemptOutcome.SENT) -> None:
    """Send to the next contact the way the runner does: intent first, then the outcome."""
    index = campaign.next_index
    campaign.begin_attempt(index=index, attempt_id=attempt(index), chat_id=chat(index), at=T0)
    campaign.record_attempt(
        index=index,
        chat_id=chat(index),
        outcome=outcome,
        message_id=f"msg-{index}" if outcome is AttemptOutcome.SENT else None,
        attempt_id=attempt(index),
        at=T0,
    )


def a_running_campaign(size: int = 3, handled: int = 0) -> Campaign:
    campaign = a_scheduled_campaign(size)
    campaign.start(at=T0)
    for _ in range(handled):
        handle(campaign)
    return campaign


def a_paused_campaign(size: int = 3, handled: int = 1) -> Campaign:
    campaign = a_running_campaign(size, handled)
    campaign.pause_at_next(reason=PauseReason.SESSION_NOT_WORKING, detail="STOPPED", at=T0)
    return campaign


def a_completed_campaign(size: int = 3) -> Campaign:
    campaign = a_running_campaign(size, handled=size)
    campaign.complete(at=T0)
    return campaign


def a_cancelled_campaign(size: int = 3, handled: int = 1) -> Campaign:
    campaign = a_running_campaign(size, handled)
    campaign.cancel(reason="wrong audience", at=T0)
    return campaign


def a_campaign_sending(size: int = 3, handled: int = 1) -> Campaign:
    """A running campaign with the send to its next contact in flight."""
    campaign = a_running_campaign(size, handled)
    index = campaign.next_index
    campaign.begin_attempt(index=index, attempt_id=attempt(index), chat_id=chat(index), at=T0)
    return campaign


def only_event(campaign: Campaign, event_type: type[E]) -> E:
    events = campaign.collect_events()
    assert [type(e) for e in events] == [event_type]
    event = events[0]
    assert isinstance(event, event_type)
    return event


def refused(
    campaign: Campaign, error: type[DomainError], command: Callable[[], object]
) -> DomainError:
    """Run `command`, expect `error`, and check that the campaign recorded and changed nothing."""
    campaign.collect_events()
    before = copy.deepcopy(campaign)
    with pytest.raises(error) as raised:
        command()
    assert campaign.pending_events == []
    assert campaign == before
    return raised.value


# -- every state against every command ------------------------------------------------------

# Each aggregate command, called with arguments that fit the campaign it is given.
COMMANDS: dict[str, Callable[[Campaign], None]] = {
    "start": lambda c: c.start(at=LATER),
    "pause_at_next": lambda c: c.pause_at_next(reason=PauseReason.MANUAL, detail="", at=LATER),
    "resume": lambda c: c.resume(at=LATER),
    "complete": lambda c: c.complete(at=LATER),
    "cancel": lambda c: c.cancel(reason="operator", at=LATER),
    "begin_attempt": lambda c: c.begin_attempt(
        index=c.next_index, attempt_id="attempt-new", chat_id=chat(c.next_index), at=LATER
    ),
    "record_attempt": lambda c: c.record_attempt(
        index=c.next_index, chat_id=chat(c.next_index), outcome=AttemptOutcome.SKIPPED, at=LATER
    ),
    "abandon_attempt": lambda c: c.abandon_attempt(
        index=c.next_index,
        attempt_id=c.in_flight["attempt_id"] if c.in_flight else "attempt-none",
        reason="422 session not working",
        at=LATER,
    ),
    "request_pause": lambda c: c.request_pause(detail="lunch", at=LATER),
    "request_cancel": lambda c: c.request_cancel(reason="wrong list", at=LATER),
    "withhold_auto_resume": lambda c: c.withhold_auto_resume(detail="flapping", at=LATER),
}

# The name an illegal command's error gives it: the table's trigger, or for the operator's
# requests what the operator asked for.
TRIGGER = {name: name for name in COMMANDS} | {
    "pause_at_next": "pause",
    "request_pause": "pause",
    "request_cancel": "cancel",
}

ALLOWED: dict[tuple[CampaignStatus, str], tuple[CampaignStatus, type[Campaign.Event]]] = {
    (SCHEDULED, "start"): (RUNNING, Campaign.CampaignStarted),
    (SCHEDULED, "cancel"): (CANCELLED, Campaign.CampaignCancelled),
    (RUNNING, "pause_at_next"): (PAUSED, Campaign.CampaignPaused),
    (RUNNING, "complete"): (COMPLETED, Campaign.CampaignCompleted),
    (RUNNING, "cancel"): (CANCELLED, Campaign.CampaignCancelled),
    (RUNNING, "begin_attempt"): (RUNNING, Campaign.AttemptStarted),
    (RUNNING, "record_attempt"): (RUNNING, Campaign.ContactAttempted),
    (RUNNING, "abandon_attempt"): (RUNNING, Campaign.AttemptAbandoned),
    (RUNNING, "request_pause"): (RUNNING, Campaign.PauseRequested),
    (RUNNING, "request_cancel"): (RUNNING, Campaign.CancelRequested),
    (PAUSED, "resume"): (RUNNING, Campaign.CampaignResumed),
    (PAUSED, "cancel"): (CANCELLED, Campaign.CampaignCancelled),
    (PAUSED, "withhold_auto_resume"): (PAUSED, Campaign.AutoResumeWithheld),
}

PAIRS = [(status, command) for status in CampaignStatus for command in COMMANDS]
ILLEGAL = [pair for pair in PAIRS if pair not in ALLOWED]


def pair_id(pair: tuple[CampaignStatus, str]) -> str:
    return f"{pair[0].value}-{pair[1]}"


def a_campaign_for(status: CampaignStatus, command: str) -> Campaign:
    """A campaign in `status` meeting every precondition of `command` except, maybe, the state."""
    campaign: Campaign
    if status is SCHEDULED:
        campaign = a_scheduled_campaign()
    elif status is RUNNING and command == "complete":
        campaign = a_running_campaign(handled=3)
    elif status is RUNNING and command == "abandon_attempt":
        campaign = a_campaign_sending(handled=1)
    elif status is RUNNING:
        campaign = a_running_campaign(handled=1)
    elif status is PAUSED:
        campaign = a_paused_campaign(handled=1)
    elif status is COMPLETED:
        campaign = a_completed_campaign()
    else:
        campaign = a_cancelled_campaign()
    assert campaign.state is status
    campaign.collect_events()
    return campaign


@pytest.mark.parametrize(("status", "command"), list(ALLOWED), ids=[pair_id(p) for p in ALLOWED])
def test_an_allowed_command_moves_to_its_state_and_records_its_event(
    status: CampaignStatus, command: str
) -> None:
    campaign = a_campaign_for(status, command)
    expected_status, expected_event = ALLOWED[status, command]

    COMMANDS[command](campaign)

    assert campaign.state is expected_status
    assert [type(e) for e in campaign.collect_events()] == [expected_event]


@pytest.mark.parametrize(("status", "command"), ILLEGAL, ids=[pair_id(p) for p in ILLEGAL])
def test_an_illegal_command_raises_and_records_nothing(
    status: CampaignStatus, command: str
) -> None:
    campaign = a_campaign_for(status, command)

    error = refused(campaign, IllegalTransitionError, lambda: COMMANDS[command](campaign))

    assert isinstance(error, IllegalTransitionError)
    assert error.command == TRIGGER[command]
    assert error.status == status.value
    assert campaign.state is status


# -- attempts and where a run goes on ---------------------------------------------------------


@pytest.mark.parametrize("outcome", list(AttemptOutcome), ids=lambda o: o.value)
def test_each_outcome_moves_next_index_past_the_contact(outcome: AttemptOutcome) -> None:
    campaign = a_running_campaign(handled=1)

    handle(campaign, outcome)

    assert campaign.next_index == 2
    assert campaign.in_flight is None
    assert campaign.counts[outcome.value] == 1 + (outcome is AttemptOutcome.SENT)


def test_an_outcome_is_recorded_with_its_attempt_and_time() -> None:
    campaign = a_campaign_sending(handled=0)
    campaign.collect_events()

    campaign.record_attempt(
        index=0,
        chat_id=chat(0),
        outcome=AttemptOutcome.SENT,
        message_id="msg-0",
        attempt_id=attempt(0),
        at=LATER,
    )

    recorded = only_event(campaign, Campaign.ContactAttempted)
    assert (recorded.index, recorded.outcome, recorded.attempt_id) == (0, "sent", attempt(0))
    assert (recorded.message_id, recorded.at) == ("msg-0", LATER)


def test_a_skipped_contact_needs_no_attempt() -> None:
    campaign = a_running_campaign(handled=0)

    campaign.record_attempt(
        index=0, chat_id=chat(0), outcome=AttemptOutcome.SKIPPED, error="not on WhatsApp", at=T0
    )

    assert campaign.next_index == 1
    assert campaign.counts["skipped"] == 1


def test_beginning_an_attempt_records_the_send_in_flight() -> None:
    campaign = a_running_campaign(handled=1)
    campaign.collect_events()

    campaign.begin_attempt(index=1, attempt_id="a-1", chat_id=chat(1), at=LATER)

    assert only_event(campaign, Campaign.AttemptStarted).attempt_id == "a-1"
    assert campaign.in_flight == {
        "index": 1,
        "attempt_id": "a-1",
        "chat_id": chat(1),
        "message_id": None,
        "text": None,
        "at": LATER,
    }
    assert campaign.next_index == 1


@pytest.mark.parametrize("index", [0, 2, 7], ids=["handled", "after-next", "far"])
def test_an_attempt_for_another_contact_than_the_next_is_refused(index: int) -> None:
    campaign = a_running_campaign(handled=1)

    refused(
        campaign,
        AttemptOutOfOrderError,
        lambda: campaign.begin_attempt(index=index, attempt_id="a", chat_id=chat(index), at=T0),
    )


@pytest.mark.parametrize("index", [0, 2], ids=["handled", "after-next"])
def test_an_outcome_for_another_contact_than_the_next_is_refused(index: int) -> None:
    campaign = a_running_campaign(handled=1)

    refused(
        campaign,
        AttemptOutOfOrderError,
        lambda: campaign.record_attempt(
            index=index, chat_id=chat(index), outcome=AttemptOutcome.SKIPPED, at=T0
        ),
    )


def test_a_sent_outcome_without_an_attempt_id_is_refused() -> None:
    campaign = a_running_campaign(handled=0)

    refused(
        campaign,
        AttemptOutOfOrderError,
        lambda: campaign.record_attempt(
            index=0, chat_id=chat(0), outcome=AttemptOutcome.SENT, message_id="m", at=T0
        ),
    )


def test_an_outcome_for_another_attempt_than_the_one_in_flight_is_refused() -> None:
    campaign = a_campaign_sending(handled=0)

    refused(
        campaign,
        AttemptOutOfOrderError,
        lambda: campaign.record_attempt(
            index=0, chat_id=chat(0), outcome=AttemptOutcome.SENT, attempt_id="other", at=T0
        ),
    )


def test_an_outcome_without_the_attempt_in_flight_is_refused() -> None:
    campaign = a_campaign_sending(handled=0)

    refused(
        campaign,
        AttemptOutOfOrderError,
        lambda: campaign.record_attempt(
            index=0, chat_id=chat(0), outcome=AttemptOutcome.SKIPPED, at=T0
        ),
    )


def test_a_second_attempt_while_one_is_in_flight_is_refused() -> None:
    campaign = a_campaign_sending(handled=0)

    refused(
        campaign,
        AttemptInFlightError,
        lambda: campaign.begin_attempt(index=0, attempt_id="again", chat_id=chat(0), at=T0),
    )


@pytest.mark.parametrize("command", ["begin_attempt", "record_attempt"])
def test_an_attempt_beyond_the_last_contact_is_refused(command: str) -> None:
    campaign = a_running_campaign(size=2, handled=2)

    refused(campaign, DomainError, lambda: COMMANDS[command](campaign))


def test_a_sent_outcome_for_an_attempt_never_begun_is_refused() -> None:
    campaign = a_running_campaign(handled=0)

    refused(
        campaign,
        AttemptOutOfOrderError,
        lambda: campaign.record_attempt(
            index=0, chat_id=chat(0), outcome=AttemptOutcome.SENT, attempt_id="ghost", at=T0
        ),
    )


# -- abandoned attempts -----------------------------------------------------------------------


def test_abandoning_the_attempt_in_flight_leaves_the_contact_next() -> None:
    campaign = a_campaign_sending(handled=1)
    campaign.collect_events()

    campaign.abandon_attempt(index=1, attempt_id=attempt(1), reason="422", at=LATER)

    assert only_event(campaign, Campaign.AttemptAbandoned).reason == "422"
    assert campaign.in_flight is None
    assert campaign.next_index == 1
    assert sum(campaign.counts.values()) == 1


def test_a_contact_whose_attempt_was_abandoned_can_be_attempted_again() -> None:
    campaign = a_campaign_sending(handled=1)
    campaign.abandon_attempt(index=1, attempt_id=attempt(1), reason="422", at=T0)

    handle(campaign)

    assert campaign.next_index == 2


def test_abandoning_another_attempt_than_the_one_in_flight_is_refused() -> None:
    campaign = a_campaign_sending(handled=1)

    refused(
        campaign,
        AttemptOutOfOrderError,
        lambda: campaign.abandon_attempt(index=1, attempt_id="other", reason="422", at=T0),
    )


def test_abandoning_with_nothing_in_flight_is_refused() -> None:
    campaign = a_running_campaign(handled=1)

    refused(
        campaign,
        AttemptOutOfOrderError,
        lambda: campaign.abandon_attempt(index=1, attempt_id=attempt(1), reason="422", at=T0),
    )


# -- pacing delays of old logs ----------------------------------------------------------------


def test_a_delay_an_old_log_recorded_still_replays_into_the_next_contact_time() -> None:
    campaign = a_running_campaign(handled=2)
    campaign.collect_events()

    # Campaigns paced themselves before send lanes; their logs replay as they were.
    campaign._pacing_delay_chosen(index=1, seconds=37.5, at=LATER)

    delay = only_event(campaign, Campaign.PacingDelayChosen)
    assert (delay.index, delay.seconds) == (1, 37.5)
    assert campaign.next_contact_at == LATER + timedelta(seconds=37.5)


# -- requests to a live run -------------------------------------------------------------------


def test_a_pause_request_is_kept_until_the_run_pauses() -> None:
    campaign = a_running_campaign(handled=1)
    campaign.request_pause(detail="lunch", at=LATER)
    asked = dict(campaign.pause_requested or {})

    campaign.pause_at_next(reason=PauseReason.MANUAL, detail="lunch", at=LATER)

    assert asked == {"detail": "lunch", "at": LATER}
    assert (campaign.pause_requested, campaign.state) == (None, PAUSED)


def test_a_second_pause_request_records_nothing_more() -> None:
    campaign = a_running_campaign(handled=1)
    campaign.request_pause(detail="lunch", at=LATER)
    campaign.collect_events()

    campaign.request_pause(detail="again", at=LATER)

    assert campaign.collect_events() == []


def test_a_cancel_request_is_cleared_by_the_cancel() -> None:
    campaign = a_running_campaign(handled=1)
    campaign.request_cancel(reason="wrong list", at=LATER)

    campaign.cancel(reason="wrong list", at=LATER)

    assert (campaign.cancel_requested, campaign.state) == (None, CANCELLED)


def test_an_abandoned_attempt_keeps_its_message_id_for_the_retry() -> None:
    campaign = a_running_campaign(handled=1)
    campaign.begin_attempt(
        index=1, attempt_id="a-1", chat_id=chat(1), message_id="BAE5000000000001", at=LATER
    )

    campaign.abandon_attempt(index=1, attempt_id="a-1", reason="500", at=LATER)

    assert campaign.abandoned == {"index": 1, "message_id": "BAE5000000000001"}
    assert campaign.next_index == 1


# -- pause and resume -------------------------------------------------------------------------


def test_a_pause_is_recorded_at_the_next_contact_to_handle() -> None:
    campaign = a_running_campaign(size=5, handled=2)
    campaign.collect_events()

    campaign.pause_at_next(reason=PauseReason.SESSION_NOT_WORKING, detail="STOPPED", at=LATER)

    paused = only_event(campaign, Campaign.CampaignPaused)
    assert paused.index == campaign.next_index == 2
    assert paused.reason == "session_not_working"
    assert campaign.pause == {
        "index": 2,
        "reason": "session_not_working",
        "detail": "STOPPED",
        "at": LATER,
        "resume_at": None,
    }


def test_a_resume_starts_at_the_contact_the_pause_recorded() -> None:
    campaign = a_paused_campaign(size=5, handled=2)
    assert campaign.pause is not None
    paused_index = campaign.pause["index"]
    campaign.collect_events()

    campaign.resume(at=LATER)

    assert only_event(campaign, Campaign.CampaignResumed).index == paused_index
    assert campaign.next_index == paused_index
    assert campaign.pause is None


def test_pausing_while_a_send_is_in_flight_is_refused() -> None:
    campaign = a_campaign_sending()

    refused(
        campaign,
        AttemptInFlightError,
        lambda: campaign.pause_at_next(reason=PauseReason.MANUAL, detail="", at=T0),
    )


def test_cancelling_while_a_send_is_in_flight_is_refused() -> None:
    campaign = a_campaign_sending()

    refused(campaign, AttemptInFlightError, lambda: campaign.cancel(reason="stop", at=T0))


def test_withholding_auto_resume_keeps_the_campaign_paused_with_the_reason() -> None:
    campaign = a_paused_campaign()

    campaign.withhold_auto_resume(detail="flapping", at=LATER)

    assert campaign.state is PAUSED
    assert campaign.auto_resume_withheld == "flapping"


def test_withholding_auto_resume_twice_in_one_pause_is_refused() -> None:
    campaign = a_paused_campaign()
    campaign.withhold_auto_resume(detail="flapping", at=T0)

    refused(campaign, DomainError, lambda: campaign.withhold_auto_resume(detail="again", at=T0))


def test_a_resume_lifts_the_withholding() -> None:
    campaign = a_paused_campaign()
    campaign.withhold_auto_resume(detail="flapping", at=T0)

    campaign.resume(at=LATER)

    assert campaign.auto_resume_withheld is None


# -- completion and cancellation --------------------------------------------------------------


def test_completing_before_every_contact_is_handled_is_refused() -> None:
    campaign = a_running_campaign(size=3, handled=2)

    refused(campaign, DomainError, lambda: campaign.complete(at=T0))


def test_completing_while_the_last_send_is_in_flight_is_refused() -> None:
    campaign = a_campaign_sending(size=3, handled=2)

    refused(campaign, DomainError, lambda: campaign.complete(at=T0))


def test_completion_records_the_totals() -> None:
    campaign = a_running_campaign(size=3, handled=0)
    handle(campaign, AttemptOutcome.SENT)
    handle(campaign, AttemptOutcome.FAILED)
    handle(campaign, AttemptOutcome.IN_DOUBT)
    campaign.collect_events()

    campaign.complete(at=LATER)

    totals = only_event(campaign, Campaign.CampaignCompleted).totals
    assert totals == {"sent": 1, "failed": 1, "skipped": 0, "in_doubt": 1}
    assert campaign.completed_at == LATER


def test_a_cancellation_records_where_and_why_the_campaign_ended() -> None:
    campaign = a_paused_campaign(size=5, handled=3)

    campaign.cancel(reason="wrong audience", at=LATER)

    assert campaign.cancelled == {"reason": "wrong audience", "index": 3, "at": LATER}
    assert campaign.pause is None


# -- consecutive failures and automatic resumes -------------------------------------------------


def test_failed_outcomes_in_a_row_are_counted() -> None:
    campaign = a_running_campaign(size=5)

    for _ in range(3):
        handle(campaign, AttemptOutcome.FAILED)

    assert campaign.consecutive_failures == 3


def test_a_sent_outcome_ends_a_run_of_failures() -> None:
    campaign = a_running_campaign(size=5)
    handle(campaign, AttemptOutcome.FAILED)
    handle(campaign, AttemptOutcome.FAILED)

    handle(campaign, AttemptOutcome.SENT)

    assert campaign.consecutive_failures == 0


def test_a_resume_ends_a_run_of_failures() -> None:
    campaign = a_running_campaign(size=5)
    handle(campaign, AttemptOutcome.FAILED)
    handle(campaign, AttemptOutcome.FAILED)
    campaign.pause_at_next(reason=PauseReason.TOO_MANY_FAILURES, detail="2 failed", at=T0)

    campaign.resume(at=LATER)

    assert campaign.consecutive_failures == 0


def pause_and_resume(campaign: Campaign, at: datetime, *, automatic: bool) -> None:
    campaign.pause_at_next(reason=PauseReason.SESSION_NOT_WORKING, detail="", at=at)
    campaign.resume(at=at, automatic=automatic)


def test_auto_resumes_since_counts_automatic_resumes_at_or_after_the_time() -> None:
    campaign = a_running_campaign()
    for minute in (0, 10, 20, 30):
        pause_and_resume(campaign, T0 + timedelta(minutes=minute), automatic=True)

    assert campaign.auto_resumes_since(T0 + timedelta(minutes=10)) == 3
    assert campaign.auto_resumes_since(T0 + timedelta(minutes=11)) == 2
    assert campaign.auto_resumes_since(T0 + timedelta(minutes=31)) == 0


def test_auto_resumes_since_ignores_manual_resumes() -> None:
    campaign = a_running_campaign()
    pause_and_resume(campaign, T0, automatic=False)
    pause_and_resume(campaign, T0, automatic=True)

    assert campaign.auto_resumes_since(T0) == 1


def test_only_the_latest_automatic_resumes_are_kept() -> None:
    campaign = a_running_campaign()
    for minute in range(25):
        pause_and_resume(campaign, T0 + timedelta(minutes=minute), automatic=True)

    assert len(campaign.auto_resumes) == 20
    assert campaign.auto_resumes_since(T0) == 20
    assert campaign.auto_resumes[-1] == T0 + timedelta(minutes=24)
