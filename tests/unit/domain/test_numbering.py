"""One numbering: data keeps the 0-based index; sentences count from 1, with the total."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.campaign import AttemptInFlightError, PauseReason
from domain.numbering import contact_words, next_contact_words
from tests.unit.domain.test_campaign import a_scheduled_campaign

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_a_contact_is_counted_from_1_with_the_total_and_its_index() -> None:
    assert contact_words(3, 15) == "contact 4 of 15 (index 3)"
    assert contact_words(0, 1, with_index=False) == "contact 1 of 1"
    assert contact_words(999_999, 1_000_000) == "contact 1,000,000 of 1,000,000 (index 999999)"


def test_a_campaign_past_its_last_contact_has_none_left() -> None:
    assert next_contact_words(2, 15) == "contact 3 of 15 (index 2)"
    assert next_contact_words(15, 15) == "none left: all 15 handled"


def test_a_refusal_names_the_contact_in_flight_for_people() -> None:
    campaign = a_scheduled_campaign(4)
    campaign.start(at=NOW)
    campaign.begin_attempt(index=0, attempt_id="a1", chat_id="1@c.us", at=NOW)

    with pytest.raises(AttemptInFlightError) as refused:
        campaign.pause_at_next(reason=PauseReason.MANUAL, detail="", at=NOW)

    assert "the send to contact 1 of 4 (index 0) is in flight" in str(refused.value)
