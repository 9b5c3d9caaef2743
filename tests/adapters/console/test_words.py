"""Pause reasons, what a paused campaign will do, and the timeline, in the operator's words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.console.words import because, resume_outlook, timeline_entries
from app.audit.timeline import Milestone

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def test_a_session_pause_names_the_status_the_session_was_in() -> None:
    assert because("session_not_working", "STARTING") == "the session was STARTING"
    assert because("session_not_working", "session status is STOPPED") == "the session was STOPPED"


def test_other_pauses_say_why_with_their_detail() -> None:
    assert because("too_many_failures", "5 sends in a row failed") == (
        "too many sends in a row failed (5 sends in a row failed)"
    )
    assert because("manual", "paused by operator") == "an operator paused it"
    assert because("a_reason_from_the_future", "") == "a reason from the future"


def test_a_session_outage_resumes_by_itself_unless_withheld_or_switched_off() -> None:
    on = resume_outlook("session_not_working", auto_resume=True, auto_resume_option=True)
    withheld = resume_outlook("session_not_working", auto_resume=False, auto_resume_option=True)
    off = resume_outlook("waha_unavailable", auto_resume=False, auto_resume_option=False)

    assert on.by_itself
    assert on.words == "resumes by itself when the session works again"
    assert not withheld.by_itself
    assert "withheld" in withheld.words
    assert not off.by_itself
    assert "automatic resume is off" in off.words


def test_a_manual_pause_waits_for_a_person_and_says_why() -> None:
    outlook = resume_outlook("manual", auto_resume=True, auto_resume_option=True)

    assert not outlook.by_itself
    assert outlook.words.startswith("will not resume by itself (an operator paused it")


def test_a_planned_resume_time_is_given_when_the_view_has_one() -> None:
    outlook = resume_outlook(
        "rate_limited",
        auto_resume=False,
        auto_resume_option=True,
        resume_at=T0 + timedelta(minutes=12),
        now=T0,
    )

    assert outlook.by_itself
    assert outlook.words == "resumes by itself at 2026-05-01 09:12:00 UTC (in 12 min)"


def test_a_pause_and_its_resume_are_one_sentence() -> None:
    milestones = [
        Milestone(T0, 1, "scheduled", detail=f"for {T0.isoformat()}"),
        Milestone(T0, 2, "started"),
        Milestone(
            T0 + timedelta(seconds=30),
            9,
            "paused",
            index=3,
            reason="session_not_working",
            detail="session status is STARTING",
        ),
        Milestone(T0 + timedelta(seconds=42), 10, "resumed", index=3, reason="automatic"),
        Milestone(T0 + timedelta(minutes=5), 40, "completed"),
    ]

    entries = timeline_entries(milestones, 15, T0 + timedelta(hours=1))

    assert [e.words for e in entries] == [
        "scheduled for 2026-05-01 09:00:00 UTC",
        "started sending",
        (
            "paused at contact 4 of 15 (index 3) because the session was STARTING, "
            "resumed by itself 12 s later"
        ),
        "completed: every contact handled",
    ]


def test_a_pause_not_yet_over_says_how_long_so_far() -> None:
    milestones = [
        Milestone(T0, 1, "scheduled", detail=f"for {T0.isoformat()}"),
        Milestone(T0, 5, "paused", index=0, reason="manual", detail="paused by operator"),
        Milestone(T0 + timedelta(seconds=5), 6, "auto-resume withheld", detail="it flapped"),
    ]

    entries = timeline_entries(milestones, 1_500, T0 + timedelta(minutes=3))

    assert entries[1].words == (
        "paused at contact 1 of 1,500 (index 0) because an operator paused it, "
        "paused for 3 min so far"
    )
    assert entries[2].words == "stayed paused although the session works: it flapped"
    assert entries[2].kind == "withheld"


def test_a_cancel_says_where_and_why() -> None:
    milestones = [
        Milestone(T0, 1, "scheduled", detail=f"for {T0.isoformat()}"),
        Milestone(T0, 3, "cancelled", index=7, reason="wrong list"),
    ]

    assert timeline_entries(milestones, 10, T0)[1].words == (
        "cancelled at contact 8 of 10 (index 7): wrong list"
    )
