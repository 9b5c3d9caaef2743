"""Resume in constant time: a lane taking up a campaign of 1k to 1M contacts, near its end.

A resume is what a lane does when it takes a campaign up (after a pause, a restart, or another
process's crash): load the campaign and the lane's record (each from its latest snapshot and
the events after it) and read the audience chunk that holds `next_index`. Each campaign is
written with the lane's real event mix, per contact: `AttemptStarted` and `ContactAttempted`
on the campaign, `TurnTaken` and `TurnEnded` on the lane, in batches (snapshots land where
the lane's own writes put them), into a SQLite file. Each resume is from a fresh application
(no aggregate cache), at points spread over the last two snapshot intervals, so over every
distance from a snapshot.

Goals (issue 12): resume <= 10 ms median at 100,000 and 1,000,000 contacts; 1M / 10k <= 1.5.
Baseline, same run: the resume the runner did before audiences were read in chunks, which
read the whole audience (`audience_of`); measured up to 100,000 contacts.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from adapters import bootstrap
from app.campaigns import DEFAULT_SNAPSHOT_INTERVAL, CampaignsApp
from domain.audience import CHUNK_SIZE, Audience, content_hash
from domain.campaign import AttemptOutcome, Campaign
from domain.contacts import Contact, chat_id_for_e164
from domain.content import MessageContent, MessageTemplate
from domain.lane import Lane, lane_id
from domain.pacing import CampaignOptions, Pacing

SESSION = "default"


def people(count: int) -> list[Contact]:
    return [
        Contact(
            phone=f"+4915{100000000 + i}",
            chat_id=chat_id_for_e164(f"+4915{100000000 + i}"),
            name=None,
            variables={},
        )
        for i in range(count)
    ]


def populate(app: CampaignsApp, size: int, stop_at: int | None = None) -> UUID:
    """Record a campaign of `size` contacts run by a lane up to contact `stop_at` (excluded).

    Without `stop_at`, every contact is sent (the campaign is still Running: it completes
    at the lane's next turn).
    """
    stop_at = size if stop_at is None else stop_at
    contacts = people(size)
    now = app.clock.now()
    audience = Audience.frozen(content_hash(contacts), size)
    app.record_audience(contacts, audience)
    del contacts
    campaign = Campaign(
        name="bench",
        session=SESSION,
        message=MessageContent(MessageTemplate("Hi {name}", {"name": "there"}), None).to_record(),
        audience=audience.reference(),
        scheduled_for=now,
        pacing=Pacing(0, 0).to_record(),
        options=CampaignOptions().to_record(),
        at=now,
    )
    campaign.start(at=now)
    lane = Lane(session=SESSION, at=now)
    lane.take_up(owner="bench", epoch=1, reconciled=[], at=now)
    app.save(campaign, lane)
    # Both records are at version 2; two events a contact. Writes end on multiples of the
    # snapshot interval, as the lane's (two events at a time) do, so snapshots land there.
    per_write = DEFAULT_SNAPSHOT_INTERVAL // 2
    for start in range(-1, stop_at, per_write):
        for index in range(max(0, start), min(start + per_write, stop_at)):
            attempt_id = uuid.uuid4().hex
            chat_id = f"4915{100000000 + index}@c.us"
            campaign.begin_attempt(index=index, attempt_id=attempt_id, chat_id=chat_id, at=now)
            lane.take_turn(
                campaign_id=campaign.id, index=index, attempt_id=attempt_id, epoch=1, at=now
            )
            campaign.record_attempt(
                index=index,
                chat_id=chat_id,
                outcome=AttemptOutcome.SENT,
                message_id=f"true_{chat_id}_{attempt_id}",
                attempt_id=attempt_id,
                at=now,
            )
            lane.end_turn(
                campaign_id=campaign.id,
                index=index,
                outcome="sent",
                unknown=False,
                next_campaign_id=campaign.id,
                gap_seconds=0.0,
                epoch=1,
                at=now,
            )
        app.save(campaign, lane)
    return campaign.id


def open_app(path: Path) -> CampaignsApp:
    # No aggregate cache, so every load reads the store ("" means none; "0" is unbounded).
    return bootstrap.campaigns_app(f"sqlite:///{path}", env={"AGGREGATE_CACHE_MAXSIZE": ""})


def resume(app: CampaignsApp, campaign_id: UUID, version: int) -> Contact:
    """What a lane reads to take the campaign up: campaign, lane record, the next contact.

    As at `version`: the campaign and the lane each gain two events a contact, so their
    versions go together; a resume there reads what a resume at that moment read.
    """
    campaign = app.load(campaign_id, version)
    app.repository.get(lane_id(campaign.session), version=version)
    index = campaign.next_index
    chunk = app.audience_chunk(campaign.audience_id, index // CHUNK_SIZE)
    return chunk[index % CHUNK_SIZE]


def whole_audience_resume(app: CampaignsApp, campaign_id: UUID, version: int) -> Contact:
    """The baseline: the same, reading the whole audience as the runner did before."""
    campaign = app.load(campaign_id, version)
    app.repository.get(lane_id(campaign.session), version=version)
    return app.audience_of(campaign_id)[campaign.next_index]


def timed(
    path: Path,
    read: Callable[[CampaignsApp, UUID, int], Contact],
    campaign_id: UUID,
    versions: list[int],
) -> list[float]:
    """Seconds of each resume, one at each of `versions`, each from a fresh application."""
    times = []
    for version in versions:
        app = open_app(path)
        started = time.perf_counter()
        read(app, campaign_id, version)
        times.append(time.perf_counter() - started)
        app.close()
    return times


def spread(last: int, runs: int) -> list[int]:
    """`runs` versions spread evenly over the last two snapshot intervals up to `last`."""
    span = min(last - 2, 2 * DEFAULT_SNAPSHOT_INTERVAL)
    return [last - span * k // runs for k in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument(
        "--baseline-up-to", type=int, default=100_000, help="largest size the baseline reads"
    )
    args = parser.parse_args()
    medians: dict[int, float] = {}
    print(
        f"{'contacts':>10} | {'write':>7} | {'resume p50':>10} | {'max':>8} | "
        f"{'baseline p50 (whole audience)':>29} | goal"
    )
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            path = Path(folder) / f"resume-{size}.sqlite3"
            stop_at = size - 1  # resumes at points spread over the last stretch
            writer = open_app(path)
            started = time.perf_counter()
            campaign_id = populate(writer, size, stop_at)
            written = time.perf_counter() - started
            writer.close()
            versions = spread(2 + 2 * stop_at, args.runs)
            timed(path, resume, campaign_id, versions[:1])  # warm-up: the first pays for imports
            times = timed(path, resume, campaign_id, versions)
            medians[size] = statistics.median(times)
            baseline = "n/a (skipped)"
            if size <= args.baseline_up_to:
                base = timed(path, whole_audience_resume, campaign_id, versions[:3])
                baseline = f"{statistics.median(base) * 1000:8.1f} ms"
            goal = ""
            if size >= 100_000:
                goal = "<= 10 ms: " + ("met" if medians[size] <= 0.010 else "NOT met")
            print(
                f"{size:>10,} | {written:5.1f} s | {medians[size] * 1000:7.2f} ms | "
                f"{max(times) * 1000:5.1f} ms | {baseline:>29} | {goal}",
                flush=True,
            )
    if 10_000 in medians and 1_000_000 in medians:
        ratio = medians[1_000_000] / medians[10_000]
        print(
            f"resume 1M / 10k = {ratio:.2f} (goal <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
