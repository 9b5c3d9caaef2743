"""`export` through main(): every event round-trips as JSON lines; contacts as CSV."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main
from app.audit import event_data, event_time
from app.campaigns import CampaignsApp
from app.views import jsonable
from tests.adapters.cli.campaign_logs import (
    append_unknown_event,
    completed_campaign,
    last_version,
    paused_campaign,
)
from tests.adapters.cli.conftest import SqliteStore


def store_rows(app: CampaignsApp) -> list[dict[str, Any]]:
    """Return every stored event as the export should show it, decoded by the app's mapper."""
    rows = []
    for notification in app.recorder.select_notifications(start=1, limit=10_000):
        domain_event = app.mapper.to_domain_event(notification)
        rows.append(
            {
                "position": notification.id,
                "aggregate_id": str(domain_event.originator_id),
                "version": domain_event.originator_version,
                "type": type(domain_event).__name__,
                "topic": notification.topic,
                "time": event_time(domain_event).isoformat(),
                "recorded_at": getattr(domain_event, "timestamp").isoformat(),  # noqa: B009
                "data": jsonable(event_data(domain_event)),
            }
        )
    return rows


def test_export_round_trips_every_event_of_the_store(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    completed_campaign(store.app, store.clock)
    paused_campaign(store.app, store.clock, n=3, pause_at=1)

    assert main(["export", "--database", store.url]) == 0

    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert exported == store_rows(store.app)
    assert {row["type"] for row in exported} >= {"AudienceFrozen", "ContactAttempted"}


def test_export_of_one_campaign_has_only_its_events_in_log_order(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    completed_campaign(store.app, store.clock)
    second = paused_campaign(store.app, store.clock, n=3, pause_at=1)

    assert main(["export", str(second), "--format", "jsonl", "--database", store.url]) == 0

    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert exported == [r for r in store_rows(store.app) if r["aggregate_id"] == str(second)]
    assert [r["version"] for r in exported] == list(range(1, last_version(store.app, second) + 1))


def test_export_to_a_file(
    store: SqliteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    completed_campaign(store.app, store.clock)
    target = tmp_path / "audit.jsonl"

    assert main(["export", "--output", str(target), "--database", store.url]) == 0

    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == store_rows(store.app)
    assert capsys.readouterr().err == f"exported {len(lines)} events to {target}\n"
    assert not (tmp_path / "audit.jsonl.partial").exists()


def test_export_to_a_folder_that_does_not_exist_is_an_input_error(
    store: SqliteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "audit.jsonl"

    assert main(["export", "--output", str(target), "--database", store.url]) == 2
    assert capsys.readouterr().err.startswith(f"waha-campaigns: cannot write {target}: ")


def test_export_contacts_as_csv(store: SqliteStore, capsys: pytest.CaptureFixture[str]) -> None:
    campaign_id = paused_campaign(store.app, store.clock, n=3, pause_at=2)

    code = main(["export", str(campaign_id), "--format", "csv", "--database", store.url])

    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert code == 0
    assert [(r["index"], r["outcome"], r["message_id"]) for r in rows] == [
        ("0", "sent", "m-0"),
        ("1", "sent", "m-1"),
        ("2", "", ""),
    ]
    assert rows[0]["phone"] == "+4915110000000"
    assert rows[0]["name"] == "Contact 0"
    assert {r["campaign_id"] for r in rows} == {str(campaign_id)}


def test_export_every_campaigns_contacts_as_csv(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    first = completed_campaign(store.app, store.clock, n=2, pause_at=1)
    second = paused_campaign(store.app, store.clock, n=3, pause_at=1)

    assert main(["export", "--format", "csv", "--database", store.url]) == 0

    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["campaign_id"] for r in rows] == [str(first)] * 2 + [str(second)] * 3


def test_export_of_an_unknown_campaign_is_not_found(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    completed_campaign(store.app, store.clock)
    missing = uuid.uuid4()

    assert main(["export", str(missing), "--database", store.url]) == 4

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"waha-campaigns: no campaign with id {missing}\n"


def test_an_event_nobody_can_decode_is_exported_with_its_problem_and_fails(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = completed_campaign(store.app, store.clock)
    append_unknown_event(store.app, campaign_id)

    assert main(["export", str(campaign_id), "--database", store.url]) == 1

    captured = capsys.readouterr()
    last = json.loads(captured.out.splitlines()[-1])
    assert (last["type"], last["topic"]) == (None, "waha_campaigns:Campaign.CampaignVanished")
    assert last["problem"].startswith("TopicError: ")
    assert captured.err == "waha-campaigns: 1 event(s) could not be decoded; run verify\n"


class ClosedPipe(io.StringIO):
    """Standard output whose reader has gone, like `waha-campaigns export | head -1`."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_stops_reading_ends_the_export_quietly(
    store: SqliteStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    completed_campaign(store.app, store.clock)
    monkeypatch.setattr("sys.stdout", ClosedPipe())

    assert main(["export", "--database", store.url]) == 0
    assert capsys.readouterr().err == ""
