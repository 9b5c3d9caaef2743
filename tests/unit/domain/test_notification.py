"""A notification's attempts: one under way at a time, a stale one failed, none after the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.errors import DomainError
from domain.notification import (
    STALE_ATTEMPT,
    AttemptUnderWayError,
    Notification,
    NotificationClosedError,
    Notifier,
    notification_id,
)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
CAMPAIGN = UUID("6f1c2b8e-3a4d-4e5f-8a9b-0c1d2e3f4a5b")


def due() -> Notification:
    return Notification(campaign_id=CAMPAIGN, version=7, kind="campaign.paused", payload={}, at=T0)


def test_one_notification_per_campaign_event() -> None:
    assert due().id == notification_id(CAMPAIGN, 7) != notification_id(CAMPAIGN, 8)


def test_a_second_attempt_waits_while_the_first_is_under_way() -> None:
    notification = due()
    notification.start_attempt(at=T0)

    with pytest.raises(AttemptUnderWayError):
        notification.start_attempt(at=T0 + STALE_ATTEMPT - timedelta(seconds=1))


def test_an_attempt_left_under_way_is_failed_then_tried_again() -> None:
    notification = due()
    notification.start_attempt(at=T0)

    attempt = notification.start_attempt(at=T0 + STALE_ATTEMPT)

    failed = notification.pending_events[-2]
    assert attempt == 2
    assert isinstance(failed, Notification.DeliveryFailed)
    assert (failed.attempt, failed.status) == (1, None)
    assert "stopped mid-delivery" in failed.error


def test_nothing_is_sent_after_a_success_or_after_giving_up() -> None:
    delivered, given_up = due(), due()
    delivered.succeed(attempt=delivered.start_attempt(at=T0), status=204, at=T0)
    given_up.fail(
        attempt=given_up.start_attempt(at=T0), status=500, error="HTTP 500", retry_at=None, at=T0
    )

    for closed in (delivered, given_up):
        with pytest.raises(NotificationClosedError):
            closed.start_attempt(at=T0 + timedelta(days=1))


def test_a_result_for_an_attempt_not_under_way_is_refused() -> None:
    notification = due()
    notification.start_attempt(at=T0)

    with pytest.raises(DomainError, match="attempt 2 is not the one under way"):
        notification.succeed(attempt=2, status=200, at=T0)


def test_the_notifier_only_moves_forward() -> None:
    notifier = Notifier(position=10, at=T0)
    notifier.advance(position=12, queued=1, at=T0)

    with pytest.raises(DomainError):
        notifier.advance(position=12, queued=1, at=T0)
    assert notifier.position == 12
