"""create (media kinds, keys, unknown sessions), edit and retry, against the real HTTP API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from pytest_aiohttp import AiohttpServer

from adapters.bootstrap import Services, build, http_app
from app.settings import load_settings
from domain.campaign import AttemptOutcome, Campaign
from tests.adapters.cli.conftest import cli
from tests.adapters.http_api.test_retry import OUTCOMES, finished_campaign
from tests.adapters.media_samples import OGG_OPUS
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom

TOKEN = "cli-everyday-token-3b9e"


@pytest.fixture
def services(tmp_path: Path, clock: ManualClock, sleeper: InstantSleeper) -> Iterator[Services]:
    settings = load_settings(
        {},
        campaigns_database_url="memory://",
        campaigns_media_dir=str(tmp_path / "media"),
        campaigns_api_token=TOKEN,
    )
    built = build(settings, clock=clock, sleeper=sleeper, rng=SeededRandom(0.5))
    yield built
    built.campaigns.close()


@pytest.fixture
def gateway(clock: ManualClock) -> FakeWahaGateway:
    return FakeWahaGateway(clock)


@pytest.fixture
async def service(
    services: Services, gateway: FakeWahaGateway, aiohttp_server: AiohttpServer
) -> list[str]:
    app = http_app(services, gateway=gateway, start_supervisor=False)
    server = await aiohttp_server(app)
    return ["--url", str(server.make_url("")).rstrip("/"), "--token", TOKEN]


@pytest.fixture
def contacts(tmp_path: Path) -> str:
    path = tmp_path / "contacts.csv"
    path.write_text("phone,name\n+4915110000000,Ana\n+4915110000001,Ben\n", encoding="utf-8")
    return str(path)


LATER = "2027-01-01T09:00:00Z"


async def test_create_with_a_voice_note_warns_that_the_text_is_not_sent(
    service: list[str], contacts: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voice = tmp_path / "hello.ogg"
    voice.write_bytes(OGG_OPUS)

    code = await cli(
        "create", contacts, "--text", "Hi", "--media", str(voice), "--at", LATER, *service
    )

    captured = capsys.readouterr()
    assert code == 0, captured.err
    UUID(captured.out.strip())
    assert "warning: message.media_id is a voice note" in captured.err


async def test_create_on_a_session_waha_does_not_have_is_refused(
    service: list[str],
    contacts: str,
    gateway: FakeWahaGateway,
    services: Services,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gateway.unknown_sessions.add("sales")

    code = await cli("create", contacts, "--text", "Hi", "--session", "sales", *service)

    err = capsys.readouterr().err
    assert code == 2
    assert "  session 'sales': WAHA has no session named 'sales'" in err
    assert services.campaigns.all_campaign_ids() == []


async def test_create_twice_with_one_key_prints_one_campaign(
    service: list[str], contacts: str, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    key = ["--idempotency-key", "import-42"]

    first = await cli("create", contacts, "--text", "Hi", "--at", LATER, *key, *service)
    first_id = capsys.readouterr().out.strip()
    second = await cli("create", contacts, "--text", "Hi", "--at", LATER, *key, *service)
    second_id = capsys.readouterr().out.strip()
    other = await cli("create", contacts, "--text", "Other", "--at", LATER, *key, *service)

    assert (first, second, other) == (0, 0, 2)
    assert first_id == second_id
    assert "was used for another request" in capsys.readouterr().err
    assert len(services.campaigns.all_campaign_ids()) == 1


async def test_edit_changes_a_scheduled_campaign(
    service: list[str], services: Services, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.builders import a_campaign

    view = services.campaigns.schedule_campaign(
        a_campaign(2, scheduled_for=clock.now() + timedelta(days=1))
    ).view

    code = await cli(
        "edit", str(view.id), "--name", "Renamed", "--pacing", "40-80", "--no-auto-resume", *service
    )

    assert code == 0
    assert capsys.readouterr().out == (
        f"edited Renamed ({view.id}): changed name, pacing, options\n"
    )
    last = list(services.campaigns.iter_history(view.id))[-1]
    assert isinstance(last, Campaign.CampaignEdited)
    assert last.changes["options"]["new"]["auto_resume"] is False
    assert services.campaigns.campaign(view.id).pacing == {"min_seconds": 40.0, "max_seconds": 80.0}


async def test_edit_gives_a_campaign_its_own_window_and_none_takes_it_away(
    service: list[str], services: Services, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.builders import a_campaign

    view = services.campaigns.schedule_campaign(
        a_campaign(2, scheduled_for=clock.now() + timedelta(days=1))
    ).view

    given = await cli(
        "edit", str(view.id), "--window", "mon-fri 10:00-16:00 Europe/Berlin", *service
    )
    window = services.campaigns.campaign(view.id).options.get("window")
    taken = await cli("edit", str(view.id), "--window", "none", *service)
    capsys.readouterr()
    unchanged = await cli("edit", str(view.id), "--name", "Renamed", *service)

    assert (given, taken, unchanged) == (0, 0, 0)
    assert window == {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "10:00",
        "end": "16:00",
        "timezone": "Europe/Berlin",
    }
    assert services.campaigns.campaign(view.id).options.get("window") is None


async def test_edit_of_a_finished_campaign_names_its_state(
    service: list[str], services: Services, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    old_id = finished_campaign(services.campaigns, clock, [AttemptOutcome.SENT])

    code = await cli("edit", str(old_id), "--name", "Late", *service)

    assert code == 2
    assert capsys.readouterr().err == ("waha-campaigns: cannot edit a campaign that is Completed\n")


async def test_edit_with_nothing_to_change_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = await cli("edit", "6f1c2b8e-3a4d-4e5f-8a9b-0c1d2e3f4a5b", "--url", "http://127.0.0.1:9")

    assert code == 2
    assert "nothing to change" in capsys.readouterr().err


async def test_retry_prints_the_new_campaign_of_the_failed_contacts(
    service: list[str], services: Services, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    old_id = finished_campaign(services.campaigns, clock, OUTCOMES)

    code = await cli("retry", str(old_id), *service)
    new_id = capsys.readouterr().out.strip()
    again = await cli("retry", str(old_id), "--json", *service)

    assert (code, again) == (0, 0)
    assert json.loads(capsys.readouterr().out)["id"] == new_id
    new = services.campaigns.campaign(UUID(new_id))
    assert (new.total, new.retry_of) == (2, old_id)
    assert services.campaigns.campaign(old_id).retried_as == UUID(new_id)


async def test_retry_of_a_running_campaign_says_why_not(
    service: list[str], services: Services, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    running_id = finished_campaign(services.campaigns, clock, OUTCOMES[:2], end=False)

    code = await cli("retry", str(running_id), "--include-in-doubt", *service)

    assert code == 2
    assert "cannot retry a campaign that is Running: its outcomes still change" in (
        capsys.readouterr().err
    )
