"""Supervisor: starts due campaigns, gives every session with work a lane, passes on commands."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from uuid import UUID

from app.blocking import off_loop
from app.campaign_facts import CampaignFacts, CampaignFactsTracker
from app.campaigns import CampaignsApp
from app.errors import ConcurrentUpdateError
from app.lanes import Lanes
from app.ports import Clock, Sleeper
from app.views import CampaignView
from domain.campaign import SESSION_PAUSES, TIMED_PAUSES, PauseReason
from domain.errors import DomainError, IllegalTransitionError
from domain.lifecycle import CampaignStatus

log = logging.getLogger("waha_campaigns.supervisor")

__all__ = ["CampaignFacts", "CommandResult", "Supervisor", "SupervisorSettings"]


@dataclass(frozen=True)
class SupervisorSettings:
    """How often the supervisor looks, and how long commands and a stop wait."""

    tick_seconds: float = 1.0
    waha_timeout_seconds: float = 30.0
    # How long an operator's pause or cancel of a live run waits for its lane to obey.
    command_timeout_seconds: float = 60.0
    # How often a command looks whether the lane obeyed.
    command_poll_seconds: float = 0.05

    @property
    def shutdown_timeout_seconds(self) -> float:
        """How long a stop waits for lanes to reach a safe point: one send, and a margin."""
        return self.waha_timeout_seconds + 5.0


@dataclass(frozen=True)
class CommandResult:
    """A command's effect: the campaign now, and whether its lane has yet to obey it."""

    view: CampaignView
    pending: bool = False


def needs_lane(facts: CampaignFacts) -> bool:
    """Whether the campaign needs its session's lane: to send, or to resume it by itself."""
    if facts.status == CampaignStatus.RUNNING:
        return True
    if facts.status != CampaignStatus.PAUSED or facts.pause_reason is None:
        return False
    if facts.pause_reason == PauseReason.SHUTDOWN.value or facts.pause_reason in TIMED_PAUSES:
        return True
    return facts.pause_reason in SESSION_PAUSES and facts.auto_resume


class Supervisor:
    """One per process: the scheduler, the lanes' keeper, and the way in for commands."""

    def __init__(
        self,
        campaigns: CampaignsApp,
        lanes: Lanes,
        tracker: CampaignFactsTracker,
        *,
        clock: Clock,
        sleeper: Sleeper,
        settings: SupervisorSettings | None = None,
    ) -> None:
        self.campaigns = campaigns
        self.lanes = lanes
        self.clock = clock
        self.sleeper = sleeper
        self.settings = settings or SupervisorSettings()
        self._tracker = tracker
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False

    # -- facts, for this loop and for read models ---------------------------------------------

    async def refresh_facts(self) -> None:
        """Catch up with the store."""
        await off_loop(self._tracker.refresh)

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
        """Start nothing new; lanes pause their campaigns at their next safe point."""
        self._stopping = True
        self.lanes.request_stop()

    async def shutdown(self) -> None:
        """Stop every lane at its next safe point; a send in flight finishes (bounded)."""
        self._stopping = True
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        await self.lanes.stop(self.settings.shutdown_timeout_seconds)

    # -- what the loop does ------------------------------------------------------------------

    async def tick(self) -> None:
        """Start due campaigns, give sessions with work a lane, renew the lanes' leases."""
        await self.refresh_facts()
        if self._stopping:
            return
        now = self.clock.now()
        for facts in self.facts():
            if facts.status == CampaignStatus.SCHEDULED and facts.scheduled_for <= now:
                # Every due campaign starts before its lane looks: campaigns due together take
                # turns from their first contact.
                await self._start_due(facts.id, to_lane=False)
        await self.refresh_facts()
        await self.lanes.renew()
        here = set(self.lanes.sessions())
        for facts in self.facts():
            if facts.session in here and (
                needs_lane(facts) or self.lanes.holds_campaign(facts.session, facts.id)
            ):
                # Others' writes (an operator's request in another process) reach the lane.
                self.lanes.notice(facts.session, facts.id, facts.version)
        for session in sorted({f.session for f in self.facts() if needs_lane(f)}):
            try:
                await self.lanes.ensure(session)
            except Exception:  # one session's trouble must not keep the others waiting
                log.exception("session %r: its lane could not be taken up", session)

    async def _start_due(self, campaign_id: UUID, *, to_lane: bool = True) -> CampaignView | None:
        try:
            view = await off_loop(self.campaigns.start_campaign, campaign_id)
        except (DomainError, ConcurrentUpdateError):
            return None  # started (or cancelled) by someone else first
        log.info("campaign %s is due; started", campaign_id)
        if to_lane:
            await self._to_lane(view)
        return view

    async def _to_lane(self, view: CampaignView) -> None:
        """Make sure the campaign's session has a lane (here, if nobody has one), and tell it."""
        await self.refresh_facts()
        if not self._stopping:
            await self.lanes.ensure(view.session)
        self.lanes.notice(view.session, view.id)

    async def on_session_status(self, session: str, status: str) -> None:
        """Pass a session's status from WAHA (webhook) to its lane here, which looks at once."""
        if status:
            self.lanes.session_seen(session, status)

    # -- operator commands -----------------------------------------------------------------

    async def run_now(self, campaign_id: UUID) -> CampaignView:
        """Start a scheduled campaign now if it is due (used right after scheduling)."""
        view = await off_loop(self.campaigns.campaign, campaign_id)
        if view.status == CampaignStatus.SCHEDULED and view.scheduled_for <= self.clock.now():
            started = await self._start_due(campaign_id)
            if started is None:
                return await off_loop(self.campaigns.campaign, campaign_id)
            return started
        return view

    async def pause(self, campaign_id: UUID) -> CommandResult:
        """Ask the campaign's lane to pause it; wait (bounded) until it has.

        Raises IllegalTransitionError unless the campaign runs; `pending` when the lane has
        not obeyed within the command timeout (a send outlasting it): it pauses at its next
        contact boundary.
        """
        view = await off_loop(self.campaigns.request_pause, campaign_id)
        await self._to_lane(view)  # a lane obeys: this process's, or whoever holds it
        view = await self._until_not_running(view)
        if view.status == CampaignStatus.RUNNING:
            return CommandResult(view, pending=True)
        if view.status != CampaignStatus.PAUSED:
            # The run finished (or was cancelled) before it could pause.
            raise IllegalTransitionError("pause", view.status)
        return CommandResult(view)

    async def resume(self, campaign_id: UUID) -> CampaignView:
        """Resume a paused campaign at its paused contact; its session's lane sends it."""
        view = await off_loop(self.campaigns.resume_campaign, campaign_id)
        await self._to_lane(view)
        return view

    async def cancel(self, campaign_id: UUID, reason: str) -> CommandResult:
        """End a campaign for good: at once when idle, at its lane's next boundary when running."""
        view = await off_loop(self.campaigns.cancel_campaign, campaign_id, reason=reason)
        if view.status != CampaignStatus.RUNNING:
            return CommandResult(view)
        await self._to_lane(view)
        view = await self._until_not_running(view)
        return CommandResult(view, pending=view.status == CampaignStatus.RUNNING)

    async def _until_not_running(self, view: CampaignView) -> CampaignView:
        waited = 0.0
        while (
            view.status == CampaignStatus.RUNNING and waited < self.settings.command_timeout_seconds
        ):
            await self.sleeper.sleep(self.settings.command_poll_seconds)
            waited += self.settings.command_poll_seconds
            view = await off_loop(self.campaigns.campaign, view.id)
        return view

    async def wait_for_runs(self) -> None:
        """Wait until no lane of this process has a campaign to send (tests and the demo)."""
        await self.lanes.wait_quiet()
