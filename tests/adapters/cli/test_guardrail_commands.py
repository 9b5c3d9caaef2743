"""`session`, `opt-out` and `create --dry-run` against the real HTTP API."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from adapters.cli.session_commands import warmup_spec, window_spec
from tests.adapters.cli.conftest import cli
from tests.adapters.cli.test_real_service import TOKEN, services, url

__all__ = ["services", "url"]  # the fixtures, shared with the other real-service tests


def service(url: str) -> list[str]:
    return ["--url", url, "--token", TOKEN]


def test_a_window_is_written_as_days_hours_and_zone() -> None:
    assert window_spec("mon-fri 09:00-18:00 Europe/Berlin") == {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "18:00",
        "timezone": "Europe/Berlin",
    }
    assert window_spec("fri-mon,wed 22:00-02:00 UTC") == {
        "days": ["mon", "wed", "fri", "sat", "sun"],
        "start": "22:00",
        "end": "02:00",
        "timezone": "UTC",
    }
    assert window_spec("none") is None
    assert warmup_spec("2026-12-01:20,50") == {"started_on": "2026-12-01", "caps": [20, 50]}
    for bad in ("weekdays 9-5 Berlin", "mon-fri 09:00-18:00"):
        with pytest.raises(argparse.ArgumentTypeError):
            window_spec(bad)


async def test_session_set_changes_the_numbers_guardrails_and_show_prints_them(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await cli(
        "session",
        "set",
        "sales",
        "--window",
        "mon-fri 09:00-18:00 Europe/Berlin",
        "--daily-cap",
        "150",
        "--warmup",
        "2026-11-20:20,50",
        "--json",
        *service(url),
    )
    shown = json.loads(capsys.readouterr().out)

    assert code == 0
    assert shown["settings"]["daily_cap"] == 150
    assert shown["effective_cap"] == 50  # week 2 of the warm-up on 28 November
    assert shown["settings_changed_by"].startswith("api:cli")

    assert await cli("session", "set", "sales", "--daily-cap", "none", *service(url)) == 0
    text = capsys.readouterr().out
    assert "daily cap  none" in text
    assert "mon,tue,wed,thu,fri 09:00-18:00 Europe/Berlin" in text

    assert await cli("session", "list", *service(url)) == 0
    assert "sales" in capsys.readouterr().out


async def test_a_bad_setting_is_one_line_naming_the_field(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await cli(
        "session", "set", "sales", "--window", "mon 09:00-18:00 Mars/Base", *service(url)
    )

    assert code == 2
    assert "window.timezone" in capsys.readouterr().err


async def test_session_set_without_a_setting_is_a_usage_error(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli("session", "set", "sales", *service(url)) == 2
    assert "--daily-cap" in capsys.readouterr().err


async def test_opt_outs_are_imported_listed_exported_and_removed(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = tmp_path / "stop.csv"
    people.write_text("phone,name\n+4915110000000,Ana\n+4915110000001,Ben\n", encoding="utf-8")

    assert await cli("opt-out", "import", str(people), *service(url)) == 0
    assert "2 added" in capsys.readouterr().out
    assert await cli("opt-out", "add", "+4915110000002", "--note", "called", *service(url)) == 0
    capsys.readouterr()

    assert await cli("opt-out", "export", *service(url)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "phone,source,at,note"
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["+4915110000000", "import"],
        ["+4915110000001", "import"],
        ["+4915110000002", "api"],
    ]

    assert await cli("opt-out", "remove", "+4915110000001", *service(url)) == 0
    capsys.readouterr()
    assert await cli("opt-out", "remove", "+4915110000001", *service(url)) == 4
    capsys.readouterr()
    assert await cli("opt-out", "list", "--json", *service(url)) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [i["phone"] for i in listed["items"]] == ["+4915110000000", "+4915110000002"]


async def test_an_import_names_the_files_line_of_a_bad_phone(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = tmp_path / "stop.csv"
    people.write_text("phone\n+4915110000000\n12\n", encoding="utf-8")

    assert await cli("opt-out", "import", str(people), *service(url)) == 2
    assert "line 3" in capsys.readouterr().err


async def test_a_dry_run_prints_messages_rejects_and_eta_recording_nothing(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "phone,name\n+4915110000000,Ana\n+4915110000001,Ben\n+4915110000002,Cy\n", encoding="utf-8"
    )
    await cli("opt-out", "add", "+4915110000001", *service(url))
    capsys.readouterr()

    code = await cli(
        "create",
        str(contacts),
        "--text",
        "{Hi|Hello} {name}",
        "--variant",
        "Good day {name}",
        "--pacing",
        "10-20",
        "--dry-run",
        *service(url),
    )
    captured = capsys.readouterr()

    assert code == 0, captured.err
    assert "nothing recorded" in captured.out
    assert f"skipped {contacts} line 3 +4915110000001: opted_out" in captured.out
    assert "eta: 2026-" in captured.out
    assert "below WAHA's advice" in captured.err
    assert await cli("list", "--json", *service(url)) == 0
    assert json.loads(capsys.readouterr().out)["items"] == []
