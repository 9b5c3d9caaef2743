"""Lane leases: one holder per session, released when the holder dies, taken after it lapses."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from adapters.leases import FileLaneLeases, InProcessLaneLeases, PostgresLaneLeases
from adapters.persistence import postgres_conninfo

HOLD_IN_ANOTHER_PROCESS = """
import sys, time
from pathlib import Path
from adapters.leases import FileLaneLeases
leases = FileLaneLeases(Path(sys.argv[1]))
lease = leases.acquire("default", "child")
print("held" if lease else "refused", lease.epoch if lease else 0, flush=True)
sys.stdin.read()  # hold until killed
"""


@pytest.mark.parametrize("make", [InProcessLaneLeases, None], ids=["in-process", "file"])
def test_one_holder_at_a_time_and_a_release_lets_the_next_in(
    make: type[InProcessLaneLeases] | None, tmp_path: Path
) -> None:
    leases = make() if make is not None else FileLaneLeases(tmp_path / "lanes")
    first = leases.acquire("default", "one")
    assert first is not None

    assert leases.acquire("default", "two") is None
    assert leases.acquire("other", "two") is not None
    leases.release(first)
    second = leases.acquire("default", "two")
    assert second is not None
    kept = leases.renew([first, second])
    leases.close()

    assert second.epoch == first.epoch + 1
    assert kept == {"default"}


def test_a_file_lease_dies_with_its_process(tmp_path: Path) -> None:
    folder = tmp_path / "lanes"
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_IN_ANOTHER_PROCESS, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().split() == ["held", "1"]
            leases = FileLaneLeases(folder)
            refused = leases.acquire("default", "here")
            holders = leases.holders()
        finally:
            child.kill()  # SIGKILL: the holder gets no chance to let go
            child.wait()

    taken = leases.acquire("default", "here")
    leases.close()

    assert refused is None
    assert [(h.owner, h.epoch) for h in holders] == [("child", 1)]
    assert taken is not None
    assert taken.epoch == 2  # the kernel let it go at once; the epoch still grows


@pytest.fixture
def pg_leases(postgres_url: str) -> Iterator[tuple[PostgresLaneLeases, str]]:
    conninfo = postgres_conninfo(postgres_url)
    leases = PostgresLaneLeases(conninfo, lease_seconds=30)
    leases.create_table()
    yield leases, conninfo
    leases.close()


def lapse(conninfo: str, session: str) -> None:
    """Make the session's lease run out, as a holder that stopped renewing would."""
    with psycopg.connect(conninfo, autocommit=True) as db:
        db.execute(
            "UPDATE campaign_lane_leases SET expires_at = now() - interval '1 second' "
            "WHERE session = %s",
            (session,),
        )


@pytest.mark.postgres
def test_a_postgres_lease_is_held_until_it_lapses_then_taken_with_a_newer_epoch(
    pg_leases: tuple[PostgresLaneLeases, str],
) -> None:
    leases, conninfo = pg_leases
    first = leases.acquire("default", "one")
    assert first is not None
    refused = leases.acquire("default", "two")
    kept = leases.renew([first])

    lapse(conninfo, "default")
    taken = leases.acquire("default", "two")

    assert (refused, kept) == (None, {"default"})
    assert taken is not None
    assert taken.epoch == first.epoch + 1
    assert leases.renew([first]) == set()  # the stalled holder learns it lost the lane
    assert [(h.owner, h.epoch) for h in leases.holders()] == [("two", taken.epoch)]


@pytest.mark.postgres
def test_a_released_postgres_lease_is_free_at_once(
    pg_leases: tuple[PostgresLaneLeases, str],
) -> None:
    leases, _ = pg_leases
    first = leases.acquire("default", "one")
    assert first is not None

    leases.release(first)

    assert leases.acquire("default", "two") is not None


@pytest.mark.postgres
def test_creating_the_lease_table_twice_at_once_is_safe(postgres_url: str) -> None:
    conninfo = postgres_conninfo(postgres_url)
    script = (
        "import sys; from adapters.leases import PostgresLaneLeases; "
        "PostgresLaneLeases(sys.argv[1]).create_table()"
    )
    root = Path(__file__).resolve().parents[2]
    children = [
        subprocess.Popen([sys.executable, "-c", script, conninfo], cwd=root) for _ in range(4)
    ]

    assert [child.wait(timeout=60) for child in children] == [0, 0, 0, 0]
