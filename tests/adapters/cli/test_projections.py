"""`projections rebuild` and `verify` on the per-contact read model, through main()."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from adapters.cli import main
from tests.adapters.cli.campaign_logs import completed_campaign, paused_campaign
from tests.adapters.cli.conftest import SqliteStore


def test_a_rebuild_lists_every_contact_and_verify_agrees(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    first = completed_campaign(store.app, store.clock)
    paused_campaign(store.app, store.clock, n=3, pause_at=1)
    head = store.app.recorder.max_notification_id()

    assert main(["projections", "rebuild", "--database", store.url]) == 0

    captured = capsys.readouterr()
    assert "rebuilding from position 0" in captured.err
    assert f"applied the log up to position {head:,} of {head:,}" in captured.err
    assert f"it is at position {head:,} of the log" in captured.out
    with contextlib.closing(sqlite3.connect(store.path)) as db:
        rows = db.execute(
            "SELECT contact_index, outcome FROM campaign_contacts WHERE campaign_id = ? "
            "ORDER BY contact_index",
            (str(first),),
        ).fetchall()
    assert rows == [(i, r.outcome) for i, r in enumerate(store.app.contact_reports(first))]
    assert main(["verify", "--database", store.url]) == 0
    assert "no violations" in capsys.readouterr().out


def test_a_second_rebuild_gives_the_same_rows(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    completed_campaign(store.app, store.clock)
    assert main(["projections", "rebuild", "--database", store.url]) == 0
    before = _all_rows(store)

    assert main(["projections", "rebuild", "--database", store.url]) == 0

    assert _all_rows(store) == before
    assert before
    capsys.readouterr()


def test_verify_names_a_row_changed_behind_the_models_back(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = completed_campaign(store.app, store.clock)
    assert main(["projections", "rebuild", "--database", store.url]) == 0
    with contextlib.closing(sqlite3.connect(store.path)) as db, db:
        db.execute(
            "UPDATE campaign_contacts SET outcome = 'failed' "
            "WHERE campaign_id = ? AND contact_index = 1",
            (str(campaign_id),),
        )
    capsys.readouterr()

    assert main(["verify", "--database", store.url]) == 1

    out = capsys.readouterr().out
    assert f"FAIL  campaign {campaign_id}" in out
    assert (
        "read-model-mismatch: contact 2 of 4 (index 1): outcome is 'failed' in the read model"
        in out
    )


def test_a_read_model_behind_the_log_is_told_and_fails_only_when_strict(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["projections", "rebuild", "--database", store.url]) == 0
    completed_campaign(store.app, store.clock)
    capsys.readouterr()

    assert main(["verify", "--database", store.url]) == 0
    assert "rows not compared" in capsys.readouterr().err

    assert main(["verify", "--strict", "--database", store.url]) == 1
    assert "read-model-behind" in capsys.readouterr().out


def test_verify_says_when_a_store_has_no_read_model(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    completed_campaign(store.app, store.clock)

    assert main(["verify", "--database", store.url]) == 0

    assert "no per-contact read model in this store" in capsys.readouterr().err


def test_a_rebuild_of_a_missing_database_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/none/campaigns.sqlite3"

    assert main(["projections", "rebuild", "--database", url]) == 2

    err = capsys.readouterr().err
    assert err.startswith("waha-campaigns: ")
    assert len(err.splitlines()) == 1


def _all_rows(store: SqliteStore) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(store.path)) as db:
        return db.execute(
            "SELECT * FROM campaign_contacts ORDER BY campaign_id, contact_index"
        ).fetchall()
