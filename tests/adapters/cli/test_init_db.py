"""`init-db` creates every table once; services started together then find them in place."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from adapters.cli import main

ROOT = Path(__file__).resolve().parents[3]


def sqlite_tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_init_db_creates_every_table_of_a_sqlite_store_and_may_run_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "store.sqlite3"

    first = main(["init-db", "--database", f"sqlite:///{path}"])
    again = main(["init-db", "--database", f"sqlite:///{path}"])

    assert (first, again) == (0, 0)
    assert {"stored_events", "stored_snapshots", "tracking", "seen_webhooks"} <= sqlite_tables(path)
    assert "events, snapshots, read model, seen webhooks ready" in capsys.readouterr().out


def test_init_db_names_a_missing_folder_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["init-db", "--database", f"sqlite:///{tmp_path / 'nowhere' / 'x.sqlite3'}"])

    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "nowhere" in err


@pytest.mark.postgres
def test_init_db_run_four_times_at_once_on_postgresql_makes_every_table(postgres_url: str) -> None:
    command = [sys.executable, "-c", "import sys; from adapters.cli import main; sys.exit(main())"]
    children = [
        subprocess.Popen([*command, "init-db", "--database", postgres_url], cwd=ROOT)
        for _ in range(4)
    ]

    codes = [child.wait(timeout=120) for child in children]

    assert codes == [0, 0, 0, 0]
    with psycopg.connect(postgres_url) as db:
        tables = {
            row[0]
            for row in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema='public'"
            )
        }
    assert {"campaigns_events", "campaigns_snapshots", "seen_webhooks"} <= tables
    assert "campaign_lane_leases" in tables
