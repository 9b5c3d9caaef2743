"""Sample views and facts for the console's view models and templates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from app.campaign_facts import CampaignFacts
from app.sessions import SessionView
from app.views import CampaignView, PauseView
from domain.lifecycle import CampaignStatus
from domain.session import SessionName

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def a_view(**overrides: Any) -> CampaignView:
    view = CampaignView(
        id=uuid4(),
        name="Spring sale",
        status=CampaignStatus.RUNNING,
        session=SessionName("default"),
        total=15,
        sent=3,
        failed=1,
        skipped=0,
        in_doubt=0,
        next_index=4,
        pause=None,
        scheduled_for=NOW,
        started_at=NOW,
        completed_at=None,
        version=10,
        message={"text": "Hi {name}", "defaults": {}, "image": None},
        pacing={"min_seconds": 30.0, "max_seconds": 60.0},
        options={"auto_resume": True},
        in_flight=None,
        cancelled=None,
        audience={"id": str(uuid4()), "content_hash": "x", "size": 15},
    )
    return replace(view, **overrides)


def a_pause(
    reason: str = "session_not_working", detail: str = "session status is STARTING", index: int = 3
) -> PauseView:
    return PauseView(reason=reason, detail=detail, at=NOW, index=index)


def facts_of(view: CampaignView, *, position: int = 1, auto_resume: bool = True) -> CampaignFacts:
    return CampaignFacts(
        id=view.id,
        position=position,
        status=view.status,
        session=view.session,
        version=view.version,
        sent=view.sent,
        failed=view.failed,
        skipped=view.skipped,
        in_doubt=view.in_doubt,
        scheduled_for=view.scheduled_for,
        pause_reason=view.pause.reason if view.pause else None,
        auto_resume=auto_resume,
        last_event_at=NOW,
        in_flight=False,
        max_pacing_seconds=60.0,
        simulate_typing=False,
        check_numbers=False,
    )


def ids(n: int) -> list[UUID]:
    return [uuid4() for _ in range(n)]


def a_session_view(**overrides: Any) -> SessionView:
    view = SessionView(
        session="sales",
        waha_status="WORKING",
        waha_detail="",
        lane=None,
        settings={"window": None, "daily_cap": None, "warmup": None, "recontact_after_days": None},
        settings_changed_at=None,
        settings_changed_by=None,
        day_started_at=datetime(2026, 5, 1, tzinfo=UTC),
        sent_today=0,
        effective_cap=None,
        cap_kind=None,
        remaining_today=None,
        window_open=None,
        window_opens_at=None,
        window_closes_at=None,
        running=[],
        paused=[],
    )
    return replace(view, **overrides)
