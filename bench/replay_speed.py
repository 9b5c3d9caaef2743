"""Load time of a campaign with 100,000 attempts, with and without snapshots (SQLite file)."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from uuid import UUID

from adapters import bootstrap
from app.audience import ContactInput
from app.campaigns import CampaignsApp
from app.scheduling import ScheduleCampaign
from domain.campaign import AttemptOutcome, Campaign
from domain.pacing import Pacing


def populate(app: CampaignsApp, attempts: int) -> UUID:
    """Schedule a campaign of `attempts` contacts and record an outcome for each, in batches."""
    contacts = [ContactInput(phone=f"+4915{100000000 + i}") for i in range(attempts)]
    campaign_id = app.schedule_campaign(
        ScheduleCampaign(name="bench", text="Hi", contacts=contacts, pacing=Pacing(0, 0))
    ).view.id
    app.start_campaign(campaign_id)
    campaign = app.load(campaign_id)
    now = app.clock.now()
    for start in range(0, attempts, 1000):
        for i in range(start, min(start + 1000, attempts)):
            campaign.record_attempt(
                index=i,
                chat_id=f"4915{100000000 + i}@c.us",
                outcome=AttemptOutcome.FAILED,
                error="bench",
                at=now,
            )
        app.save(campaign)
    return campaign_id


def time_loads(app: CampaignsApp, campaign_id: UUID, runs: int) -> list[float]:
    """Return the seconds each fresh load of the campaign took."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        campaign: object = app.repository.get(campaign_id)
        times.append(time.perf_counter() - started)
        assert isinstance(campaign, Campaign)
    return times


def open_app(path: Path, *, snapshots: bool) -> CampaignsApp:
    # No cache, so every load reads the store ("" means none; "0" would be unbounded).
    env = {"AGGREGATE_CACHE_MAXSIZE": "", "IS_SNAPSHOTTING_ENABLED": "y" if snapshots else "n"}
    return bootstrap.campaigns_app(f"sqlite:///{path}", env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        writer = open_app(path, snapshots=True)
        started = time.perf_counter()
        campaign_id = populate(writer, args.attempts)
        written = time.perf_counter() - started
        writer.close()
        print(f"wrote {args.attempts:,} attempts (batches of 1000) in {written:.1f} s")
        app = open_app(path, snapshots=True)
        # Snapshots land at the end of each 1000-event batch (versions 1002, 2002, ...): at
        # version N001 the newest snapshot ≤ N001 is 999 events behind, the worst case.
        worst = []
        for _ in range(args.runs):
            started = time.perf_counter()
            app.repository.get(campaign_id, version=(args.attempts // 1000 - 1) * 1000 + 1)
            worst.append(time.perf_counter() - started)
        app.close()
        print(
            f"load with snapshots, worst case (999 events after the snapshot): "
            f"median {statistics.median(worst) * 1000:.1f} ms"
        )
        for snapshots in (True, False):
            app = open_app(path, snapshots=snapshots)
            runs = args.runs if snapshots else max(2, args.runs // 2)
            times = time_loads(app, campaign_id, runs)
            app.close()
            label = "with snapshots (every 1000)" if snapshots else "without snapshots"
            print(
                f"load of a campaign with {args.attempts:,} attempts, {label}: "
                f"median {statistics.median(times) * 1000:.1f} ms "
                f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, {runs} runs)"
            )


if __name__ == "__main__":
    main()
