"""CAMPAIGNS_DATABASE_URL onto eventsourcing's settings, and campaigns surviving a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import psycopg
import pytest

from adapters.persistence import (
    AGGREGATE_CACHE_SIZE,
    DatabaseUrlError,
    persistence_environment,
    redacted,
)
from app.campaigns import CampaignsApp
from app.settings import DEFAULT_DATABASE_URL
from domain.campaign import AttemptOutcome, PauseReason
from tests import histories
from tests.builders import scheduled
from tests.fakes.system import ManualClock

PASSWORD = "s3cr3t-Pw"

# -- persistence_environment ----------------------------------------------------------------------


def test_memory_is_the_in_process_store() -> None:
    assert persistence_environment("memory://") == {
        "PERSISTENCE_MODULE": "eventsourcing.popo",
        "AGGREGATE_CACHE_MAXSIZE": AGGREGATE_CACHE_SIZE,
    }


def test_a_sqlite_url_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.sqlite3"

    assert persistence_environment(f"sqlite:///{path}") == {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "AGGREGATE_CACHE_MAXSIZE": AGGREGATE_CACHE_SIZE,
    }


def test_a_relative_sqlite_path_stays_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()

    env = persistence_environment("sqlite:///data/campaigns.sqlite3")

    assert env["SQLITE_DBNAME"] == "data/campaigns.sqlite3"


def test_a_sqlite_path_in_a_missing_folder_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "campaigns.sqlite3"

    with pytest.raises(DatabaseUrlError, match=f"the folder {tmp_path / 'typo'} of the SQLite"):
        persistence_environment(f"sqlite:///{path}")

    assert not path.parent.exists()


def test_the_default_folder_is_made_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    persistence_environment(DEFAULT_DATABASE_URL)

    assert (tmp_path / "var").is_dir()


def test_without_creating_folders_a_missing_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "campaigns.sqlite3"

    with pytest.raises(DatabaseUrlError, match="does not exist"):
        persistence_environment(f"sqlite:///{path}", create_dirs=False)

    assert not path.parent.exists()


def test_without_creating_folders_an_existing_sqlite_file_is_used(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.sqlite3"
    path.touch()

    env = persistence_environment(f"sqlite:///{path}", create_dirs=False)

    assert env["SQLITE_DBNAME"] == str(path)


def test_a_postgresql_url_becomes_the_libraries_settings() -> None:
    env = persistence_environment(
        "postgresql://camp%40aigns:p%40ss%2Fword@db.example:6543/campaigns%20db?schema=waha"
    )

    assert env == {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "campaigns db",
        "POSTGRES_HOST": "db.example",
        "POSTGRES_PORT": "6543",
        "POSTGRES_USER": "camp@aigns",
        "POSTGRES_PASSWORD": "p@ss/word",
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_SCHEMA": "waha",
        "AGGREGATE_CACHE_MAXSIZE": AGGREGATE_CACHE_SIZE,
    }


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgresql_url_defaults_the_port_user_and_password(scheme: str) -> None:
    env = persistence_environment(f"{scheme}://db.example/campaigns")

    assert (env["POSTGRES_PORT"], env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == (
        "5432",
        "postgres",
        "",
    )
    assert "POSTGRES_SCHEMA" not in env


@pytest.mark.parametrize(
    "url",
    [
        "",
        "mysql://campaigns:{pw}@db/campaigns",
        "sqlite://campaigns.sqlite3",
        "sqlite:///",
        "postgresql://campaigns:{pw}@/campaigns",
        "postgresql://campaigns:{pw}@db",
        "postgresql://campaigns:{pw}@db/",
    ],
    ids=["empty", "mysql", "two-slashes", "no-file", "no-host", "no-db", "empty-db"],
)
def test_an_unusable_url_raises_without_showing_the_password(url: str) -> None:
    with pytest.raises(DatabaseUrlError) as raised:
        persistence_environment(url.format(pw=PASSWORD), create_dirs=False)

    assert PASSWORD not in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://campaigns:{pw}@db:notaport/campaigns",
        "postgresql://campaigns:{pw}@db:99999/campaigns",
        "postgresql://campaigns:{pw}/x@db/campaigns",
    ],
    ids=["port-not-a-number", "port-out-of-range", "unescaped-slash-in-password"],
)
def test_a_bad_port_raises_a_database_url_error_without_the_password(url: str) -> None:
    with pytest.raises(DatabaseUrlError) as raised:
        persistence_environment(url.format(pw=PASSWORD))

    assert PASSWORD not in str(raised.value)


# -- redacted -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"postgresql://campaigns:{PASSWORD}@db:5432/campaigns",
            "postgresql://campaigns:***@db:5432/campaigns",
        ),
        (f"postgresql://:{PASSWORD}@db/campaigns", "postgresql://:***@db/campaigns"),
        ("postgresql://campaigns:p%40ss@db/campaigns", "postgresql://campaigns:***@db/campaigns"),
    ],
    ids=["user-and-password", "password-only", "percent-encoded"],
)
def test_redacted_hides_the_password(url: str, shown: str) -> None:
    assert redacted(url) == shown


@pytest.mark.parametrize(
    "url",
    ["postgresql://campaigns@db/campaigns", "sqlite:///var/campaigns.sqlite3", "memory://"],
)
def test_redacted_leaves_a_url_without_a_password_alone(url: str) -> None:
    assert redacted(url) == url


def test_redacted_hides_a_password_with_an_unescaped_slash() -> None:
    assert PASSWORD not in redacted(f"postgresql://campaigns:{PASSWORD}/x@db/campaigns")


# -- a campaign survives a restart ---------------------------------------------------------------


def chat(index: int) -> str:
    return f"49151{10000000 + index}@c.us"


def run_until_paused(app: CampaignsApp, clock: ManualClock) -> UUID:
    """Schedule, start, handle two contacts (with a delay) and pause at the third."""
    campaign_id: UUID = scheduled(app, 4)
    clock.advance(60)
    app.start_campaign(campaign_id)
    for index, outcome in enumerate([AttemptOutcome.SENT, AttemptOutcome.FAILED]):
        clock.advance(30)
        histories.begin_attempt(
            app, campaign_id, index=index, attempt_id=f"a-{index}", chat_id=chat(index)
        )
        histories.record_attempt(
            app,
            campaign_id,
            index=index,
            chat_id=chat(index),
            outcome=outcome,
            message_id=f"msg-{index}" if outcome is AttemptOutcome.SENT else None,
            error=None if outcome is AttemptOutcome.SENT else "422",
            attempt_id=f"a-{index}",
            delay_seconds=45.5,
        )
    clock.advance(45)
    histories.pause_campaign(
        app, campaign_id, reason=PauseReason.SESSION_NOT_WORKING, detail="STOPPED"
    )
    return campaign_id


def assert_a_restart_sees_the_same_campaign(env: dict[str, str], clock: ManualClock) -> None:
    first = CampaignsApp(clock=clock, env=env)
    try:
        campaign_id = run_until_paused(first, clock)
        view, history = first.campaign(campaign_id), first.history(campaign_id)
        reports = first.contact_reports(campaign_id)
    finally:
        first.close()

    restarted = CampaignsApp(clock=clock, env=env)
    try:
        assert restarted.campaign(campaign_id) == view
        assert restarted.history(campaign_id) == history
        assert restarted.contact_reports(campaign_id) == reports
        assert restarted.all_campaign_ids() == [campaign_id]
        assert (view.status, view.next_index, view.sent, view.failed) == ("Paused", 2, 1, 1)
        assert view.pause is not None
        assert view.pause.index == 2
    finally:
        restarted.close()


def test_a_campaign_on_a_sqlite_file_survives_a_restart(tmp_path: Path, clock: ManualClock) -> None:
    env = persistence_environment(f"sqlite:///{tmp_path / 'campaigns.sqlite3'}")

    assert_a_restart_sees_the_same_campaign(env, clock)


@pytest.mark.postgres
def test_a_campaign_on_postgresql_survives_a_restart(postgres_url: str, clock: ManualClock) -> None:
    assert_a_restart_sees_the_same_campaign(persistence_environment(postgres_url), clock)


@pytest.fixture
def postgres_campaigns(postgres_url: str, clock: ManualClock) -> Iterator[CampaignsApp]:
    app = CampaignsApp(clock=clock, env=persistence_environment(postgres_url))
    yield app
    app.close()


@pytest.mark.postgres
def test_postgresql_tables_are_named_after_the_application(
    postgres_url: str, postgres_campaigns: CampaignsApp
) -> None:
    scheduled(postgres_campaigns, 1)

    with psycopg.connect(postgres_url) as connection:
        tables = {
            name
            for (name,) in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }

    assert CampaignsApp.name == "campaigns"
    assert {"campaigns_events", "campaigns_snapshots"} <= tables
