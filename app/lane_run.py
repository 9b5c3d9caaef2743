"""A session's lane at work: one sender for every running campaign on one WhatsApp number.

The loop: obey what operators asked (at a contact boundary), choose whose contact goes next
(round-robin by contact, higher priority first), wait the gap chosen for it, check the
session (the seed's rule, before every contact), then hand the contact to `ContactTurn`.
Everything it decides is recorded through the group committer with one of the lane's own
events, so a sender that lost its lane is fenced by the lane's version.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from uuid import UUID

from app.blocking import off_loop
from app.campaign_facts import CampaignFacts
from app.committer import ConflictError
from app.lane_parts import Held, LaneEnd, LanePorts, LaneSettings
from app.lane_reconcile import reconcile_in_flight
from app.lane_turn import ContactTurn, LaneLostError, Unrecorded
from app.ports import GatewayError, Lease
from domain.campaign import SESSION_PAUSES, TIMED_PAUSES, Campaign, PauseReason
from domain.lane import Lane
from domain.lifecycle import CampaignStatus
from domain.policy import (
    AutoResume,
    Pause,
    Proceed,
    Withhold,
    decide,
    decide_auto_resume,
    too_many_failures,
)
from domain.rotation import next_turn
from domain.session import SessionName

log = logging.getLogger("waha_campaigns.lane")


class LaneRun:
    """Sends every running campaign of one session, one message at a time, while leased."""

    def __init__(
        self, ports: LanePorts, lease: Lease, settings: LaneSettings | None = None
    ) -> None:
        self.p = ports
        self.lease = lease
        self.session = SessionName(lease.session)
        self.settings = settings or LaneSettings()
        self.lane: Lane | None = None
        self.epoch = 0
        self.held: dict[UUID, Held] = {}
        self.unrecorded: list[Unrecorded] = []
        self._stale: set[UUID] = set()
        self._wake = asyncio.Event()
        self._lost = False
        self._stopping = False
        self._valid_until: datetime | None = None
        self._last_order: int | None = None
        self._seen_status: str | None = None
        self._poll_step = 0
        self._idle_since: datetime | None = None
        # Pauses for WAHA failing in a row, without a sure outcome between: each waits longer.
        self._unavailable_rounds = 0
        # Set while the lane waits with no running campaign (tests and the demo wait for it).
        self.quiet = asyncio.Event()

    # -- from the outside ------------------------------------------------------------------------

    def notice(self, campaign_id: UUID, version: int | None = None) -> None:
        """Someone else recorded on this campaign, or it now runs on this session: look again."""
        held = self.held.get(campaign_id)
        if held is not None and version is not None and version <= held.campaign.version:
            return  # our own write, or nothing new
        self._stale.add(campaign_id)
        self.quiet.clear()  # it may have work now: waiters wait for the lane to look
        self._wake.set()

    def session_seen(self, status: str) -> None:
        """WAHA told (a webhook) the session's status: a lane waiting for it looks at once."""
        self._seen_status = status
        self.quiet.clear()
        self._wake.set()

    def renewed(self, until: datetime | None) -> None:
        """Allow sends until `until` (None: while we live): the lease was renewed."""
        self._valid_until = until

    def lose(self) -> None:
        """Send nothing more: the lease is gone."""
        self._lost = True
        self._wake.set()

    def request_stop(self) -> None:
        """Pause the running campaigns for a service stop at the next boundary, then end."""
        self._stopping = True
        self._wake.set()

    @property
    def stop_requested(self) -> bool:
        """Whether the service asked this lane to stop."""
        return self._stopping

    def holds(self, campaign_id: UUID) -> bool:
        """Whether this lane holds the campaign."""
        return campaign_id in self.held

    def may_send(self) -> bool:
        """Whether the lease still allows a send now."""
        if self._lost:
            return False
        return self._valid_until is None or self.p.clock.now() < self._valid_until

    # -- the run ---------------------------------------------------------------------------------

    async def run(self) -> LaneEnd:
        """Take the lane up, then send until idle, stopped, or the lease is lost."""
        try:
            await self._take_up()
            while True:
                end = await self._step()
                if end is not None:
                    return end
        except LaneLostError as error:
            log.warning("lane %r lost: %s; sending nothing more", self.session, error)
            return LaneEnd.LOST

    async def _step(self) -> LaneEnd | None:
        await self._absorb()
        if self._lost:
            return LaneEnd.LOST
        if self._stopping:
            await self._pause_running(
                PauseReason.SHUTDOWN, "the service stopped; it resumes on start"
            )
            await self.commit()
            return LaneEnd.STOPPED
        await self._guards()
        running = self._running()
        if not running:
            return await self._without_running()
        self._idle_since = None
        turn = next_turn([h.contender() for h in running], self._last_order)
        assert turn is not None  # noqa: S101 - running is not empty
        held = self.held[turn.campaign_id]
        if not await self._wait_turn(held):
            return None  # woken: something changed; decide again
        if not await self._session_works():
            return None
        if not self.may_send():
            raise LaneLostError("the lease ran out before the send")
        self._last_order = held.order
        contact_turn = ContactTurn(self, held)
        try:
            await contact_turn.go()
        except LaneLostError:
            raise
        except Exception as error:
            if contact_turn.may_have_sent:
                raise  # the lane ends; its next holder settles the send by looking it up
            await self._runner_error(held, error)
        return None

    async def _runner_error(self, held: Held, error: Exception) -> None:
        """Pause the campaign whose turn failed before anything could be sent, on the record."""
        log.error(
            "lane %r: campaign %s failed before a send", self.session, held.id, exc_info=error
        )
        detail = f"{type(error).__name__}: {short_text(error)}"
        await self._reload([held])  # what the failed turn half-did is dropped: the store wins
        campaign = held.campaign
        now = self.p.clock.now()
        flight = campaign.in_flight
        if flight is not None:
            # Recorded, never sent (the send had not begun): say so, and keep the contact.
            campaign.abandon_attempt(
                index=int(flight["index"]),
                attempt_id=str(flight["attempt_id"]),
                reason=detail,
                at=now,
            )
        if campaign.state is CampaignStatus.RUNNING:
            campaign.pause_at_next(reason=PauseReason.RUNNER_ERROR, detail=detail, at=now)
        self.unrecorded.clear()
        await self.commit()

    def _running(self) -> list[Held]:
        return [h for h in self.held.values() if h.campaign.state is CampaignStatus.RUNNING]

    # -- taking the lane up ---------------------------------------------------------------------

    async def _take_up(self) -> None:
        """Load the lane and its campaigns; settle what the last holder left in flight."""
        for _ in range(5):
            lane = await off_loop(self.p.campaigns.lane, self.session)
            if lane is None:
                lane = Lane(session=self.session, at=self.p.clock.now())
            self.lane = lane
            self.epoch = max(self.lease.epoch, lane.epoch + 1)
            await self._load_held()
            reconciled = []
            for held in list(self.held.values()):
                flight = held.campaign.in_flight
                if flight is not None and held.campaign.state is CampaignStatus.RUNNING:
                    reconciled.append(await reconcile_in_flight(self, held))
            lane.take_up(
                owner=self.lease.owner,
                epoch=self.epoch,
                reconciled=reconciled,
                at=self.p.clock.now(),
            )
            self._resume_after_shutdown()
            try:
                await self.commit()
            except ConflictError:
                continue  # someone recorded meanwhile: look again
            previous = lane.last_turn
            if previous is not None:
                order = self._order_of(UUID(previous["campaign_id"]))
                self._last_order = order
            log.info(
                "lane %r taken up by %s (epoch %d): %d campaign(s), %d send(s) reconciled",
                self.session,
                self.lease.owner,
                self.epoch,
                len(self.held),
                len(reconciled),
            )
            return
        raise LaneLostError("the lane kept changing while being taken up")

    async def _load_held(self) -> None:
        self.held.clear()
        for facts in self._facts_of_session():
            if _worth_holding(facts):
                await self._hold(facts.id, facts.position)

    def _facts_of_session(self) -> list[CampaignFacts]:
        return [f for f in self.p.facts() if f.session == self.session]

    def _order_of(self, campaign_id: UUID) -> int | None:
        held = self.held.get(campaign_id)
        if held is not None:
            return held.order
        for facts in self.p.facts():
            if facts.id == campaign_id:
                return facts.position
        return None

    async def _hold(self, campaign_id: UUID, order: int) -> Held | None:
        campaign: Campaign = await off_loop(self.p.campaigns.load, campaign_id)
        if campaign.session != self.session or not _campaign_worth_holding(campaign):
            self.held.pop(campaign_id, None)
            return None
        held = self.held.get(campaign_id)
        if held is None:
            held = self.held[campaign_id] = Held(campaign, order)
        else:
            held.adopt(campaign)
        return held

    def _resume_after_shutdown(self) -> None:
        now = self.p.clock.now()
        for held in self.held.values():
            pause = held.campaign.pause
            if pause is not None and pause["reason"] == PauseReason.SHUTDOWN.value:
                held.campaign.resume(at=now, automatic=True)

    # -- obeying operators, between contacts ---------------------------------------------------

    async def _absorb(self) -> None:
        """Reload campaigns others wrote to, take up new ones, and obey operators' requests."""
        self._wake.clear()
        stale, self._stale = self._stale, set()
        if stale:
            # What we hold back for the next intent is recorded first: a reload keeps only
            # what the store has.
            await self.commit()
        for campaign_id in stale:
            order = self._order_of(campaign_id)
            if order is None:
                continue  # not known to the follower yet: it will say again
            await self._hold(campaign_id, order)
        now = self.p.clock.now()
        changed = False
        for held in self._running():
            campaign = held.campaign
            if campaign.in_flight is not None:
                continue  # settled by the next turn's reconciliation, never left hanging
            if campaign.cancel_requested is not None:
                campaign.cancel(reason=str(campaign.cancel_requested["reason"]), at=now)
                changed = True
            elif campaign.pause_requested is not None:
                campaign.pause_at_next(
                    reason=PauseReason.MANUAL,
                    detail=str(campaign.pause_requested["detail"]),
                    at=now,
                )
                changed = True
        if changed:
            await self.commit()
        for campaign_id in [
            i for i, h in self.held.items() if not _campaign_worth_holding(h.campaign)
        ]:
            del self.held[campaign_id]

    async def _guards(self) -> None:
        """Complete what is done; stop early when sends keep failing or say nothing sure."""
        now = self.p.clock.now()
        paused = False
        for held in self._running():
            if held.campaign.all_handled:
                held.campaign.complete(at=now)
                log.info("campaign %s completed: %d contacts", held.id, held.campaign.total)
                paused = True
                continue
            verdict = too_many_failures(
                held.campaign.consecutive_failures, held.options.max_consecutive_failures
            )
            if verdict is not None and held.campaign.in_flight is None:
                held.campaign.pause_at_next(reason=verdict.reason, detail=verdict.detail, at=now)
                paused = True
        if paused:
            await self.commit()
        running = self._running()
        lane = self.lane
        assert lane is not None  # noqa: S101 - taken up
        if not lane.probation:
            self._unavailable_rounds = 0
        if running and lane.unknown_streak > 0:
            # Back after WAHA kept failing, one more unknown outcome is enough to stop again.
            limit = 1 if lane.probation else min(h.options.max_consecutive_unknown for h in running)
            if lane.unknown_streak >= limit:
                self._unavailable_rounds += 1
                await self.go_down(
                    PauseReason.WAHA_UNAVAILABLE,
                    f"{lane.unknown_streak} sends in a row with no sure outcome "
                    f"(limit {limit}); WAHA may be failing",
                )

    # -- waiting -----------------------------------------------------------------------------------

    async def _wait_turn(self, held: Held) -> bool:
        """Wait until `held`'s contact may go; False when woken first (decide again)."""
        lane = self.lane
        assert lane is not None  # noqa: S101 - taken up
        planned = lane.next_turn
        if lane.turn_ended_at is None:
            not_before = None  # nothing was ever sent through this lane
        elif planned is not None and planned["campaign_id"] == str(held.id):
            not_before = planned["not_before"]
        else:
            # Another campaign goes than was planned: its own bounds hold for this gap.
            seconds = held.pacing.delay(self.p.rng.uniform())
            lane.choose_gap(
                campaign_id=held.id, seconds=seconds, epoch=self.epoch, at=self.p.clock.now()
            )
            not_before = lane.next_send_at
        if not_before is None:
            return True
        remaining = (not_before - self.p.clock.now()).total_seconds()
        if remaining <= 0:
            return True
        return await self.sleep(remaining)

    async def sleep(self, seconds: float) -> bool:
        """Wait `seconds`; False when something wakes the lane first.

        What the lane has pending is recorded before it waits: a restart during the wait
        finds every outcome and the gap chosen, and keeps to that gap.
        """
        await self.commit()
        if self._wake.is_set():
            return False
        if not self._running():
            self.quiet.set()  # nothing to send while this wait lasts
        sleep = asyncio.ensure_future(self.p.sleeper.sleep(seconds))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleep, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleep, woken):
                task.cancel()
            self.quiet.clear()
        return not self._wake.is_set()

    # -- the session ----------------------------------------------------------------------------

    async def _session_works(self) -> bool:
        """Ask WAHA for the session's status; when it cannot send, pause every running campaign."""
        try:
            fact = await self.p.gateway.session_status(self.session)
        except GatewayError as error:
            await self.go_down(PauseReason.STATUS_CHECK_FAILED, short_text(error))
            return False
        self.p.gates.observe_status(fact)  # WhatsApp's limits in it are a guardrail
        decision = decide(fact.status)
        if isinstance(decision, Pause):
            await self.go_down(PauseReason.SESSION_NOT_WORKING, fact.status)
            return False
        return True

    async def go_down(
        self, reason: PauseReason, detail: str, *, resume_at: datetime | None = None
    ) -> None:
        """Pause every running campaign of the session, each at its own next contact.

        With `resume_at`, the pause lifts by itself then (a window opens, a new day's cap).
        """
        paused = await self._pause_running(reason, detail, resume_at=resume_at)
        lane = self.lane
        assert lane is not None  # noqa: S101 - taken up
        lane.pause(
            resume_at=resume_at,
            reason=reason.value,
            detail=detail,
            campaigns=paused,
            epoch=self.epoch,
            at=self.p.clock.now(),
        )
        await self.commit()
        self._poll_step = 0
        log.warning(
            "session %r cannot send (%s: %s): %d campaign(s) paused",
            self.session,
            reason.value,
            detail,
            len(paused),
        )

    async def _pause_running(
        self, reason: PauseReason, detail: str, *, resume_at: datetime | None = None
    ) -> list[UUID]:
        now = self.p.clock.now()
        paused = []
        for held in self._running():
            if held.campaign.in_flight is not None:
                continue  # never: one send at a time, and it is settled before this
            held.campaign.pause_at_next(reason=reason, detail=detail, at=now, resume_at=resume_at)
            paused.append(held.id)
        return paused

    async def _without_running(self) -> LaneEnd | None:
        """Nothing to send: watch a session that went down, resume timed pauses, or go idle."""
        await self.commit()
        now = self.p.clock.now()
        waiting = [h for h in self.held.values() if _awaits_session(h.campaign)]
        timed = [_resume_at(h.campaign) for h in self.held.values() if _timed_resume(h.campaign)]
        if waiting:
            await self._watch_session(waiting)
            return None
        if timed:
            due = min(timed)
            if due <= now:
                await self._resume_timed(now)
                return None
            await self.sleep((due - now).total_seconds())
            return None
        if self._idle_since is None:
            self._idle_since = now
        idle = (now - self._idle_since).total_seconds()
        if idle >= self.settings.idle_seconds:
            return LaneEnd.IDLE
        await self.sleep(self.settings.idle_seconds - idle)
        return None

    async def _resume_timed(self, now: datetime) -> None:
        resumed = []
        for held in self.held.values():
            if _timed_resume(held.campaign) and _resume_at(held.campaign) <= now:
                held.campaign.resume(at=now, automatic=True)
                resumed.append(held.id)
        lane = self.lane
        assert lane is not None  # noqa: S101 - taken up
        lane.resume(resumed=resumed, withheld=[], epoch=self.epoch, at=now)
        await self.commit()

    async def _watch_session(self, waiting: list[Held]) -> None:
        """Poll the session once for all (backing off); resume its campaigns when it works.

        A pause for WAHA failing sends is not lifted by a WORKING status alone (WAHA answers
        statuses while its sends fail): it waits out a back-off first, longer each round.
        """
        lane = self.lane
        assert lane is not None  # noqa: S101 - taken up
        if lane.down is not None and lane.down["reason"] == PauseReason.WAHA_UNAVAILABLE.value:
            waits = self.settings.poll_backoff_seconds
            rounds = max(self._unavailable_rounds, 1)
            not_before = lane.down["at"] + timedelta(seconds=waits[min(rounds, len(waits)) - 1])
            remaining = (not_before - self.p.clock.now()).total_seconds()
            if remaining > 0:
                await self.sleep(remaining)
                return
        status = self._seen_status
        self._seen_status = None
        if status is None:
            try:
                status = (await self.p.gateway.session_status(self.session)).status
            except GatewayError as error:
                log.info("session %r still unreachable: %s", self.session, short_text(error))
                status = None
        if status is not None and isinstance(decide(status), Proceed):
            await self._session_back(waiting, status)
            return
        waits = self.settings.poll_backoff_seconds
        wait = waits[min(self._poll_step, len(waits) - 1)]
        self._poll_step += 1
        await self.sleep(wait)

    async def _session_back(self, waiting: list[Held], status: str) -> None:
        now = self.p.clock.now()
        resumed: list[UUID] = []
        withheld: list[UUID] = []
        for held in waiting:
            campaign = held.campaign
            decision = decide_auto_resume(
                campaign, status, now, held.options.max_auto_resumes_per_hour
            )
            if isinstance(decision, AutoResume):
                campaign.resume(at=now, automatic=True)
                resumed.append(held.id)
            elif isinstance(decision, Withhold):
                campaign.withhold_auto_resume(detail=decision.detail, at=now)
                withheld.append(held.id)
                log.warning("campaign %s stays paused: %s", held.id, decision.detail)
        lane = self.lane
        assert lane is not None  # noqa: S101 - taken up
        lane.resume(resumed=resumed, withheld=withheld, epoch=self.epoch, at=now)
        await self.commit()
        self._poll_step = 0
        log.info("session %r works again: %d campaign(s) resumed", self.session, len(resumed))

    # -- recording ------------------------------------------------------------------------------

    async def commit(self) -> None:
        """Record what the lane and its campaigns have pending, in one group commit.

        On a conflict the store wins: every aggregate of the commit is reloaded, the outcomes
        of sends that happened are applied again, and everything else is decided again by the
        loop. A conflict on the lane itself means someone else holds it: LaneLostError.
        """
        lane = self.lane
        assert lane is not None  # noqa: S101 - taken up
        for _ in range(5):
            dirty = [h for h in self.held.values() if h.campaign.pending_events]
            if not lane.pending_events and not dirty:
                self.unrecorded.clear()
                return
            try:
                await self.p.committer.record(lane, *(h.campaign for h in dirty))
            except ConflictError as conflict:
                if lane.id in conflict.conflicted:
                    raise LaneLostError("another holder recorded on the lane") from None
                await self._reload(dirty)
                lane = self.lane
                assert lane is not None  # noqa: S101 - reloaded
                for unrecorded in self.unrecorded:
                    unrecorded.apply_again(self)
                continue
            self.unrecorded.clear()
            return
        raise LaneLostError("the lane's records kept conflicting")

    async def _reload(self, dirty: list[Held]) -> None:
        reloaded = await off_loop(self.p.campaigns.lane, self.session)
        if reloaded is None or reloaded.epoch != self.epoch:
            raise LaneLostError("the lane changed hands")
        self.lane = reloaded
        for held in dirty:
            await self._hold(held.id, held.order)


def _worth_holding(facts: CampaignFacts) -> bool:
    status = facts.status
    return status == CampaignStatus.RUNNING or (
        status == CampaignStatus.PAUSED and facts.pause_reason is not None
    )


def _campaign_worth_holding(campaign: Campaign) -> bool:
    state = campaign.state
    if state is CampaignStatus.RUNNING:
        return True
    return state is CampaignStatus.PAUSED and (
        _awaits_session(campaign)
        or _timed_resume(campaign)
        or (campaign.pause or {}).get("reason") == PauseReason.SHUTDOWN.value
    )


def _awaits_session(campaign: Campaign) -> bool:
    pause = campaign.pause
    return (
        campaign.state is CampaignStatus.PAUSED
        and pause is not None
        and pause["reason"] in SESSION_PAUSES
        and bool(campaign.options.get("auto_resume", True))
        and not campaign.auto_resume_withheld
    )


def _timed_resume(campaign: Campaign) -> bool:
    pause = campaign.pause
    return (
        campaign.state is CampaignStatus.PAUSED
        and pause is not None
        and pause["reason"] in TIMED_PAUSES
        and pause.get("resume_at") is not None
    )


def _resume_at(campaign: Campaign) -> datetime:
    pause = campaign.pause or {}
    moment = pause.get("resume_at")
    assert isinstance(moment, datetime)  # noqa: S101 - only asked of timed pauses
    return moment


def short_text(error: Exception, limit: int = 300) -> str:
    """Return the error's text, cut for events and logs."""
    text = str(error)
    return text if len(text) <= limit else text[: limit - 1] + "…"
