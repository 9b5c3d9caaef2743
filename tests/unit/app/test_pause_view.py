"""A pause's view says plainly whether, when and why not it resumes by itself."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.views import campaign_view
from domain.campaign import Campaign, PauseReason
from tests.unit.domain.test_campaign import T0, a_scheduled_campaign


def paused(reason: PauseReason, **options: object) -> Campaign:
    campaign = a_scheduled_campaign()
    campaign.options = {**campaign.options, **options}
    campaign.start(at=T0)
    return campaign


def test_a_timed_pause_resumes_by_itself_at_its_moment() -> None:
    campaign = paused(PauseReason.DAILY_CAP)
    campaign.pause_at_next(
        reason=PauseReason.DAILY_CAP, detail="3 sent", at=T0, resume_at=T0 + timedelta(hours=9)
    )

    pause = campaign_view(campaign).pause

    assert pause is not None
    assert (pause.resume_at, pause.resumes_by_itself, pause.withheld) == (
        T0 + timedelta(hours=9),
        True,
        None,
    )


def test_a_timed_pause_without_a_moment_says_so() -> None:
    campaign = paused(PauseReason.OUTSIDE_WINDOW)
    campaign.pause_at_next(reason=PauseReason.OUTSIDE_WINDOW, detail="never", at=T0)

    pause = campaign_view(campaign).pause

    assert pause is not None
    assert not pause.resumes_by_itself
    assert pause.withheld is not None
    assert "by hand" in pause.withheld


@pytest.mark.parametrize(
    ("reason", "auto_resume", "by_itself"),
    [
        (PauseReason.SESSION_NOT_WORKING, True, True),
        (PauseReason.SESSION_NOT_WORKING, False, False),
        (PauseReason.SHUTDOWN, True, True),
        (PauseReason.MANUAL, True, False),
        (PauseReason.TOO_MANY_FAILURES, True, False),
    ],
)
def test_other_pauses_resume_by_themselves_only_when_something_will_lift_them(
    reason: PauseReason, auto_resume: bool, by_itself: bool
) -> None:
    campaign = paused(reason, auto_resume=auto_resume)
    campaign.pause_at_next(reason=reason, detail="", at=T0)

    pause = campaign_view(campaign).pause

    assert pause is not None
    assert (pause.resume_at, pause.resumes_by_itself) == (None, by_itself)
    assert (pause.withheld is not None) == (
        reason is PauseReason.SESSION_NOT_WORKING and not auto_resume
    )


def test_a_withheld_automatic_resume_is_named() -> None:
    campaign = paused(PauseReason.SESSION_NOT_WORKING)
    campaign.pause_at_next(reason=PauseReason.SESSION_NOT_WORKING, detail="", at=T0)
    campaign.withhold_auto_resume(detail="the session flapped", at=T0)

    pause = campaign_view(campaign).pause

    assert pause is not None
    assert (pause.resumes_by_itself, pause.withheld) == (False, "the session flapped")
