"""SQLITE_LOCK_TIMEOUT, the library's setting, holds for our own connections to its file too.

They waited a fixed 5 s whatever it said: the seen webhooks (a writer) and the gates' reads.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.bootstrap import Services, build, gate_reads_of, sqlite_busy_timeout
from adapters.sqlite_gate_reads import SQLiteGateReads
from app.settings import load_settings
from tests.adapters.sqlite_locks import write_locked
from tests.fakes.system import ManualClock

NOW = ManualClock().now()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "campaigns.sqlite3"


@pytest.fixture
def services(tmp_path: Path, path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    monkeypatch.setenv("SQLITE_LOCK_TIMEOUT", "1")
    built = build(
        load_settings(
            {}, campaigns_database_url=f"sqlite:///{path}", campaigns_media_dir=tmp_path / "media"
        )
    )
    yield built
    built.close()


def test_a_seen_webhook_waits_for_another_writer_as_long_as_the_store_says(
    path: Path, services: Services
) -> None:
    with write_locked(path):  # another process's writer holds the lock
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            services.seen_webhooks.first_time("k", NOW)
        waited = time.monotonic() - started

    assert services.seen_webhooks.first_time("k", NOW)  # the lock released: recorded
    assert 0.9 <= waited < 4  # its second, not the 5 s it used to wait


def test_the_gates_reads_take_the_store_s_timeout(path: Path, services: Services) -> None:
    reads = gate_reads_of(f"sqlite:///{path}", services.campaigns, services.contacts)

    assert sqlite_busy_timeout(services.campaigns) == 1.0
    assert isinstance(reads, SQLiteGateReads)
    assert reads.busy_timeout == 1.0
