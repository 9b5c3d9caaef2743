"""`verify`, `replay` and `export` on PostgreSQL, read-only, like on SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import psycopg
import pytest
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder

from adapters.cli import main
from adapters.persistence import persistence_environment
from app.campaigns import CampaignsApp
from app.views import CampaignView
from tests import histories
from tests.adapters.cli.campaign_logs import (
    append_second_send,
    paused_campaign,
    record_sends,
)
from tests.fakes.system import ManualClock

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_app(postgres_url: str, clock: ManualClock) -> Iterator[CampaignsApp]:
    app = CampaignsApp(clock=clock, env=persistence_environment(postgres_url))
    yield app
    app.close()


def count_rows(url: str) -> int:
    with psycopg.connect(url) as db:
        row = db.execute("SELECT count(*) FROM campaigns_events").fetchone()
    assert row is not None
    return int(row[0])


def test_replay_and_verify_on_postgresql(
    postgres_app: CampaignsApp,
    postgres_url: str,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    campaign_id = paused_campaign(postgres_app, clock, n=3, pause_at=1)
    live: CampaignView = postgres_app.campaign(campaign_id)
    postgres_app.resume_campaign(campaign_id)
    record_sends(postgres_app, clock, campaign_id, range(1, 3))
    histories.complete_campaign(postgres_app, campaign_id)
    rows = count_rows(postgres_url)
    database = ["--database", postgres_url]

    assert main(["verify", *database]) == 0
    assert "no violations" in capsys.readouterr().out
    at_live = ["--at-version", str(live.version), "--json"]
    assert main(["replay", str(campaign_id), *at_live, *database]) == 0
    assert json.loads(capsys.readouterr().out) == live.as_dict()
    assert main(["export", *database]) == 0
    assert len(capsys.readouterr().out.splitlines()) == rows
    assert count_rows(postgres_url) == rows


def test_export_of_one_campaign_on_postgresql_has_its_events_and_log_positions(
    postgres_app: CampaignsApp,
    postgres_url: str,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = paused_campaign(postgres_app, clock, n=3, pause_at=1)
    second = paused_campaign(postgres_app, clock, n=2, pause_at=1)
    postgres_app.resume_campaign(first)
    record_sends(postgres_app, clock, first, [1])
    database = ["--database", postgres_url]
    assert main(["export", *database]) == 0
    whole = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    def whole_log(*args: object, **kwargs: object) -> Sequence[Notification]:
        raise AssertionError("the export of one campaign read the whole notification log")

    monkeypatch.setattr(PostgresApplicationRecorder, "select_notifications", whole_log)
    assert main(["export", str(first), *database]) == 0

    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert exported == [row for row in whole if row["aggregate_id"] == str(first)]
    assert str(second) in {row["aggregate_id"] for row in whole}


def test_verify_finds_a_contact_sent_twice_on_postgresql(
    postgres_app: CampaignsApp,
    postgres_url: str,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    campaign_id = paused_campaign(postgres_app, clock, n=2, pause_at=1)
    append_second_send(postgres_app, clock, campaign_id, index=0)

    assert main(["verify", str(campaign_id), "--database", postgres_url]) == 1
    assert "contact-sent-twice" in capsys.readouterr().out


def test_a_postgresql_database_without_the_event_store_is_one_line(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--database", postgres_url]) == 3

    err = capsys.readouterr().err
    assert err.startswith("waha-campaigns: cannot read the event store at postgresql://")
    assert "campaigns_events" in err
    assert len(err.splitlines()) == 1
    with psycopg.connect(postgres_url) as db:
        tables = db.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert tables == (0,)  # reading created nothing
