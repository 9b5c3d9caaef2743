"""The lanes of a process: the sessions it sends for, held by leases that die with it.

A session gets a lane here when it has work (running campaigns, or paused ones waiting for
the session or for a moment) and no other process holds it. The lease is renewed while the
lane runs; a lane that loses its lease stops at once, and one with nothing to do lets it go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from app.blocking import off_loop
from app.lane_parts import LaneEnd, LanePorts, LaneSettings
from app.lane_run import LaneRun
from app.ports import LaneLeases, Lease
from domain.session import SessionName

log = logging.getLogger("waha_campaigns.lanes")
# How long a session found held by another process is left alone before asking again.
RETRY_HELD_SECONDS = 2.0


def process_owner() -> str:
    """Return a name for this process as a lane holder: host, pid and a random tail."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class _Lane:
    run: LaneRun
    lease: Lease
    task: asyncio.Task[LaneEnd]
    renewed_at: datetime | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class Lanes:
    """The lanes this process holds, started on demand and stopped with the service."""

    def __init__(
        self,
        ports: LanePorts,
        leases: LaneLeases,
        *,
        owner: str | None = None,
        settings: LaneSettings | None = None,
    ) -> None:
        self.ports = ports
        self.leases = leases
        self.owner = owner or process_owner()
        self.settings = settings or LaneSettings()
        self._lanes: dict[str, _Lane] = {}
        self._stopping = False
        # When a session's lease was last found held elsewhere: not asked again at once, so
        # hundreds of sessions held by peers do not cost hundreds of queries every tick.
        self._refused: dict[SessionName, datetime] = {}

    def stopping(self) -> bool:
        """Whether the service stops: no lane is taken up any more."""
        return self._stopping

    def stop_requested(self, session: SessionName) -> bool:
        """Whether the session's lane here was asked to stop (it pauses at its next boundary)."""
        lane = self._lanes.get(session)
        return lane is not None and lane.run.stop_requested

    def sessions(self) -> list[str]:
        """Return the sessions whose lanes run here."""
        return [s for s, lane in self._lanes.items() if not lane.task.done()]

    def holds(self, session: SessionName) -> bool:
        """Whether this process runs the session's lane now."""
        lane = self._lanes.get(session)
        return lane is not None and not lane.task.done()

    def holds_campaign(self, session: SessionName, campaign_id: UUID) -> bool:
        """Whether the session's lane runs here and holds the campaign."""
        lane = self._lanes.get(session)
        return lane is not None and not lane.task.done() and lane.run.holds(campaign_id)

    async def ensure(self, session: SessionName) -> bool:
        """Run the session's lane here if nobody holds it; return whether it runs here."""
        if self._stopping:
            return False
        if self.holds(session):
            return True
        now = self.ports.clock.now()
        refused = self._refused.get(session)
        if refused is not None and (now - refused).total_seconds() < RETRY_HELD_SECONDS:
            return False
        lease = await off_loop(self.leases.acquire, session, self.owner)
        if lease is None:
            self._refused[session] = now
            return False
        self._refused.pop(session, None)
        if self.stopping():  # the service began to stop while the lease was taken
            await off_loop(self.leases.release, lease)
            return False
        run = LaneRun(self.ports, lease, self.settings)
        now = self.ports.clock.now()
        run.renewed(self._valid_until(now))
        task = asyncio.create_task(self._run(run, lease), name=f"lane-{session}")
        self._lanes[session] = _Lane(run, lease, task, renewed_at=now)
        return True

    def _valid_until(self, renewed_at: datetime) -> datetime | None:
        seconds = self.settings.lease_seconds
        if seconds is None:
            return None
        # Stop sending a little before the lease can run out under us.
        return renewed_at + timedelta(seconds=seconds * 0.8)

    async def _run(self, run: LaneRun, lease: Lease) -> LaneEnd:
        try:
            end = await run.run()
        except Exception:  # a lane's crash must not take the service down; its log is intact
            log.exception("lane %r crashed; it is taken up again", lease.session)
            end = LaneEnd.LOST
        finally:
            with contextlib.suppress(Exception):
                await off_loop(self.leases.release, lease)
        log.info("lane %r ended (%s)", lease.session, end.value)
        return end

    def notice(self, session: SessionName, campaign_id: UUID, version: int | None = None) -> None:
        """Tell the session's lane, if it runs here, that the campaign changed or joined it.

        With `version`, a lane that already holds the campaign at that version ignores it.
        """
        lane = self._lanes.get(session)
        if lane is not None and not lane.task.done():
            lane.run.notice(campaign_id, version)

    def session_seen(self, session: SessionName, status: str) -> None:
        """Pass a session status WAHA reported (webhook) to the session's lane, if it runs here."""
        lane = self._lanes.get(session)
        if lane is not None and not lane.task.done():
            lane.run.session_seen(status)

    async def renew(self) -> None:
        """Renew the leases that are due; a lane whose lease is lost stops sending at once."""
        now = self.ports.clock.now()
        due: list[_Lane] = []
        for session, lane in list(self._lanes.items()):
            if lane.task.done():
                del self._lanes[session]
            elif lane.renewed_at is None or (now - lane.renewed_at).total_seconds() >= (
                self.settings.renew_every_seconds
            ):
                due.append(lane)
        if not due:
            return
        try:
            kept = await off_loop(self.leases.renew, [lane.lease for lane in due])
        except Exception:
            # The store is unreachable: the leases may lapse, and the lanes stop sending then.
            log.warning("the lanes' leases could not be renewed", exc_info=True)
            return
        for lane in due:
            if lane.lease.session in kept:
                lane.renewed_at = now
                lane.run.renewed(self._valid_until(now))
            else:
                log.warning("lane %r: the lease was lost; sending stops", lane.lease.session)
                lane.run.lose()

    def request_stop(self) -> None:
        """Take up no lane any more; every lane pauses its campaigns at its next safe point."""
        self._stopping = True
        for lane in self._lanes.values():
            lane.run.request_stop()

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109 - bounded, then cancelled
        """Ask every lane to pause its campaigns at the next safe point; wait, bounded."""
        self.request_stop()
        tasks = [lane.task for lane in self._lanes.values() if not lane.task.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def wait_quiet(self) -> None:
        """Wait until no lane here has a running campaign (tests, benchmarks, the demo)."""
        while True:
            lanes = [lane for lane in self._lanes.values() if not lane.task.done()]
            busy = [lane for lane in lanes if not lane.run.quiet.is_set()]
            if not busy:
                return
            waits: list[asyncio.Future[object]] = [
                asyncio.ensure_future(lane.run.quiet.wait()) for lane in busy
            ]
            waits.extend(asyncio.ensure_future(asyncio.shield(lane.task)) for lane in busy)
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
