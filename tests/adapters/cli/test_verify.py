"""`verify` through main(): passes on a healthy store, names each problem on a broken one."""

from __future__ import annotations

import json
import uuid

import pytest

from adapters.cli import main
from adapters.persistence import persistence_environment
from app.campaigns import CampaignsApp
from domain.campaign import Campaign
from tests.adapters.cli.campaign_logs import (
    append_crafted,
    append_second_send,
    completed_campaign,
    delete_row,
    paused_campaign,
    record_sends,
)
from tests.adapters.cli.conftest import SqliteStore
from tests.builders import scheduled


def test_verify_passes_on_a_healthy_store(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    first = completed_campaign(store.app, store.clock)
    second = paused_campaign(store.app, store.clock, n=3, pause_at=1)

    assert main(["verify", "--database", store.url]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"ok    campaign {first} (")
    assert lines[1].startswith(f"ok    campaign {second} (")
    assert lines[-1].startswith("verified 2 campaign(s), ")
    assert lines[-1].endswith("events: no violations")


def test_verify_one_campaign(store: SqliteStore, capsys: pytest.CaptureFixture[str]) -> None:
    completed_campaign(store.app, store.clock)
    second = paused_campaign(store.app, store.clock, n=3, pause_at=1)

    assert main(["verify", str(second), "--database", store.url]) == 0

    assert capsys.readouterr().out.startswith(f"ok    campaign {second} (")


def test_verify_finds_an_event_deleted_from_the_table(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = completed_campaign(store.app, store.clock)
    store.app.close()
    delete_row(store.path, campaign_id, 5)

    assert main(["verify", "--database", store.url]) == 1

    out = capsys.readouterr().out
    assert f"FAIL  campaign {campaign_id}" in out
    assert "v6 version-gap: version 5 is missing" in out
    assert "state-unloadable: the campaign cannot be rebuilt" in out
    assert out.splitlines()[-1].endswith("violation(s) in 1 campaign(s)")


def test_verify_finds_a_deleted_outcome_behind_a_snapshot(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    # A snapshot still counts the lost outcome, so the rebuilt state and the events disagree.
    app = CampaignsApp(
        clock=store.clock, env=persistence_environment(store.url), snapshot_interval=8
    )
    campaign_id = scheduled(app, 4)
    app.start_campaign(campaign_id)
    record_sends(app, store.clock, campaign_id, range(4))
    app.close()
    delete_row(store.path, campaign_id, 4)

    assert main(["verify", str(campaign_id), "--database", store.url]) == 1

    out = capsys.readouterr().out
    assert "version-gap" in out
    assert "counts-mismatch: the rebuilt state counts sent 4, but the events count sent 3" in out


def test_verify_finds_a_contact_sent_twice(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = paused_campaign(store.app, store.clock, n=3, pause_at=2)
    store.app.resume_campaign(campaign_id)
    append_second_send(store.app, store.clock, campaign_id, index=1)

    assert main(["verify", str(campaign_id), "--database", store.url]) == 1

    out = capsys.readouterr().out
    assert "contact-sent-twice: contact 2 of 3 (index 1) was sent the message twice" in out
    assert (
        "contact-handled-twice: contact 2 of 3 (index 1) already had an outcome at version" in out
    )


def test_verify_finds_a_pause_at_the_wrong_contact(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign_id = scheduled(store.app, 4)
    store.app.start_campaign(campaign_id)
    record_sends(store.app, store.clock, campaign_id, range(2))
    append_crafted(
        store.app,
        store.clock,
        campaign_id,
        Campaign.CampaignPaused,
        index=0,
        reason="session_not_working",
        detail="",
    )

    assert main(["verify", str(campaign_id), "--database", store.url]) == 1

    assert (
        "pause-index: campaign pauses at contact 1 of 4 (index 0), but the next unhandled one "
        "is contact 3 of 4 (index 2)" in capsys.readouterr().out
    )


def test_verify_as_json_lines(store: SqliteStore, capsys: pytest.CaptureFixture[str]) -> None:
    healthy = completed_campaign(store.app, store.clock)
    broken = paused_campaign(store.app, store.clock, n=2, pause_at=1)
    append_second_send(store.app, store.clock, broken, index=0)

    assert main(["verify", "--json", "--database", store.url]) == 1

    audits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(a["campaign_id"], bool(a["violations"])) for a in audits] == [
        (str(healthy), False),
        (str(broken), True),
    ]
    assert {v["rule"] for v in audits[1]["violations"]} >= {"contact-sent-twice"}


def test_verify_of_an_unknown_campaign_is_not_found(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    scheduled(store.app, 1)

    assert main(["verify", str(uuid.uuid4()), "--database", store.url]) == 4
    assert "no campaign with id" in capsys.readouterr().err


def test_verify_of_an_empty_store_passes(
    store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--database", store.url]) == 0
    assert capsys.readouterr().err == "no campaigns in the store\n"
