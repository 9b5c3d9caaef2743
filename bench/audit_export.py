"""Export (JSONL) and verify speed on a SQLite store holding a campaign of 100,000 attempts.

The export's fast path decodes each stored event's JSON directly (one prebuilt decoder that
unwraps the library's datetime/decimal/UUID encodings), instead of building domain objects
through the mapper and turning them back into JSON; both are timed. A second, small campaign
recorded after the large one shows what exporting one campaign costs: its own events, read
by their key, not a scan of everything recorded before it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path
from uuid import UUID

from adapters import bootstrap
from adapters.cli import main as cli
from adapters.cli.campaign_log import campaign_log_for
from app.audit import ScanningCampaignLog, export_events
from app.campaigns import CampaignsApp
from domain.audience import Audience
from domain.campaign import AttemptOutcome, Campaign
from domain.contacts import Contact, chat_id_for_e164
from domain.pacing import CampaignOptions, Pacing

# One save per this many contacts: three events each, so about a thousand events per save.
CONTACTS_PER_SAVE = 333
SMALL_CAMPAIGN = 10


def populate(app: CampaignsApp, attempts: int) -> UUID:
    """Record a completed campaign of `attempts` contacts, the runner's three events each."""
    now = app.clock.now()
    contacts = [
        Contact(phone=f"+4915{100000000 + i}", chat_id=chat_id_for_e164(f"+4915{100000000 + i}"))
        for i in range(attempts)
    ]
    audience = Audience.freeze(contacts)
    campaign = Campaign(
        name="bench",
        session="default",
        message={"text": "Hi", "defaults": {}, "image": None},
        audience=audience.reference(),
        scheduled_for=now,
        pacing=Pacing(30, 60).to_record(),
        options=CampaignOptions().to_record(),
        at=now,
    )
    campaign.start(at=now)
    app.save(audience, campaign)
    for i in range(attempts):
        chat = str(contacts[i].chat_id)
        campaign.begin_attempt(index=i, attempt_id=f"a{i}", chat_id=chat, at=now)
        campaign.record_attempt(
            index=i,
            chat_id=chat,
            outcome=AttemptOutcome.SENT,
            message_id=f"true_{chat}_{i:020d}",
            attempt_id=f"a{i}",
            at=now,
        )
        if i + 1 < attempts:
            # The event mix of logs written before send lanes: each campaign paced itself.
            campaign._pacing_delay_chosen(index=i, seconds=30 + i % 31, at=now)  # noqa: SLF001
        if (i + 1) % CONTACTS_PER_SAVE == 0:
            app.save(campaign)
    campaign.complete(at=now)
    app.save(campaign)
    return campaign.id


def timed_export(app: CampaignsApp, target: Path, *, fast: bool) -> tuple[int, float]:
    """Write every event as JSON lines through export_events; return (events, seconds)."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    started = time.perf_counter()
    count = 0
    with target.open("w", encoding="utf-8", buffering=1 << 20) as out:
        for row in export_events(app, fast=fast):
            out.write(encode(row))
            out.write("\n")
            count += 1
    return count, time.perf_counter() - started


def run_cli(*argv: str) -> tuple[int, float]:
    """Run a command as a shell would (output discarded); return (exit code, seconds)."""
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = cli(list(argv))
    return code, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attempts", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        url = f"sqlite:///{path}"
        writer = bootstrap.campaigns_app(url)
        started = time.perf_counter()
        campaign_id = populate(writer, args.attempts)
        written = time.perf_counter() - started
        small_id = populate(writer, SMALL_CAMPAIGN)
        events = writer.recorder.max_notification_id() or 0
        large_events = writer.recorder.select_events(campaign_id, desc=True, limit=1)[0]
        writer.close()
        print(
            f"wrote {args.attempts:,} attempts, {events:,} events "
            f"({path.stat().st_size / 1e6:.0f} MB) in {written:.1f} s"
        )

        reader = bootstrap.campaigns_app(url)
        for fast in (True, False):
            count, seconds = timed_export(reader, Path(folder) / "events.jsonl", fast=fast)
            label = "decoding stored JSON directly" if fast else "through the mapper (naive)"
            print(f"export_events, {label}: {count / seconds:,.0f} events/s ({seconds:.1f} s)")
        for label, log in (
            ("by scanning the log (the old way)", ScanningCampaignLog(reader.recorder)),
            ("by its key", campaign_log_for(reader.recorder)),
        ):
            started = time.perf_counter()
            count = sum(1 for _ in export_events(reader, small_id, campaign_log=log))
            seconds = time.perf_counter() - started
            print(
                f"export_events of the small campaign ({count} events) {label}: "
                f"{seconds * 1000:,.1f} ms"
            )
        reader.close()

        target = Path(folder) / "cli.jsonl"
        code, seconds = run_cli("export", "--output", str(target), "--database", url)
        print(
            f"waha-campaigns export (jsonl): {events / seconds:,.0f} events/s "
            f"({seconds:.1f} s, exit {code})"
        )
        for label, one in (("the large", campaign_id), ("the small", small_id)):
            code, seconds = run_cli("export", str(one), "--output", str(target), "--database", url)
            lines = len(target.read_text(encoding="utf-8").splitlines())
            print(
                f"waha-campaigns export ID (jsonl), {label} campaign: {lines:,} events, "
                f"{lines / seconds:,.0f} events/s ({seconds * 1000:,.0f} ms, exit {code})"
            )
        code, seconds = run_cli("verify", str(campaign_id), "--database", url)
        verified = large_events.originator_version
        print(
            f"waha-campaigns verify: {verified / seconds:,.0f} events/s "
            f"({seconds:.1f} s, exit {code})"
        )


if __name__ == "__main__":
    main()
