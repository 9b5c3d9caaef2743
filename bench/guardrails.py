"""What the number's guardrails cost per contact, beside no guardrails (OpenGates), same run.

A SQLite store holding 100,000 opt-outs and 1,000,000 past messages (their read model caught
up), a number with every setting on (a window, a daily cap, recontact after 30 days); then:
(1) the gates asked for contacts that pass every gate, directly, against OpenGates;
(2) a lane sending campaigns at zero pacing to a WAHA that answers at once, with and without.
Goal: gates under 0.2 ms per contact, so they never show in the lane's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

from fixtures import BATCH, run_and_cancel

from adapters import bootstrap
from app.audience import ContactInput
from app.campaigns import CampaignsApp
from app.lane_parts import OpenGates, SendGates
from app.ports import MediaPayload, SendReceipt, SentMessage, SessionStatusFact
from app.scheduling import ScheduleCampaign
from app.settings import load_settings
from domain.audience import Audience
from domain.campaign import Campaign
from domain.contacts import ChatId, Contact, chat_id_for_e164
from domain.opt_out import OptOut, new_opt_out
from domain.pacing import Pacing
from domain.session import SessionName

SESSION = SessionName("default")
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ROUNDS = 3


class InstantWaha:
    """A WAHA that answers at once and keeps nothing: the lane's own cost is what is left."""

    def __init__(self) -> None:
        self.sent = 0
        self._clock = bootstrap.system_time()[0]

    async def session_status(self, session: SessionName) -> SessionStatusFact:
        return SessionStatusFact(session, "WORKING", self._clock.now(), "poll")

    async def check_exists(self, session: SessionName, phone: str) -> ChatId | None:
        return ChatId(f"{phone}@c.us")

    async def phone_of_lid(self, session: SessionName, lid: str) -> ChatId | None:
        return None

    async def new_message_id(self, session: SessionName) -> str:
        return f"3EB0{self.sent:016X}"

    async def send_text(
        self, session: SessionName, chat_id: ChatId, text: str, *, message_id: str | None = None
    ) -> SendReceipt:
        self.sent += 1
        return SendReceipt(message_id=message_id, chat_id=chat_id)

    async def send_image(
        self, session: SessionName, chat_id: ChatId, image: MediaPayload, caption: str
    ) -> SendReceipt:
        return await self.send_text(session, chat_id, caption)

    async def send_media(
        self,
        session: SessionName,
        chat_id: ChatId,
        media: MediaPayload,
        caption: str,
        *,
        message_id: str | None = None,
    ) -> SendReceipt:
        return await self.send_text(session, chat_id, caption)

    async def find_message(self, session: SessionName, message_id: str) -> SentMessage | None:
        return None

    async def recent_own_messages(
        self, session: SessionName, chat_id: ChatId, since: datetime
    ) -> list[SentMessage]:
        return []

    async def send_seen(self, session: SessionName, chat_id: ChatId) -> None:
        return None

    async def start_typing(self, session: SessionName, chat_id: ChatId) -> None:
        return None

    async def stop_typing(self, session: SessionName, chat_id: ChatId) -> None:
        return None


def opt_outs(app: CampaignsApp, count: int) -> None:
    now = app.clock.now()
    batch: list[OptOut] = []
    for i in range(count):
        batch.append(new_opt_out(phone=f"+4916{i:09d}", source="import", note="bench", at=now))
        if len(batch) == BATCH:
            app.save(*batch)
            batch = []
    if batch:
        app.save(*batch)


def past_messages(app: CampaignsApp, count: int) -> UUID:
    """Record a campaign that sent `count` messages over the last 30 days, then cancel it."""
    phones = [f"+4917{i:09d}" for i in range(count)]
    audience = Audience.freeze([Contact(phone=p, chat_id=chat_id_for_e164(p)) for p in phones])
    now = app.clock.now()
    campaign = Campaign(
        name=f"past {count:,}",
        session=SESSION,
        message={"text": "Hi"},
        audience=audience.reference(),
        scheduled_for=now,
        pacing={"min_seconds": 0.0, "max_seconds": 0.0},
        options={},
        at=now,
    )
    app.save(audience)
    del audience
    start = now - timedelta(days=30)
    step = timedelta(days=30) / max(1, count)
    chats = [str(chat_id_for_e164(phone)) for phone in phones]
    run_and_cancel(app, campaign, chats, at=lambda i: start + step * i)
    return campaign.id


def schedule(app: CampaignsApp, n: int, first: int) -> UUID:
    contacts = [ContactInput(phone=f"+4915{100000000 + first + i}") for i in range(n)]
    request = ScheduleCampaign(name="bench", text="Hi", contacts=contacts, pacing=Pacing(0, 0))
    return app.schedule_campaign(request).view.id


async def gate_cost(gates: SendGates, campaign: Campaign, contacts: list[Contact]) -> list[float]:
    """Return the milliseconds each contact's gate call took (as the lane calls it)."""
    clock = bootstrap.system_time()[0]
    times = []
    for contact in contacts:
        started = time.perf_counter()
        await gates.before_send(SESSION, campaign, contact, clock.now())
        times.append((time.perf_counter() - started) * 1000)
    return times


async def lane_rate(services: bootstrap.Services, gates: SendGates, n: int, first: int) -> float:
    """Return the seconds per contact of a lane sending `n` contacts at zero pacing."""
    campaign_id = schedule(services.campaigns, n, first)
    gateway = InstantWaha()
    async with bootstrap.running(
        services, gateway=gateway, start_supervisor=False, gates=gates
    ) as runtime:
        started = time.perf_counter()
        await runtime.supervisor.run_now(campaign_id)
        await runtime.supervisor.wait_for_runs()
        elapsed = time.perf_counter() - started
    view = services.campaigns.campaign(campaign_id)
    assert (view.status, view.sent) == ("Completed", n), view
    return elapsed / n


def line(label: str, times: list[float]) -> str:
    p99 = statistics.quantiles(times, n=100)[98]
    return (
        f"{label:<34} mean {statistics.fmean(times):6.3f} ms, median "
        f"{statistics.median(times):6.3f} ms, p99 {p99:6.3f} ms"
    )


async def main(opted_out: int, messages: int, calls: int, lane_contacts: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "campaigns.sqlite3"
        settings = load_settings(
            {},
            campaigns_database_url=f"sqlite:///{path}",
            campaigns_media_dir=str(Path(folder) / "media"),
        )
        services = bootstrap.build(settings)
        app = services.campaigns
        started = time.perf_counter()
        opt_outs(app, opted_out)
        past_messages(app, messages)
        head = app.recorder.max_notification_id() or 0
        print(
            f"fixture: {opted_out:,} opt-outs, {messages:,} past messages, {head:,} events, "
            f"{time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        services.follower.catch_up()
        print(f"read model caught up to position {head:,}: {time.perf_counter() - started:.1f} s")
        services.session_settings.change(
            SESSION,
            {
                "window": {"days": EVERY_DAY, "start": "00:00", "end": "00:00", "timezone": "UTC"},
                "daily_cap": 1_000_000,
                "recontact_after_days": 30,
            },
            by="bench",
        )

        probe = app.load(schedule(app, calls, first=0))
        contacts = app.audience_of(probe.id)
        await gate_cost(services.guardrails, probe, contacts[:50])  # the tally's first seed
        # Best of three rounds each: the machine is shared, and a round may be unlucky.
        guarded = min(
            [await gate_cost(services.guardrails, probe, contacts) for _ in range(ROUNDS)],
            key=statistics.fmean,
        )
        opened = min(
            [await gate_cost(OpenGates(), probe, contacts) for _ in range(ROUNDS)],
            key=statistics.fmean,
        )
        print(f"gate calls for {calls:,} contacts that pass every gate (best of {ROUNDS} rounds):")
        print(line("  guardrails (all five gates)", guarded))
        print(line("  OpenGates (no guardrails)", opened))
        extra = statistics.fmean(guarded) - statistics.fmean(opened)
        print(f"  guardrails cost {extra:.3f} ms per contact (goal < 0.2 ms)")

        await lane_rate(services, OpenGates(), 200, first=500_000)  # warm up
        rates: dict[str, list[float]] = {"OpenGates": [], "guardrails": []}
        first = 600_000
        for _ in range(ROUNDS):  # alternated, so that both meet the same machine
            for label, gates in (("OpenGates", OpenGates()), ("guardrails", services.guardrails)):
                rates[label].append(await lane_rate(services, gates, lane_contacts, first=first))
                first += lane_contacts
        print(
            f"a lane sending {lane_contacts:,} contacts at zero pacing, WAHA answering at once "
            f"(ms per contact, best and median of {ROUNDS} alternated rounds):"
        )
        best = {label: min(values) for label, values in rates.items()}
        for label, values in rates.items():
            print(
                f"  {label:<11} best {min(values) * 1000:6.3f}, median "
                f"{statistics.median(values) * 1000:6.3f} ({1 / min(values):7.1f} contacts/s)"
            )
        ratio = best["guardrails"] / best["OpenGates"] - 1
        print(f"  guardrails / OpenGates, best rounds: {ratio:+.1%}")
        services.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--opt-outs", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--lane-contacts", type=int, default=2_000)
    args = parser.parse_args()
    asyncio.run(main(args.opt_outs, args.messages, args.calls, args.lane_contacts))
