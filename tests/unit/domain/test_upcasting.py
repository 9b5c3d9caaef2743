"""Old event shapes, kept in tests/samples/events, still become today's events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from domain.campaign import Campaign

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "events"
ENVELOPE = ("originator_id", "originator_version")


def stored_state(sample: str) -> dict[str, Any]:
    """Return a sample's stored state: what the event store kept besides the envelope."""
    recorded: dict[str, Any] = json.loads((SAMPLES / sample).read_text())
    return {k: v for k, v in recorded.items() if k not in ENVELOPE}


def test_contact_attempted_is_at_version_three() -> None:
    assert Campaign.ContactAttempted.class_version == 3


def test_a_version_one_contact_attempted_gains_no_attempt_and_no_time() -> None:
    state = stored_state("contact_attempted_v1.json")
    original = dict(state)

    Campaign.ContactAttempted.upcast_v1_v2(state)

    assert state == {**original, "attempt_id": None, "at": None}


def test_the_version_one_sample_has_no_version_marker() -> None:
    state = stored_state("contact_attempted_v1.json")

    assert "class_version" not in state
    assert set(state) == {"timestamp", "index", "chat_id", "outcome", "message_id", "error"}
