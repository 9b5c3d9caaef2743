"""Group commit: what lanes have ready is recorded together; a conflict fails only its own."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest

from adapters.persistence import persistence_environment
from app.campaigns import CampaignsApp
from app.committer import ConflictError, GroupCommitter
from tests.builders import scheduled
from tests.fakes.loop_writer import StoreLoopWriter
from tests.fakes.system import ManualClock


async def recorded_each(
    committer: GroupCommitter, campaigns: CampaignsApp, loaded: list[Any]
) -> list[bool]:
    """Record each campaign through the committer at once; say of each whether it is durable."""

    async def record_and_check(campaign: Any) -> bool:
        await committer.record(campaign)
        return campaigns.campaign(campaign.id).status == "Running"

    return await asyncio.gather(*(record_and_check(c) for c in loaded))


async def test_commits_ready_at_once_share_one_write_and_are_durable_when_awaited(
    campaigns: CampaignsApp,
) -> None:
    ids = [scheduled(campaigns, 2) for _ in range(10)]
    loaded = [campaigns.load(i) for i in ids]
    for campaign in loaded:
        campaign.start(at=campaigns.clock.now())
    committer = GroupCommitter(campaigns)

    durable = await recorded_each(committer, campaigns, loaded)
    await committer.close()

    assert durable == [True] * 10
    assert committer.commits == 10
    assert committer.batches < 10


@pytest.mark.parametrize("on_the_loop", [False, True], ids=["in a thread", "on the loop"])
async def test_a_conflict_fails_only_the_commit_it_concerns_and_names_it(
    campaigns: CampaignsApp, on_the_loop: bool
) -> None:
    clashing, fine = scheduled(campaigns, 2), scheduled(campaigns, 2)
    stale = campaigns.load(clashing)
    campaigns.start_campaign(clashing)  # someone else records first
    stale.start(at=campaigns.clock.now())
    other = campaigns.load(fine)
    other.start(at=campaigns.clock.now())
    writer = StoreLoopWriter(campaigns) if on_the_loop else None
    committer = GroupCommitter(campaigns, writer=writer)

    results = await asyncio.gather(
        committer.record(stale), committer.record(other), return_exceptions=True
    )
    await committer.close()

    assert isinstance(results[0], ConflictError)
    assert results[0].conflicted == {clashing}
    assert results[1] is None
    assert campaigns.campaign(fine).status == "Running"


async def test_a_commit_with_nothing_pending_returns_at_once(campaigns: CampaignsApp) -> None:
    committer = GroupCommitter(campaigns)

    await committer.record(campaigns.load(scheduled(campaigns, 1)))
    await committer.close()

    assert committer.commits == 0


async def test_a_failing_store_reaches_every_caller_of_the_batch(
    campaigns: CampaignsApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = campaigns.load(scheduled(campaigns, 1))
    campaign.start(at=campaigns.clock.now())

    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(campaigns, "record", broken)
    committer = GroupCommitter(campaigns)

    with pytest.raises(OSError, match="disk full"):
        await committer.record(campaign)
    await committer.close()


class HeldSleeper:
    """A sleeper whose waits last until the test lets them end; it counts them."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.waiting = asyncio.Event()
        self.end = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.waiting.set()
        await self.end.wait()


async def test_commits_ready_within_the_gathering_window_share_one_write(
    campaigns: CampaignsApp,
) -> None:
    first, second, third, fourth = (campaigns.load(scheduled(campaigns, 2)) for _ in range(4))
    for campaign in (first, second, third, fourth):
        campaign.start(at=campaigns.clock.now())
    sleeper = HeldSleeper()
    committer = GroupCommitter(campaigns, gather_seconds=0.005, sleeper=sleeper)
    # A lone commit is written at once: no window while nobody else commits.
    await committer.record(first)
    # Two at once: written together without a window either, and from then on it is kept.
    await asyncio.gather(committer.record(second), committer.record(third))
    assert sleeper.waits == []

    lone = asyncio.create_task(committer.record(fourth))
    await sleeper.waiting.wait()  # the window is open: a commit that comes now joins it
    fifth = campaigns.load(scheduled(campaigns, 2))
    fifth.start(at=campaigns.clock.now())
    late = asyncio.create_task(committer.record(fifth))
    await asyncio.sleep(0)
    sleeper.end.set()
    await asyncio.gather(lone, late)
    await committer.close()

    assert (committer.commits, committer.batches) == (5, 3)
    assert sleeper.waits == [0.005]
    assert campaigns.campaign(fifth.id).status == "Running"


# -- a writer on the loop (a store with an async driver: PostgreSQL) ---------------------------


async def test_through_a_writer_on_the_loop_commits_are_durable_and_told_with_their_positions(
    campaigns: CampaignsApp,
) -> None:
    ids = [scheduled(campaigns, 2) for _ in range(10)]
    loaded = [campaigns.load(i) for i in ids]
    for campaign in loaded:
        campaign.start(at=campaigns.clock.now())
    told: list[tuple[int, UUID, int]] = []
    campaigns.on_recorded(
        lambda recordings: told.extend(
            (r.notification.id, r.domain_event.originator_id, r.domain_event.originator_version)
            for r in recordings
        )
    )
    saves = campaigns.saves_so_far
    writer = StoreLoopWriter(campaigns)
    committer = GroupCommitter(campaigns, writer=writer)

    durable = await recorded_each(committer, campaigns, loaded)
    await committer.close()

    assert durable == [True] * 10
    assert writer.batches == committer.batches
    assert committer.batches < 10
    assert campaigns.saves_so_far == saves + committer.batches  # read caches learn of each
    logged = campaigns.recorder.select_notifications(start=told[0][0], limit=100)
    assert told == [(n.id, n.originator_id, n.originator_version) for n in logged]
    assert {originator for _, originator, _ in told} == set(ids)


async def test_through_a_writer_on_the_loop_the_snapshots_due_are_written_with_the_events(
    clock: ManualClock,
) -> None:
    app = CampaignsApp(clock=clock, env=persistence_environment("memory://"), snapshot_interval=3)
    campaign = app.load(scheduled(app, 5))  # created at version 1
    campaign.start(at=clock.now())  # version 2
    campaign.begin_attempt(index=0, attempt_id="a0", chat_id="4915100000000@c.us", at=clock.now())
    writer = StoreLoopWriter(app)
    committer = GroupCommitter(app, writer=writer)

    await committer.record(campaign)  # versions 2 and 3: a snapshot at 3
    await committer.close()
    app.close()

    assert writer.snapshots == 1
    assert app.snapshots is not None
    taken = app.snapshots.recorder.select_events(campaign.id)
    assert [s.originator_version for s in taken] == [3]


async def test_a_writer_for_another_loop_leaves_the_write_to_a_worker_thread(
    campaigns: CampaignsApp,
) -> None:
    campaign = campaigns.load(scheduled(campaigns, 1))
    campaign.start(at=campaigns.clock.now())
    writer = StoreLoopWriter(campaigns)
    writer.here = False
    committer = GroupCommitter(campaigns, writer=writer)

    await committer.record(campaign)
    await committer.close()

    assert writer.batches == 0
    assert campaigns.campaign(campaign.id).status == "Running"
