"""The client commands against the real HTTP API (http_app), not only the fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpServer

from adapters.bootstrap import Services, build, http_app
from app.settings import load_settings
from tests.adapters.cli.conftest import cli
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock, SeededRandom

TOKEN = "cli-test-token-7d1c"


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
async def url(services: Services, clock: ManualClock, aiohttp_server: AiohttpServer) -> str:
    app = http_app(services, gateway=FakeWahaGateway(clock), start_supervisor=False)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def test_create_show_list_and_cancel_through_the_real_api(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("phone,name\n+4915110000000,Ana\n+4915110000001,Ben\n", encoding="utf-8")
    service = ["--url", url, "--token", TOKEN]

    code = await cli(
        "create", str(contacts), "--text", "Hi {name}", "--at", "2027-01-01T09:00:00Z", *service
    )
    captured = capsys.readouterr()
    campaign_id = captured.out.strip()
    assert code == 0, captured.err

    assert await cli("show", campaign_id, "--json", *service) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["status"], shown["total"], shown["name"]) == ("Scheduled", 2, "contacts")

    assert await cli("list", "--json", *service) == 0
    assert [v["id"] for v in json.loads(capsys.readouterr().out)["items"]] == [campaign_id]

    assert await cli("cancel", campaign_id, "--reason", "wrong list", *service) == 0
    assert "cancelled at contact 0" in capsys.readouterr().out
    assert await cli("pause", campaign_id, *service) == 2
    assert capsys.readouterr().err.startswith("waha-campaigns: ")


async def test_the_real_apis_validation_problems_name_csv_lines(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("phone\n+4915110000000\n12\n", encoding="utf-8")

    code = await cli("create", str(contacts), "--text", "Hi", "--url", url, "--token", TOKEN)

    assert code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"  {contacts} line 3, phone '12': ")
    assert err[-1].startswith("waha-campaigns: ")
