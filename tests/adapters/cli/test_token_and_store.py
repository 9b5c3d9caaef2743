"""No silent traps at start: the generated token is kept and found; a bad store is named."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

from adapters.cli import main
from adapters.cli import serve as serve_module
from tests.adapters.cli.conftest import Service, cli
from tests.adapters.cli.fake_service import TOKEN
from tests.conftest import POSTGRES_ADMIN_URL

SOME_ID = "00000000-0000-4000-8000-000000000000"
# The library's pool would wait this long before saying it got no connection.
LIBRARY_WAIT_SECONDS = 5


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No CAMPAIGNS_* or WAHA_* setting from outside; run from an empty folder."""
    for name in list(os.environ):
        if name.startswith(("CAMPAIGNS_", "WAHA_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAMPAIGNS_MEDIA_DIR", str(tmp_path / "media"))
    return monkeypatch


@pytest.fixture
def served(environment: pytest.MonkeyPatch) -> list[str]:
    """Make `serve` return at once once its app is built; collect what it printed."""
    lines: list[str] = []

    async def fake_serve(
        app: web.Application, *, host: str, port: int, announce: Callable[[str], None]
    ) -> None:
        lines.append(f"served on {host}:{port}")

    environment.setattr(serve_module, "serve", fake_serve)
    return lines


def missing_database_url() -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/wc_no_such_database"


# -- the generated token ----------------------------------------------------------------------


def test_serve_reuses_the_token_it_made_at_its_first_start(
    served: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = tmp_path / "var" / "campaigns.sqlite3.api-token"

    assert main(["serve"]) == 0
    made = token_file.read_text()
    assert main(["serve"]) == 0

    out = capsys.readouterr().out
    assert token_file.read_text() == made
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert "API token made now in var/campaigns.sqlite3.api-token" in out
    assert "API token kept in var/campaigns.sqlite3.api-token" in out
    assert made.strip() not in out
    assert len(served) == 2


def test_a_token_file_others_can_read_is_narrowed(served: list[str], tmp_path: Path) -> None:
    token_file = tmp_path / "var" / "campaigns.sqlite3.api-token"
    token_file.parent.mkdir()
    token_file.write_text("a-token-written-by-hand\n")
    token_file.chmod(0o644)

    assert main(["serve"]) == 0

    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text() == "a-token-written-by-hand\n"


async def test_the_cli_reads_the_token_serve_keeps(
    environment: pytest.MonkeyPatch, service: Service, tmp_path: Path
) -> None:
    database = tmp_path / "store" / "campaigns.sqlite3"
    database.parent.mkdir()
    (tmp_path / "store" / "campaigns.sqlite3.api-token").write_text(TOKEN + "\n")
    environment.setenv("CAMPAIGNS_DATABASE_URL", f"sqlite:///{database}")

    assert await cli("list", "--url", service.url) == 0


async def test_without_any_token_the_cli_says_so(
    environment: pytest.MonkeyPatch, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli("show", SOME_ID, "--url", service.url) == 2

    assert capsys.readouterr().err == (
        "waha-campaigns: no API token given (use --token or CAMPAIGNS_API_TOKEN)\n"
    )


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["list", "--help"])

    out = capsys.readouterr().out
    assert "exit codes:" in out
    assert "no API token" in out


# -- stores that cannot be ----------------------------------------------------------------------


def test_a_sqlite_folder_that_does_not_exist_is_refused_naming_it(
    served: list[str],
    environment: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    typo = tmp_path / "vra" / "campaigns.sqlite3"

    assert main(["serve", "--database", f"sqlite:///{typo}"]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"the folder {typo.parent} of the SQLite database does not exist" in err
    assert not typo.parent.exists()
    assert served == []


def test_the_default_sqlite_folder_is_made(served: list[str], tmp_path: Path) -> None:
    assert main(["serve"]) == 0

    assert (tmp_path / "var" / "campaigns.sqlite3").is_file()


@pytest.mark.postgres
def test_a_postgresql_database_that_does_not_exist_is_named_at_once(
    served: list[str], postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()

    code = main(["serve", "--database", missing_database_url()])

    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert 'the PostgreSQL database "wc_no_such_database" does not exist' in err
    assert "createdb" in err
    assert 'CREATE DATABASE "wc_no_such_database"' in err
    assert elapsed < LIBRARY_WAIT_SECONDS
    assert served == []


@pytest.mark.postgres
def test_a_reading_command_names_a_missing_postgresql_database_too(
    environment: pytest.MonkeyPatch, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["events", SOME_ID, "--database", missing_database_url()])

    err = capsys.readouterr().err
    assert code == 3
    assert "createdb" in err
