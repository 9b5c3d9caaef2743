"""The guardrails' events as first stored load from a real store, and samples track their shapes.

A field added to one of these events later needs an upcaster and a sample of the old shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, get_type_hints
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from adapters.persistence import persistence_environment
from app.campaigns import CampaignsApp
from app.opt_outs import OptOutBook
from app.session_settings import SessionSettingsBook
from domain.number_settings import SessionSettings
from domain.opt_out import OptOut
from tests.fakes.system import ManualClock

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "events"
ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}
OPT_OUT = [
    ("opt_out_opted_out_v1.json", OptOut.OptedOut),
    ("opt_out_removed_v1.json", OptOut.OptOutRemoved),
    ("opt_out_opted_out_again_v1.json", OptOut.OptedOutAgain),
]
SETTINGS = [
    ("session_settings_opened_v1.json", SessionSettings.SettingsOpened),
    ("session_settings_changed_v1.json", SessionSettings.SettingsChanged),
]


@pytest.fixture
def app(tmp_path: Path, clock: ManualClock) -> Iterator[CampaignsApp]:
    opened = CampaignsApp(
        clock=clock, env=persistence_environment(f"sqlite:///{tmp_path / 'campaigns.sqlite3'}")
    )
    yield opened
    opened.close()


def store(app: CampaignsApp, samples: Sequence[tuple[str, Any]]) -> None:
    for sample, event in samples:
        recorded: dict[str, Any] = json.loads((SAMPLES / sample).read_text())
        state = app.mapper.transcoder.decode(
            json.dumps(
                {
                    k: v
                    for k, v in recorded.items()
                    if k not in {"originator_id", "originator_version"}
                }
            ).encode()
        )
        app.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=UUID(recorded["originator_id"]),
                    originator_version=recorded["originator_version"],
                    topic=event.TOPIC,
                    state=app.mapper.transcoder.encode(state),
                )
            ]
        )


def test_a_stored_opt_out_removed_and_renewed_reads_as_on_the_list(
    app: CampaignsApp, clock: ManualClock
) -> None:
    store(app, OPT_OUT)
    book = OptOutBook(app, clock)

    entry = book.entry("+4915112345678")

    assert entry is not None
    assert (entry.source, entry.note) == ("import", "imported from stop-list.csv")
    assert [e.phone for e in book.page(limit=10).items] == ["+4915112345678"]


def test_stored_settings_read_as_the_numbers_settings(
    app: CampaignsApp, clock: ManualClock
) -> None:
    store(app, SETTINGS)

    view = SessionSettingsBook(app, clock).view("default")

    assert view.settings.daily_cap == 200
    assert view.settings.window is not None
    assert view.settings.window.timezone == "Europe/Berlin"
    assert view.changed_by == "api:cli:ops"


@pytest.mark.parametrize(("sample", "event"), OPT_OUT + SETTINGS, ids=lambda v: str(v)[:30])
def test_the_samples_have_todays_fields(sample: str, event: type[Any]) -> None:
    recorded = json.loads((SAMPLES / sample).read_text())
    today = set(get_type_hints(event)) - ENVELOPE - {"originator_id_type", "class_version"}

    assert set(recorded) - ENVELOPE == today
