"""Campaign logs for audit tests: recorded through the app, or crafted to break an invariant."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from app.campaigns import CampaignsApp
from domain.campaign import AttemptOutcome, Campaign, PauseReason
from tests import histories
from tests.builders import scheduled
from tests.fakes.system import ManualClock

PACING_SECONDS = 30.0


def chat(index: int) -> str:
    """Return the chat id of contact `index` of tests.builders.contacts()."""
    return f"49151{10000000 + index}@c.us"


def record_sends(
    app: CampaignsApp,
    clock: ManualClock,
    campaign_id: UUID,
    indices: Iterable[int],
    *,
    outcome: AttemptOutcome = AttemptOutcome.SENT,
    delay: float = PACING_SECONDS,
) -> None:
    """Send to each contact as the runner does: intent, outcome, then the wait after it."""
    for index in indices:
        attempt = f"a-{index}"
        histories.begin_attempt(
            app, campaign_id, index=index, attempt_id=attempt, chat_id=chat(index)
        )
        clock.advance(1)
        histories.record_attempt(
            app,
            campaign_id,
            index=index,
            chat_id=chat(index),
            outcome=outcome,
            message_id=f"m-{index}" if outcome is AttemptOutcome.SENT else None,
            error="rejected" if outcome is AttemptOutcome.FAILED else None,
            attempt_id=attempt,
            delay_seconds=delay,
        )
        clock.advance(delay)


def paused_campaign(app: CampaignsApp, clock: ManualClock, n: int = 4, pause_at: int = 2) -> UUID:
    """Return a campaign that sent to contacts before `pause_at`, then paused there."""
    campaign_id: UUID = scheduled(app, n)
    clock.advance(60)
    app.start_campaign(campaign_id)
    record_sends(app, clock, campaign_id, range(pause_at))
    histories.pause_campaign(
        app, campaign_id, reason=PauseReason.SESSION_NOT_WORKING, detail="session STOPPED"
    )
    return campaign_id


def completed_campaign(
    app: CampaignsApp, clock: ManualClock, n: int = 4, pause_at: int = 2
) -> UUID:
    """Return a campaign that paused at `pause_at`, resumed by itself and completed."""
    campaign_id = paused_campaign(app, clock, n, pause_at)
    clock.advance(600)
    app.resume_campaign(campaign_id, automatic=True)
    record_sends(app, clock, campaign_id, range(pause_at, n))
    histories.complete_campaign(app, campaign_id)
    return campaign_id


def last_version(app: CampaignsApp, campaign_id: UUID) -> int:
    """Return the version of the campaign's last stored event."""
    return app.recorder.select_events(campaign_id, desc=True, limit=1)[0].originator_version


# Fields later versions added; a crafted event leaves them empty unless a test says otherwise.
_ADDED_SINCE: dict[type[Any], tuple[str, ...]] = {
    Campaign.AttemptStarted: ("message_id", "lease_epoch", "text"),
    Campaign.ContactAttempted: ("reason",),
    Campaign.CampaignPaused: ("resume_at",),
}


def append_crafted(
    app: CampaignsApp, clock: ManualClock, campaign_id: UUID, event_class: type[Any], **fields: Any
) -> None:
    """Store an event the aggregate would refuse, straight through the mapper and recorder."""
    for name in _ADDED_SINCE.get(event_class, ()):
        fields.setdefault(name, None)
    event = event_class(
        originator_id=campaign_id,
        originator_version=last_version(app, campaign_id) + 1,
        timestamp=clock.now(),
        at=clock.now(),
        **fields,
    )
    app.recorder.insert_events([app.mapper.to_stored_event(event)])


def append_second_send(
    app: CampaignsApp, clock: ManualClock, campaign_id: UUID, index: int
) -> None:
    """Store a second start and sent outcome for a contact already sent to."""
    append_crafted(
        app,
        clock,
        campaign_id,
        Campaign.AttemptStarted,
        index=index,
        attempt_id="again",
        chat_id=chat(index),
    )
    append_crafted(
        app,
        clock,
        campaign_id,
        Campaign.ContactAttempted,
        index=index,
        chat_id=chat(index),
        outcome="sent",
        message_id="m-again",
        error=None,
        attempt_id="again",
    )


def delete_row(path: Path, campaign_id: UUID, version: int) -> None:
    """Delete one stored event from a SQLite store, as a careless hand with sqlite3 would."""
    with closing(sqlite3.connect(path)) as db, db:
        deleted = db.execute(
            "DELETE FROM stored_events WHERE originator_id = ? AND originator_version = ?",
            (campaign_id.hex, version),
        ).rowcount
    assert deleted == 1


def append_unknown_event(app: CampaignsApp, campaign_id: UUID) -> None:
    """Store an event whose class no longer exists, as a careless rename would leave it."""
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=campaign_id,
                originator_version=last_version(app, campaign_id) + 1,
                topic="waha_campaigns:Campaign.CampaignVanished",
                state=b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-28T09:00:00Z"}}',
            )
        ]
    )
