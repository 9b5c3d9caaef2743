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
from tests.builders import xlsx
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
    assert "cancelled at contact 1 of 2 (index 0)" in capsys.readouterr().out
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


async def recorded(url: str, capsys: pytest.CaptureFixture[str]) -> list[object]:
    assert await cli("list", "--json", "--url", url, "--token", TOKEN) == 0
    items: list[object] = json.loads(capsys.readouterr().out)["items"]
    return items


async def test_a_template_typo_is_one_line_for_a_thousand_contacts(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contacts = tmp_path / "contacts.csv"
    rows = "".join(f"+49151{10000000 + i},Name {i}\n" for i in range(1000))
    contacts.write_text("phone,name\n" + rows, encoding="utf-8")

    code = await cli("create", str(contacts), "--text", "Hi {nmae}", "--url", url, "--token", TOKEN)

    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        (
            "  message.text '{nmae}': no contact has a nmae column or variable and there is no "
            "default for it (the contacts have: name); did you mean {name}?"
        ),
        "waha-campaigns: the template uses {nmae}, which no contact has and no default sets",
    ]
    assert await recorded(url, capsys) == []


async def test_contacts_lacking_a_value_are_one_line_naming_their_file_lines(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contacts = tmp_path / "contacts.xlsx"
    contacts.write_bytes(
        xlsx(
            ["Phone", "Promo Code"],
            ["+4915110000000", "A1"],
            [None, None],
            ["+4915110000001", None],
        )
    )

    code = await cli(
        "create", str(contacts), "--text", "{promo_code}", "--url", url, "--token", TOKEN
    )

    assert code == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        f"  {contacts}: 1 contact(s) have empty values the template needs ({{promo_code}} 1) "
        "and no default is set; fill them in or set message.defaults: "
        "row 4 +4915110000001 lacks {promo_code}"
    )
    assert await recorded(url, capsys) == []


async def test_numbers_written_with_00_reach_their_country(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("Phone;Name\n0049 151 10000000;Ana\n", encoding="utf-8")
    service = ["--url", url, "--token", TOKEN]

    code = await cli("create", "--contacts", str(contacts), "--text", "Hi {name}", *service)

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert await cli("show", captured.out.strip(), "--json", *service) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 1
