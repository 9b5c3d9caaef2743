"""`events`, `replay`, `timeline` and `diagram` through main(), on a SQLite file."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import uuid
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.cli import main
from app.views import CampaignView
from domain.lifecycle import mermaid_diagram
from tests import histories
from tests.adapters.cli.campaign_logs import (
    append_unknown_event,
    completed_campaign,
    delete_row,
    last_version,
    paused_campaign,
    record_sends,
)
from tests.adapters.cli.conftest import SqliteStore
from tests.builders import scheduled


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- events -----------------------------------------------------------------------------------


def test_events_prints_the_audit_trail_as_a_table(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = paused_campaign(store.app, store.clock, n=3, pause_at=1)

    assert main(["events", str(campaign_id), "--database", store.url]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["VERSION", "TIME", "TYPE", "DETAILS"]
    assert len(lines) == 1 + last_version(store.app, campaign_id)
    assert "CampaignScheduled" in lines[1]
    assert "3 contacts" in lines[1]
    assert "CampaignPaused" in lines[-1]
    assert "contact 2 of 3 (index 1) reason=session_not_working detail=session STOPPED" in lines[-1]


def test_events_as_json_lines_filtered_by_type(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = completed_campaign(store.app, store.clock, n=3, pause_at=1)

    code = main(
        [
            "events",
            str(campaign_id),
            "--json",
            "--type",
            "ContactAttempted",
            "--type",
            "CampaignPaused",
            "--database",
            store.url,
        ]
    )

    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [r["type"] for r in rows] == [
        "ContactAttempted",
        "CampaignPaused",
        "ContactAttempted",
        "ContactAttempted",
    ]
    assert [r["data"]["index"] for r in rows] == [0, 1, 1, 2]
    assert rows[0]["data"]["outcome"] == "sent"
    assert rows[0]["time"] == rows[0]["data"]["at"]


def test_events_of_an_unknown_campaign_is_not_found(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    scheduled(store.app, 2)
    missing = uuid.uuid4()

    assert main(["events", str(missing), "--database", store.url]) == 4

    captured = capsys.readouterr()
    assert captured.err == f"waha-campaigns: no campaign with id {missing}\n"
    assert captured.out == ""


def test_an_unknown_event_type_is_a_usage_error(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["events", str(uuid.uuid4()), "--type", "Sent", "--database", store.url])

    assert exit_.value.code == 2
    assert "invalid choice: 'Sent'" in capsys.readouterr().err


def test_a_database_that_does_not_exist_is_one_line_and_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "campaigns.sqlite3"

    code = main(["events", str(uuid.uuid4()), "--database", f"sqlite:///{missing}"])

    assert code == 3
    assert capsys.readouterr().err == (
        f"waha-campaigns: the SQLite database {missing} does not exist\n"
    )
    assert not missing.parent.exists()


def test_a_database_name_too_long_to_open_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--database", "sqlite:///" + "a" * 5000])

    assert code == 3
    err = capsys.readouterr().err
    assert err.startswith("waha-campaigns: cannot read aaaa")
    assert err.endswith(": File name too long\n")
    assert len(err.splitlines()) == 1


def test_a_database_url_that_cannot_be_parsed_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["verify", "--database", "postgresql://ops:pa55word@[::1/campaigns"])

    assert code == 2
    err = capsys.readouterr().err
    assert err == "waha-campaigns: the database URL cannot be read: Invalid IPv6 URL\n"


def test_the_database_defaults_to_the_environment(
    store: SqliteStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = scheduled(store.app, 2)
    monkeypatch.setenv("CAMPAIGNS_DATABASE_URL", store.url)

    assert main(["events", str(campaign_id)]) == 0
    assert "CampaignScheduled" in capsys.readouterr().out


def test_a_file_that_is_not_an_event_store_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(other)) as db, db:
        db.execute("CREATE TABLE notes (text TEXT)")
    before = digest(other)

    code = main(["verify", "--database", f"sqlite:///{other}"])

    assert code == 3
    assert "holds no campaigns event store" in capsys.readouterr().err
    assert digest(other) == before


def test_a_malformed_database_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--database", "mysql://db/campaigns"]) == 2
    assert capsys.readouterr().err.startswith("waha-campaigns: CAMPAIGNS_DATABASE_URL must start")


def test_reading_commands_never_change_the_store(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = completed_campaign(store.app, store.clock)
    store.app.close()
    before = digest(store.path)
    database = ["--database", store.url]

    for command in (
        ["events", str(campaign_id)],
        ["replay", str(campaign_id), "--step"],
        ["timeline", str(campaign_id)],
        ["verify"],
        ["export"],
        ["export", str(campaign_id), "--format", "csv"],
    ):
        assert main([*command, *database]) == 0, command

    assert digest(store.path) == before


def test_events_show_an_undecodable_event_and_fail(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = scheduled(store.app, 2)
    append_unknown_event(store.app, campaign_id)

    assert main(["events", str(campaign_id), "--database", store.url]) == 1

    last = capsys.readouterr().out.splitlines()[-1]
    assert last.split()[:4] == ["2", "-", "?", "cannot"]
    assert "CampaignVanished" in last


def test_a_timeline_over_an_undecodable_event_is_one_line(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = scheduled(store.app, 2)
    append_unknown_event(store.app, campaign_id)

    assert main(["timeline", str(campaign_id), "--database", store.url]) == 1

    err = capsys.readouterr().err
    assert err.startswith("waha-campaigns: the log cannot be read: ")
    assert len(err.splitlines()) == 1


# -- replay -----------------------------------------------------------------------------------


def test_replay_at_a_version_equals_the_live_state_at_that_version(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    app, clock = store.app, store.clock
    campaign_id = paused_campaign(app, clock, n=4, pause_at=2)
    live: CampaignView = app.campaign(campaign_id)
    app.resume_campaign(campaign_id)
    record_sends(app, clock, campaign_id, range(2, 4))
    histories.complete_campaign(app, campaign_id)

    code = main(
        [
            "replay",
            str(campaign_id),
            "--at-version",
            str(live.version),
            "--json",
            "--database",
            store.url,
        ]
    )

    assert code == 0
    assert json.loads(capsys.readouterr().out) == live.as_dict()


def test_replay_at_a_time_shows_the_campaign_as_it_was_then(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = paused_campaign(store.app, store.clock, n=4, pause_at=2)
    paused_at = store.clock.now()
    store.clock.advance(3600)
    store.app.resume_campaign(campaign_id)
    then = (paused_at + timedelta(minutes=5)).isoformat()

    code = main(["replay", str(campaign_id), "--at-time", then, "--database", store.url])

    out = capsys.readouterr().out
    assert code == 0
    assert "(CampaignPaused," in out.splitlines()[0]
    assert "status     Paused" in out
    assert "paused at contact 3 of 4 (index 2) since" in out
    assert "session_not_working (session STOPPED)" in out


def test_replay_step_prints_the_state_after_every_event(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = completed_campaign(store.app, store.clock, n=2, pause_at=1)

    assert main(["replay", str(campaign_id), "--step", "--json", "--database", store.url]) == 0

    steps = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [s["version"] for s in steps] == list(range(1, len(steps) + 1))
    assert [s["state"]["status"] for s in steps if s["type"].startswith("Campaign")] == [
        "Scheduled",
        "Running",
        "Paused",
        "Running",
        "Completed",
    ]
    assert steps[-1]["state"]["sent"] == 2


def test_replay_step_as_a_table(store: SqliteStore, capsys: pytest.CaptureFixture[str]) -> None:
    campaign_id = paused_campaign(store.app, store.clock, n=2, pause_at=1)

    assert main(["replay", str(campaign_id), "--step", "--database", store.url]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["VERSION", "TIME", "EVENT", "STATUS"]
    assert lines[-1].split()[3:9] == ["CampaignPaused", "Paused", "2", "of", "2", "(index"]


def test_replay_past_the_end_of_the_log_is_an_input_error(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = scheduled(store.app, 2)

    code = main(["replay", str(campaign_id), "--at-version", "9", "--database", store.url])

    assert code == 2
    assert "has versions 1 to 1 only" in capsys.readouterr().err


def test_replay_version_zero_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["replay", str(uuid.uuid4()), "--at-version", "0"])

    assert exit_.value.code == 2


def test_replay_at_a_version_no_store_can_hold_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["replay", str(uuid.uuid4()), "--at-version", "99999999999999999999999"])

    assert exit_.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].endswith(
        "argument --at-version: not a whole number from 1 to 9223372036854775807: "
        "'99999999999999999999999'"
    )


def test_replay_at_the_largest_version_a_store_holds_is_past_the_log(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = scheduled(store.app, 2)
    largest = str(2**63 - 1)

    code = main(["replay", str(campaign_id), "--at-version", largest, "--database", store.url])

    assert code == 2
    assert capsys.readouterr().err == (
        f"waha-campaigns: campaign {campaign_id} has versions 1 to 1 only\n"
    )


def test_replay_of_a_log_with_a_missing_event_fails_and_says_to_verify(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = completed_campaign(store.app, store.clock)
    delete_row(store.path, campaign_id, 4)

    code = main(["replay", str(campaign_id), "--database", store.url])

    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("waha-campaigns: the log cannot be replayed: version 5")
    assert err.endswith("; run verify\n")


# -- timeline ---------------------------------------------------------------------------------


def test_timeline_shows_pauses_resumes_pacing_and_the_end(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = completed_campaign(store.app, store.clock, n=4, pause_at=2)

    assert main(["timeline", str(campaign_id), "--database", store.url]) == 0

    out = capsys.readouterr().out
    assert "Completed, 4 contacts: 4 sent, 0 failed, 0 skipped, 0 in doubt" in out
    paused = next(line for line in out.splitlines() if " paused " in line)
    assert paused.split()[3:10] == [
        "paused",
        "3",
        "of",
        "4",
        "(index",
        "2)",
        "session_not_working",
    ]
    resumed = next(line for line in out.splitlines() if " resumed " in line)
    assert resumed.split()[3:10] == ["resumed", "3", "of", "4", "(index", "2)", "automatic"]
    assert "pacing used: 3 waits, min 30.0 s, mean 30.0 s, max 30.0 s" in out
    assert "stopped: completed on" in out


def test_timeline_as_json_says_why_it_stopped(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = paused_campaign(store.app, store.clock, n=3, pause_at=1)

    assert main(["timeline", str(campaign_id), "--json", "--database", store.url]) == 0

    found = json.loads(capsys.readouterr().out)
    assert found["status"] == "Paused"
    assert found["ending"]["what"] == "paused"
    assert found["ending"]["index"] == 1
    assert found["ending"]["reason"] == "session_not_working"
    assert found["pacing"]["waits"] == 1


# -- diagram ----------------------------------------------------------------------------------


def test_diagram_prints_the_state_machine_as_mermaid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram"]) == 0

    out = capsys.readouterr().out
    assert out == mermaid_diagram()
    assert "Running --> Paused: pause" in out


class ClosedPipe(io.StringIO):
    """Standard output whose reader has gone, like `waha-campaigns diagram | head -0`."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("command", ["diagram", "verify", "events", "timeline", "replay"])
def test_a_reader_that_stops_reading_ends_a_command_quietly(
    command: str,
    store: SqliteStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    campaign_id = completed_campaign(store.app, store.clock)
    argv = [command] if command == "diagram" else [command, "--database", store.url]
    if command not in {"diagram", "verify"}:
        argv.insert(1, str(campaign_id))
    monkeypatch.setattr("sys.stdout", ClosedPipe())

    assert main(argv) == 0
    assert capsys.readouterr().err == ""


def test_every_command_documents_its_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (
        "create",
        "list",
        "show",
        "pause",
        "resume",
        "cancel",
        "watch",
        "events",
        "replay",
        "timeline",
        "verify",
        "export",
        "diagram",
        "simulate-waha",
    ):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
        help_text = capsys.readouterr().out
        assert "exit codes:\n  0    " in help_text, command
        assert "\n  2    usage" in help_text, command
        assert "\n  130  interrupted (Ctrl-C)" in help_text, command
