"""`export` through main(): every event round-trips as JSON lines; contacts as CSV."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Notification
from eventsourcing.sqlite import SQLiteApplicationRecorder

from adapters.cli import main
from adapters.contact_csv import contact_report_csv
from app.audience import ContactInput
from app.audit import event_data, event_time
from app.campaigns import CampaignsApp
from app.views import jsonable
from domain.campaign import AttemptOutcome
from tests import histories
from tests.adapters.cli.campaign_logs import (
    append_unknown_event,
    chat,
    completed_campaign,
    delete_row,
    last_version,
    paused_campaign,
    record_sends,
)
from tests.adapters.cli.conftest import SqliteStore
from tests.builders import scheduled


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


def test_exporting_one_campaign_reads_its_events_without_the_whole_log(
    store: SqliteStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    completed_campaign(store.app, store.clock)
    second = paused_campaign(store.app, store.clock, n=3, pause_at=1)
    completed_campaign(store.app, store.clock)
    expected = [r for r in store_rows(store.app) if r["aggregate_id"] == str(second)]

    def whole_log(*args: object, **kwargs: object) -> Sequence[Notification]:
        raise AssertionError("the export of one campaign read the whole notification log")

    monkeypatch.setattr(SQLiteApplicationRecorder, "select_notifications", whole_log)

    assert main(["export", str(second), "--database", store.url]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == expected


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_has_the_services_columns_after_the_campaign_id(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = paused_campaign(store.app, store.clock, n=3, pause_at=2)

    assert main(["export", str(campaign_id), "--format", "csv", "--database", store.url]) == 0

    exported = csv_rows(capsys.readouterr().out)
    served = csv_rows(contact_report_csv(store.app.contact_reports(campaign_id)))
    assert exported[0] == ["campaign_id", *served[0]]
    assert [row[1:] for row in exported] == served
    assert {row[0] for row in exported[1:]} == {str(campaign_id)}


FORMULAS = ['=HYPERLINK("http://evil.example")', "+1 pay", "-2+3", "@SUM(A1)"]


def test_csv_cells_a_spreadsheet_would_run_start_with_a_quote(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    people = [ContactInput(phone=f"+49151{10000000 + i}", name=n) for i, n in enumerate(FORMULAS)]
    campaign_id = scheduled(store.app, contacts=people)
    store.app.start_campaign(campaign_id)
    record_sends(store.app, store.clock, campaign_id, range(2))
    for index, error in ((2, "=cmd|' /C calc'!A0"), (3, "\t@evil")):
        histories.record_attempt(
            store.app,
            campaign_id,
            index=index,
            chat_id=chat(index),
            outcome=AttemptOutcome.FAILED,
            error=error,
        )

    assert main(["export", str(campaign_id), "--format", "csv", "--database", store.url]) == 0

    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))
    assert [r["name"] for r in rows] == ["'" + name for name in FORMULAS]
    assert [r["error"] for r in rows] == ["", "", "'=cmd|' /C calc'!A0", "'\t@evil"]
    assert rows[0]["phone"] == "+4915110000000"  # a phone's "+" is not a formula


@pytest.mark.parametrize("deleted", [1, 5])
def test_csv_of_a_campaign_its_log_cannot_rebuild_is_one_line_and_fails(
    deleted: int, store: SqliteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = completed_campaign(store.app, store.clock)
    delete_row(store.path, campaign_id, deleted)
    target = tmp_path / "contacts.csv"
    argv = [str(campaign_id), "--format", "csv", "--output", str(target)]

    assert main(["export", *argv, "--database", store.url]) == 1

    err = capsys.readouterr().err
    assert err.startswith(
        f"waha-campaigns: the log cannot be replayed: campaign {campaign_id} cannot be rebuilt ("
    )
    assert err.endswith("); run verify\n")
    assert len(err.splitlines()) == 1
    assert not target.exists()
    assert not (tmp_path / "contacts.csv.partial").exists()


def test_export_into_a_pipe_writes_through_it_and_leaves_it_a_pipe(
    store: SqliteStore, tmp_path: Path
) -> None:
    completed_campaign(store.app, store.clock)
    pipe = tmp_path / "events.pipe"
    os.mkfifo(pipe)
    received: list[str] = []
    reader = threading.Thread(
        target=lambda: received.append(pipe.read_text(encoding="utf-8")), daemon=True
    )
    reader.start()

    code = main(["export", "--output", str(pipe), "--database", store.url])

    if pipe.is_fifo():  # an export that wrote elsewhere leaves the reader waiting: free it
        with contextlib.suppress(OSError):
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
    reader.join(timeout=10)
    assert code == 0
    assert [json.loads(line) for line in received[0].splitlines()] == store_rows(store.app)
    assert pipe.is_fifo()


def test_export_through_a_link_replaces_the_file_and_keeps_the_link(
    store: SqliteStore, tmp_path: Path
) -> None:
    completed_campaign(store.app, store.clock)
    real = tmp_path / "audit.jsonl"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "latest.jsonl"
    link.symlink_to(real)

    assert main(["export", "--output", str(link), "--database", store.url]) == 0

    assert link.is_symlink()
    assert [json.loads(line) for line in real.read_text().splitlines()] == store_rows(store.app)


def test_export_to_a_folder_is_an_input_error_before_reading(
    store: SqliteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--output", str(tmp_path), "--database", store.url]) == 2
    assert capsys.readouterr().err == (f"waha-campaigns: cannot write {tmp_path}: it is a folder\n")


def test_an_empty_output_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--output", ""])

    assert exit_.value.code == 2
    assert "argument --output: an empty file name" in capsys.readouterr().err


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
