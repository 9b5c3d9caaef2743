"""Supervisor: owns this process's runs, starts due campaigns, picks up lost ones, resumes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from app.campaign_facts import CampaignFacts, CampaignFactsTracker
from app.campaigns import CampaignsApp
from app.errors import ConcurrentUpdateError
from app.ports import Clock, GatewayError, Sleeper, WahaGateway
from app.runner import CampaignRunner, RunControl, RunEnd
from app.views import CampaignView
from domain.campaign import SESSION_PAUSES, Campaign, PauseReason
from domain.errors import DomainError
from domain.policy import TYPING_MAX_SECONDS, AutoResume, Withhold, decide_auto_resume
from domain.session import SessionName

T = TypeVar("T")
log = logging.getLogger("waha_campaigns.supervisor")

__all__ = ["CampaignFacts", "Supervisor", "SupervisorSettings"]


@dataclass(frozen=True)
class SupervisorSettings:
    """How often the supervisor looks, and how long it waits for others."""

    tick_seconds: float = 1.0
    # Status polls for a paused session back off through these waits, then stay at the last.
    poll_backoff_seconds: tuple[float, ...] = (2.0, 5.0, 10.0, 30.0, 60.0)
    waha_timeout_seconds: float = 30.0
    # Beyond the longest silence a live runner can keep (see quiet_limit), how long a Running
    # campaign's log may stand still before another runner takes it over.
    takeover_after: timedelta = timedelta(seconds=30)
    # How long an operator's pause or cancel waits for a send in flight to finish.
    command_timeout_seconds: float = 60.0

    @property
    def shutdown_timeout_seconds(self) -> float:
        """How long a shutdown waits for runs to reach a safe point: one send, and a margin."""
        return self.waha_timeout_seconds + 5.0

    def quiet_limit(self, facts: CampaignFacts) -> timedelta:
        """Return the longest a live runner of this campaign can go without recording.

        With pacing, an outcome is saved with its delay, and the next event (the intent) comes
        after the wait and a status check: one WAHA call. Without pacing the outcome is held
        until the next intent, so a send and a status check lie between two saves. Number
        checks and the typing courtesy add their calls.
        """
        calls = 1 if facts.max_pacing_seconds > 0 else 2
        calls += (1 if facts.check_numbers else 0) + (3 if facts.simulate_typing else 0)
        typing = TYPING_MAX_SECONDS if facts.simulate_typing else 0.0
        seconds = facts.max_pacing_seconds + calls * self.waha_timeout_seconds + typing
        return timedelta(seconds=seconds) + self.takeover_after


@dataclass
class _Run:
    task: asyncio.Task[RunEnd]
    control: RunControl


@dataclass
class _SessionPoll:
    step: int = 0
    next_at: datetime | None = None


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
        self._tracker = CampaignFactsTracker(campaigns)
        self._polls: dict[str, _SessionPoll] = {}
        self._orphans: set[UUID] = set()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False

    async def _store(self, func: Callable[..., T], *args: object, **kwargs: object) -> T:
        return await asyncio.to_thread(func, *args, **kwargs)

    # -- facts, for this loop and for read models ---------------------------------------------

    async def refresh_facts(self) -> None:
        """Catch up with the store: only campaigns with new events are reloaded."""
        await self._store(self._tracker.refresh)

    def facts(self) -> list[CampaignFacts]:
        """Return what is known of every campaign, oldest first (as of the last refresh)."""
        return self._tracker.facts()

    # -- lifecycle of the supervisor ------------------------------------------------------------

    async def start(self) -> None:
        """Look at every campaign once, then keep looking every tick."""
        await self.tick()
        self._loop = asyncio.create_task(self._watch(), name="supervisor")

    async def _watch(self) -> None:
        while not self._stopping:
            await self.sleeper.sleep(self.settings.tick_seconds)
            try:
                await self.tick()
            except Exception:  # the loop must outlive any one bad tick
                log.exception("supervisor tick failed; trying again")

    def request_shutdown(self) -> None:
        """Ask every run to pause for the stop at its next safe point; start nothing new."""
        self._stopping = True
        for run in self.runs.values():
            run.control.request_shutdown()

    async def shutdown(self) -> None:
        """Stop every run at its next safe point; a send in flight finishes (bounded)."""
        self.request_shutdown()
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        tasks = [run.task for run in self.runs.values() if not run.task.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.settings.shutdown_timeout_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # -- what the loop does ------------------------------------------------------------------

    async def tick(self) -> None:
        """Start due campaigns, take up lost ones, resume those a stop paused, poll sessions."""
        await self.refresh_facts()
        now = self.clock.now()
        for facts in self.facts():
            try:
                await self._look_at(facts, now)
            except Exception:  # one bad campaign must not stop the others
                log.exception("campaign %s could not be looked after; skipping it", facts.id)
        await self._poll_paused_sessions(now)

    async def _look_at(self, facts: CampaignFacts, now: datetime) -> None:
        if self._stopping or self.is_running(facts.id):
            return
        if facts.status == "Scheduled" and facts.scheduled_for <= now:
            await self._start_due(facts.id)
        elif facts.status == "Running":
            quiet = now - facts.last_event_at if facts.last_event_at else timedelta.max
            if facts.id in self._orphans or quiet >= self.settings.quiet_limit(facts):
                log.info("campaign %s is Running without a runner; taking it up", facts.id)
                self._orphans.discard(facts.id)
                self._spawn(facts.id)
        elif facts.status == "Paused" and facts.pause_reason == PauseReason.SHUTDOWN.value:
            await self._resume(facts.id, "its service stopped; resuming")

    async def _start_due(self, campaign_id: UUID) -> None:
        try:
            await self._store(self.campaigns.start_campaign, campaign_id)
        except (DomainError, ConcurrentUpdateError):
            return  # another process started it first
        log.info("campaign %s is due; started", campaign_id)
        self._spawn(campaign_id)

    async def _resume(self, campaign_id: UUID, why: str) -> bool:
        try:
            await self._store(self.campaigns.resume_campaign, campaign_id, automatic=True)
        except (DomainError, ConcurrentUpdateError) as error:
            log.info("campaign %s changed meanwhile (%s); leaving it", campaign_id, error)
            return False
        log.info("campaign %s: %s", campaign_id, why)
        self._spawn(campaign_id)
        return True

    async def _poll_paused_sessions(self, now: datetime) -> None:
        sessions = {
            f.session
            for f in self.facts()
            if f.status == "Paused" and f.pause_reason in SESSION_PAUSES and f.auto_resume
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
                fact = await self.gateway.session_status(SessionName(session))
            except GatewayError as error:
                log.info("session %r still unreachable: %s", session, error)
                continue
            await self.on_session_status(session, fact.status)

    async def on_session_status(self, session: str, status: str) -> list[UUID]:
        """Act on a session's status (from a poll or a webhook); return campaigns resumed."""
        if not status:
            return []
        await self.refresh_facts()
        candidates = [
            f.id
            for f in self.facts()
            if f.session == session
            and f.status == "Paused"
            and f.pause_reason in SESSION_PAUSES
            and f.auto_resume
        ]
        resumed = []
        now = self.clock.now()
        for campaign_id in candidates:
            campaign: Campaign = await self._store(self.campaigns.load, campaign_id)
            limit = int(campaign.options.get("max_auto_resumes_per_hour", 3))
            decision = decide_auto_resume(campaign, status, now, limit)
            if isinstance(decision, AutoResume):
                if await self._resume(campaign_id, f"session {session!r} works again; resumed"):
                    resumed.append(campaign_id)
            elif isinstance(decision, Withhold):
                try:
                    await self._store(
                        self.campaigns.withhold_auto_resume, campaign_id, detail=decision.detail
                    )
                except (DomainError, ConcurrentUpdateError) as error:
                    log.info("campaign %s changed meanwhile (%s)", campaign_id, error)
                    continue
                log.warning("campaign %s stays paused: %s", campaign_id, decision.detail)
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
            log.exception("campaign %s: the run crashed; taking it up again", campaign_id)
            self._orphans.add(campaign_id)  # ours and dead: no other runner to wait for
            return RunEnd.NOT_RUNNING
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
