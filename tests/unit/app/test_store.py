"""The shared repository never hands out a copy whose version runs ahead of its state."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.persistence import persistence_environment
from app.campaigns import CampaignsApp
from domain.campaign import AttemptOutcome
from tests.builders import scheduled
from tests.fakes.system import ManualClock

CONTACTS = 400


@pytest.fixture
def busy_thread_switching() -> Iterator[None]:
    # Switch threads as often as possible, so a copy racing a fast-forward is likely.
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("busy_thread_switching")
def test_a_cached_campaign_is_never_copied_while_another_thread_fast_forwards_it(
    tmp_path: Path, clock: ManualClock
) -> None:
    env = persistence_environment(f"sqlite:///{tmp_path / 'campaigns.sqlite3'}")
    writer = CampaignsApp(clock=clock, env=env, snapshot_interval=2)  # another process
    reader = CampaignsApp(clock=clock, env=env, snapshot_interval=2)  # this one, cache on
    campaign_id = scheduled(writer, CONTACTS)
    writer.start_campaign(campaign_id)
    base = writer.load(campaign_id).version
    held = writer.load(campaign_id)
    reader.load(campaign_id)
    torn: list[tuple[int, int]] = []
    done = threading.Event()

    def write() -> None:
        for i in range(CONTACTS):
            held.begin_attempt(index=i, attempt_id=f"a{i}", chat_id="x", at=clock.now())
            held.record_attempt(
                index=i,
                chat_id="x",
                outcome=AttemptOutcome.SENT,
                attempt_id=f"a{i}",
                at=clock.now(),
            )
            writer.save(held)
        done.set()

    def read() -> None:
        while not done.is_set():
            copy = reader.load(campaign_id)
            if copy.version != base + 2 * copy.next_index:
                torn.append((copy.version, copy.next_index))

    threads = [threading.Thread(target=write), *(threading.Thread(target=read) for _ in range(3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    reader.close()

    assert torn == []
