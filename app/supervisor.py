"""Supervisor: owns the runs of this process, starts due campaigns and resumes paused ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from app.campaigns import CampaignsApp
from app.errors import ConcurrentUpdateError
from app.ports import Clock, GatewayError, Sleeper, WahaGateway
from app.runner import CampaignRunner, RunControl, RunEnd
from app.views import CampaignView
from domain.campaign import SESSION_PAUSES, Campaign
from domain.errors import DomainError
from domain.policy import AutoResume, Withhold, decide_auto_resume

T = TypeVar("T")
log = logging.getLogger("waha_campaigns.supervisor")


@dataclass(frozen=True)
class SupervisorSettings:
    """How often the supervisor looks, and how long it waits for others."""

    tick_seconds: float = 1.0
    # Status polls for a paused session back off through these waits, then stay at the last.
    poll_backoff_seconds: tuple[float, ...] = (2.0, 5.0, 10.0, 30.0, 60.0)
    # A Running campaign whose log has not moved for this long has lost its runner.
    takeover_after: timedelta = timedelta(minutes=5)
    # A send in flight younger than this may still be going on in another process: WAHA's
    # timeout plus a margin. Recovery waits for it rather than reconcile a live send.
    in_flight_grace: timedelta = timedelta(seconds=40)
    # How long an operator's pause or cancel waits for a send in flight to finish.
    command_timeout_seconds: float = 60.0
    # How long a shutdown waits for sends in flight before cancelling their tasks.
    shutdown_timeout_seconds: float = 30.0


@dataclass
class _Run:
    task: asyncio.Task[RunEnd]
    control: RunControl


@dataclass
class _SessionPoll:
    step: int = 0
    next_at: datetime | None = None


@dataclass
class _Tracked:
    status: str
    version: int
    changed_at: datetime


class Supervisor:
    """One per process: every run of a campaign in this process goes through it."""

    def __init__(
        self,
        campaigns: CampaignsApp,
        runner: CampaignRunner,
        gateway: WahaGateway,
        *,
        clock: Clock,
        sleeper: Sleeper,
        settings: SupervisorSettings | None = None,
    ) -> None:
        self.campaigns = campaigns
        self.runner = runner
        self.gateway = gateway
        self.clock = clock
        self.sleeper = sleeper
        self.settings = settings or SupervisorSettings()
        self.runs: dict[UUID, _Run] = {}
        self._tracked: dict[UUID, _Tracked] = {}
        self._position = 0
        self._polls: dict[str, _SessionPoll] = {}
        self._orphans: set[UUID] = set()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False

    async def _store(self, func: Callable[..., T], *args: object, **kwargs: object) -> T:
        return await asyncio.to_thread(func, *args, **kwargs)

    # -- lifecycle of the supervisor ------------------------------------------------------------

    async def start(self) -> None:
        """Pick up every campaign left Running (by a crash or a stop), then watch the log."""
        await self.tick(recovering=True)
        self._loop = asyncio.create_task(self._watch(), name="supervisor")

    async def _watch(self) -> None:
        while not self._stopping:
            await self.sleeper.sleep(self.settings.tick_seconds)
            try:
                await self.tick()
            except Exception:  # the loop must outlive any one bad tick
                log.exception("supervisor tick failed; trying again")

    async def shutdown(self) -> None:
        """Stop every run at its next safe point; sends in flight finish (bounded)."""
        self._stopping = True
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for run in self.runs.values():
            run.control.request_shutdown()
        tasks = [run.task for run in self.runs.values() if not run.task.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.settings.shutdown_timeout_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # -- what the loop does ------------------------------------------------------------------

    async def tick(self, *, recovering: bool = False) -> None:
        """Look at every active campaign once: start due ones, take over lost ones, auto-resume."""
        await self._discover()
        now = self.clock.now()
        for campaign_id in list(self._tracked):
            campaign: Campaign = await self._store(self.campaigns.load, campaign_id)
            self._track(campaign, now)
            if campaign.status == "Scheduled" and campaign.scheduled_for <= now:
                await self._start_due(campaign_id)
            elif campaign.status == "Running" and not self.is_running(campaign_id):
                self._maybe_take_over(campaign, now, recovering=recovering)
            elif campaign.status in {"Completed", "Cancelled"}:
                del self._tracked[campaign_id]
        await self._poll_paused_sessions(now)

    def _maybe_take_over(self, campaign: Campaign, now: datetime, *, recovering: bool) -> None:
        tracked = self._tracked[campaign.id]
        lost = now - tracked.changed_at >= self.settings.takeover_after
        if not (recovering or lost or campaign.id in self._orphans):
            return
        flight = campaign.in_flight
        if flight is not None and now - flight["at"] < self.settings.in_flight_grace:
            self._orphans.add(campaign.id)  # look again on the next tick
            return
        self._orphans.discard(campaign.id)
        log.info("campaign %s is Running without a runner here; taking it up", campaign.id)
        self._spawn(campaign.id)

    async def _discover(self) -> None:
        while page := await self._store(self.campaigns.campaign_ids, after=self._position):
            for position, campaign_id in page:
                self._position = position
                self._tracked.setdefault(campaign_id, _Tracked("", -1, self.clock.now()))

    def _track(self, campaign: Campaign, now: datetime) -> None:
        tracked = self._tracked[campaign.id]
        if tracked.version != campaign.version:
            self._tracked[campaign.id] = _Tracked(campaign.status, campaign.version, now)

    async def _start_due(self, campaign_id: UUID) -> None:
        try:
            await self._store(self.campaigns.start_campaign, campaign_id)
        except (DomainError, ConcurrentUpdateError):
            return  # another process started it first
        log.info("campaign %s is due; started", campaign_id)
        self._spawn(campaign_id)

    async def _poll_paused_sessions(self, now: datetime) -> None:
        sessions = {
            c.session
            for c in await self._paused_for_session()
            if c.options.get("auto_resume", True) and not c.auto_resume_withheld
        }
        for gone in set(self._polls) - sessions:
            del self._polls[gone]
        for session in sessions:
            poll = self._polls.setdefault(session, _SessionPoll())
            if poll.next_at is not None and now < poll.next_at:
                continue
            waits = self.settings.poll_backoff_seconds
            poll.next_at = now + timedelta(seconds=waits[min(poll.step, len(waits) - 1)])
            poll.step += 1
            try:
                fact = await self.gateway.session_status(session)
            except GatewayError as error:
                log.info("session %r still unreachable: %s", session, error)
                continue
            await self.on_session_status(session, fact.status)

    async def _paused_for_session(self) -> list[Campaign]:
        # Read live state: a run may have paused a campaign since the last tick.
        await self._discover()
        paused = []
        for campaign_id in list(self._tracked):
            campaign: Campaign = await self._store(self.campaigns.load, campaign_id)
            if (
                campaign.status == "Paused"
                and campaign.pause is not None
                and campaign.pause["reason"] in SESSION_PAUSES
            ):
                paused.append(campaign)
        return paused

    async def on_session_status(self, session: str, status: str) -> list[UUID]:
        """Act on a session's status (from a poll or a webhook); return campaigns resumed."""
        if not status:
            return []
        resumed = []
        now = self.clock.now()
        for campaign in await self._paused_for_session():
            if campaign.session != session:
                continue
            limit = int(campaign.options.get("max_auto_resumes_per_hour", 3))
            decision = decide_auto_resume(campaign, status, now, limit)
            try:
                if isinstance(decision, AutoResume):
                    await self._store(self.campaigns.resume_campaign, campaign.id, automatic=True)
                    log.info(
                        "campaign %s: session %r is WORKING again; resumed", campaign.id, session
                    )
                    self._spawn(campaign.id)
                    resumed.append(campaign.id)
                elif isinstance(decision, Withhold):
                    await self._store(
                        self.campaigns.withhold_auto_resume, campaign.id, detail=decision.detail
                    )
                    log.warning("campaign %s stays paused: %s", campaign.id, decision.detail)
            except (DomainError, ConcurrentUpdateError) as error:
                log.info("campaign %s changed meanwhile (%s); leaving it", campaign.id, error)
        if resumed:
            self._polls.pop(session, None)
        return resumed

    # -- runs ---------------------------------------------------------------------------------

    def is_running(self, campaign_id: UUID) -> bool:
        """Whether this process has a live run of the campaign."""
        run = self.runs.get(campaign_id)
        return run is not None and not run.task.done()

    def _spawn(self, campaign_id: UUID) -> None:
        if self._stopping or self.is_running(campaign_id):
            return
        control = RunControl()
        task = asyncio.create_task(self._run(campaign_id, control), name=f"campaign-{campaign_id}")
        self.runs[campaign_id] = _Run(task, control)

    async def _run(self, campaign_id: UUID, control: RunControl) -> RunEnd:
        try:
            end = await self.runner.run(campaign_id, control)
        except Exception:  # a run's crash must not take the service down; the log is intact
            log.exception("campaign %s: the run crashed; it will be taken up again", campaign_id)
            return RunEnd.STOPPED
        log.info("campaign %s: run ended (%s)", campaign_id, end.value)
        return end

    async def wait_for_runs(self) -> None:
        """Wait until every run of this process has ended (for tests and the demo)."""
        while tasks := [r.task for r in self.runs.values() if not r.task.done()]:
            await asyncio.gather(*tasks)

    # -- operator commands -----------------------------------------------------------------

    async def run_now(self, campaign_id: UUID) -> CampaignView:
        """Start a scheduled campaign now if it is due (used right after scheduling)."""
        view = await self._store(self.campaigns.campaign, campaign_id)
        if view.status == "Scheduled" and view.scheduled_for <= self.clock.now():
            await self._start_due(campaign_id)
            view = await self._store(self.campaigns.campaign, campaign_id)
        return view

    async def pause(self, campaign_id: UUID) -> CampaignView:
        """Pause a campaign: its run stops at the next boundary, or it is paused directly."""
        run = self.runs.get(campaign_id)
        if run is not None and not run.task.done():
            run.control.request_pause()
            await self._await_run(run)
            return await self._store(self.campaigns.campaign, campaign_id)
        return await self._store(self.campaigns.pause_campaign, campaign_id)

    async def cancel(self, campaign_id: UUID, reason: str) -> CampaignView:
        """Cancel a campaign: its run stops at the next boundary, or it is cancelled directly."""
        run = self.runs.get(campaign_id)
        if run is not None and not run.task.done():
            run.control.request_cancel(reason)
            await self._await_run(run)
            view = await self._store(self.campaigns.campaign, campaign_id)
            if view.status == "Cancelled":
                return view
        return await self._store(self.campaigns.cancel_campaign, campaign_id, reason=reason)

    async def resume(self, campaign_id: UUID) -> CampaignView:
        """Resume a paused campaign at its paused contact and run it here."""
        view = await self._store(self.campaigns.resume_campaign, campaign_id)
        self._spawn(campaign_id)
        return view

    async def _await_run(self, run: _Run) -> None:
        # shield: a client that gives up must not cancel the run mid-send.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.shield(run.task), timeout=self.settings.command_timeout_seconds
            )
