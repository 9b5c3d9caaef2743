"""Campaign facts folded from events equal the facts of the campaign reloaded from the store."""

from __future__ import annotations

from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.persistence import persistence_environment
from app.campaign_facts import CampaignFacts, CampaignFactsTracker
from app.campaigns import CampaignsApp
from app.editing import EditCampaign, edit_campaign
from app.log_follower import LogFollower
from domain.campaign import AttemptOutcome, PauseReason
from domain.errors import DomainError
from domain.lifecycle import CampaignStatus
from domain.pacing import CampaignOptions
from tests import histories
from tests.builders import scheduled
from tests.fakes.system import ManualClock

COMMANDS = (
    "start",
    "begin",
    "sent",
    "sent_then_wait",
    "failed",
    "skipped",
    "in_doubt",
    "abandon",
    "pause_manual",
    "pause_session",
    "resume",
    "auto_resume",
    "withhold",
    "complete",
    "cancel",
    "edit",
)


def act(app: CampaignsApp, campaign_id: UUID, command: str) -> None:  # noqa: C901 - one case each
    """Try one command on the campaign; an illegal one is refused, as in real life."""
    campaign = app.load(campaign_id)
    index = campaign.next_index
    chat = f"49151{10000000 + index}@c.us"
    flight = campaign.in_flight["attempt_id"] if campaign.in_flight else None
    outcomes = {
        "sent": AttemptOutcome.SENT,
        "sent_then_wait": AttemptOutcome.SENT,
        "failed": AttemptOutcome.FAILED,
        "skipped": AttemptOutcome.SKIPPED,
        "in_doubt": AttemptOutcome.IN_DOUBT,
    }
    try:
        if command in outcomes:
            histories.record_attempt(
                app,
                campaign_id,
                index=index,
                chat_id=chat,
                outcome=outcomes[command],
                message_id=f"M{index}" if command.startswith("sent") else None,
                attempt_id=flight,
                delay_seconds=5.0 if command == "sent_then_wait" else None,
            )
        elif command == "begin":
            histories.begin_attempt(
                app, campaign_id, index=index, attempt_id=f"a{campaign.version}", chat_id=chat
            )
        elif command == "abandon":
            histories.abandon_attempt(
                app, campaign_id, index=index, attempt_id=flight or "-", reason="no"
            )
        elif command.startswith("pause"):
            reason = (
                PauseReason.MANUAL if command == "pause_manual" else PauseReason.WAHA_UNAVAILABLE
            )
            histories.pause_campaign(app, campaign_id, reason=reason, detail="test")
        elif command.endswith("resume"):
            app.resume_campaign(campaign_id, automatic=command == "auto_resume")
        elif command == "withhold":
            histories.withhold_auto_resume(app, campaign_id, detail="flapping")
        elif command == "complete":
            histories.complete_campaign(app, campaign_id)
        elif command == "cancel":
            app.cancel_campaign(campaign_id)
        elif command == "edit":  # what the facts keep of pacing and options changes
            edit_campaign(
                app,
                campaign_id,
                EditCampaign(
                    pacing={"min_seconds": 30.0 + campaign.version, "max_seconds": 600.0},
                    options={"priority": campaign.version % 5, "check_numbers": True},
                ),
            )
        else:
            app.start_campaign(campaign_id)
    except DomainError:
        pass


def reloaded(app: CampaignsApp, tracker: CampaignFactsTracker, campaign_id: UUID) -> CampaignFacts:
    known = tracker.get(campaign_id)
    assert known is not None
    return CampaignFacts.of(app.load(campaign_id), known.position)


@settings(max_examples=100, deadline=None)
@given(
    before=st.lists(st.sampled_from(COMMANDS), max_size=40),
    after=st.lists(st.sampled_from(COMMANDS), min_size=1, max_size=80),
    auto_resume=st.booleans(),
    seconds=st.integers(min_value=0, max_value=3600),
)
def test_facts_folded_from_events_equal_the_reloaded_campaigns(
    before: list[str], after: list[str], auto_resume: bool, seconds: int
) -> None:
    clock = ManualClock()
    app = CampaignsApp(clock=clock, env=persistence_environment("memory://"))
    options = CampaignOptions(auto_resume=auto_resume)
    first = scheduled(app, 4, options=options)
    from_the_start = CampaignFactsTracker(app, LogFollower(app))
    from_the_start.refresh()
    for command in ["start", *before]:  # most histories worth checking begin with a start
        clock.advance(seconds)
        act(app, first, command)
    # This one starts from the campaigns as stored, then folds what follows.
    from_the_middle = CampaignFactsTracker(app, LogFollower(app))
    from_the_middle.refresh()
    second = scheduled(app, 3, options=options)
    for number, command in enumerate(after):
        clock.advance(seconds)
        act(app, first if number % 3 else second, command)
        if number % 7 == 0:
            from_the_start.refresh()

    from_the_start.refresh()
    from_the_middle.refresh()

    for tracker in (from_the_start, from_the_middle):
        assert tracker.get(first) == reloaded(app, tracker, first)
        assert tracker.get(second) == reloaded(app, tracker, second)
        assert [f.id for f in tracker.facts()] == [first, second]
    app.close()


def test_refresh_names_the_campaigns_that_changed(campaigns: CampaignsApp) -> None:
    first, second = scheduled(campaigns), scheduled(campaigns)
    tracker = CampaignFactsTracker(campaigns, LogFollower(campaigns))
    assert tracker.refresh() == {first, second}

    campaigns.start_campaign(second)

    assert tracker.refresh() == {second}
    assert tracker.refresh() == set()
    facts = tracker.get(second)
    assert facts is not None
    assert facts.status is CampaignStatus.RUNNING
