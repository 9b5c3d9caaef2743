"""A WhatsApp number's send lane: who sends through it, and every turn and gap, on the record.

All running campaigns of one WAHA session send through one lane, one message at a time.
The lane's own record holds what concerns the number rather than any one campaign: who held
it and when it was taken over, which campaign's contact went when and how long after the
previous send, the gap chosen before the next one, and the session going down and coming
back. Every write of a lane's sender includes one of these events, so the lane's version is
also the fence against a sender that lost its lease and woke up later.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError

_LANES_NAMESPACE: Final = UUID("5d1c9a4e-2b7f-4c3a-8e6d-0f9b1a2c3d4e")
_WAHA_UNAVAILABLE: Final = "waha_unavailable"  # PauseReason.WAHA_UNAVAILABLE's value


def lane_id(session: str) -> UUID:
    """Return the id of the lane of WAHA session `session`."""
    return uuid5(_LANES_NAMESPACE, session)


class LaneFencedError(DomainError):
    """The lane was taken up by another holder since this one took it."""


class Lane(Aggregate):
    """One WAHA session's sender, and the audit of everything sent through it."""

    TOPIC = "waha_campaigns:Lane"
    class_version = 1

    class Event(Aggregate.Event):
        """Base of the lane's events."""

        TOPIC = "waha_campaigns:Lane.Event"

    class Created(Event, Aggregate.Created):
        """Base of the lane's creation event."""

        TOPIC = "waha_campaigns:Lane.Created"

    class LaneOpened(Created):
        """The session got its lane (the first time anyone sent through it)."""

        TOPIC = "waha_campaigns:Lane.LaneOpened"
        class_version = 1
        session: str
        at: datetime

    class LaneTakenUp(Event):
        """`owner` holds the lane from now on (lease `epoch`), after `previous_owner`.

        `reconciled` lists each send the previous holder left in flight and what it was
        settled as ({campaign_id, index, attempt_id, outcome}).
        """

        TOPIC = "waha_campaigns:Lane.LaneTakenUp"
        class_version = 1
        owner: str
        epoch: int
        previous_owner: str | None
        previous_epoch: int | None
        reconciled: list[dict[str, Any]]
        at: datetime

    class TurnTaken(Event):
        """Contact `index` of `campaign_id` is sent now, `waited_seconds` after the last send."""

        TOPIC = "waha_campaigns:Lane.TurnTaken"
        class_version = 1
        campaign_id: str
        index: int
        attempt_id: str
        waited_seconds: float | None
        epoch: int
        at: datetime

    class TurnEnded(Event):
        """The send had `outcome`; the next send goes to `next_campaign_id` after `gap_seconds`.

        `unknown_streak` counts the sends in a row that say nothing surely reached WhatsApp.
        """

        TOPIC = "waha_campaigns:Lane.TurnEnded"
        class_version = 1
        campaign_id: str
        index: int
        outcome: str
        unknown_streak: int
        next_campaign_id: str | None
        gap_seconds: float | None
        at: datetime

    class GapChosen(Event):
        """Another campaign than planned goes next: the wait is drawn again for it."""

        TOPIC = "waha_campaigns:Lane.GapChosen"
        class_version = 1
        campaign_id: str
        seconds: float
        at: datetime

    class MessageIdsDetected(Event):
        """Whether this session's WAHA honours message ids we choose (found out once)."""

        TOPIC = "waha_campaigns:Lane.MessageIdsDetected"
        class_version = 1
        supported: bool
        detail: str
        at: datetime

    class LanePaused(Event):
        """The number cannot send now: every running campaign on it paused, for `reason`.

        Decided once for the session (it went down, WAHA keeps failing, a window closed, a
        cap was reached); `resume_at` when the pause lifts by itself at a known moment.
        """

        TOPIC = "waha_campaigns:Lane.LanePaused"
        class_version = 1
        reason: str
        detail: str
        resume_at: datetime | None
        campaigns: list[str]
        at: datetime

    class LaneResumed(Event):
        """The number can send again: these campaigns resumed, these stay paused (and why)."""

        TOPIC = "waha_campaigns:Lane.LaneResumed"
        class_version = 1
        resumed: list[str]
        withheld: list[str]
        at: datetime

    @staticmethod
    def create_id(session: str, at: datetime) -> UUID:  # noqa: ARG004 - the library passes both
        """Return the lane's id, derived from its session's name."""
        return lane_id(session)

    @event(LaneOpened)
    def __init__(self, *, session: str, at: datetime) -> None:
        self.session = session
        self.opened_at = at
        self.owner: str | None = None
        self.epoch = 0
        # The last send: {campaign_id, index, at}; and when its turn ended.
        self.last_turn: dict[str, Any] | None = None
        self.turn_ended_at: datetime | None = None
        # Who goes next and not before when: {campaign_id, not_before}.
        self.next_turn: dict[str, Any] | None = None
        self.unknown_streak = 0
        self.message_ids: bool | None = None
        self.down: dict[str, Any] | None = None
        # Back from a pause for WAHA failing: one unknown outcome pauses again, until a sure one.
        self.probation = False

    # -- queries ------------------------------------------------------------------------------

    @property
    def next_send_at(self) -> datetime | None:
        """The earliest moment the next send may go, as chosen after the last one."""
        return None if self.next_turn is None else self.next_turn["not_before"]

    # -- commands -----------------------------------------------------------------------------

    def take_up(
        self, *, owner: str, epoch: int, reconciled: list[dict[str, Any]], at: datetime
    ) -> None:
        """Record that `owner` holds the lane under lease `epoch` from now on."""
        if epoch <= self.epoch:
            raise LaneFencedError(
                f"lease epoch {epoch} is not newer than the lane's ({self.epoch})"
            )
        self._taken_up(
            owner=owner,
            epoch=epoch,
            previous_owner=self.owner,
            previous_epoch=self.epoch or None,
            reconciled=reconciled,
            at=at,
        )

    def take_turn(
        self, *, campaign_id: UUID, index: int, attempt_id: str, epoch: int, at: datetime
    ) -> None:
        """Record that contact `index` of the campaign is sent now (with its intent)."""
        self._check_epoch(epoch)
        waited = None
        if self.turn_ended_at is not None:
            waited = max(0.0, (at - self.turn_ended_at).total_seconds())
        self._turn_taken(
            campaign_id=str(campaign_id),
            index=index,
            attempt_id=attempt_id,
            waited_seconds=waited,
            epoch=epoch,
            at=at,
        )

    def end_turn(
        self,
        *,
        campaign_id: UUID,
        index: int,
        outcome: str,
        unknown: bool,
        next_campaign_id: UUID | None,
        gap_seconds: float | None,
        epoch: int,
        at: datetime,
    ) -> None:
        """Record the send's outcome and the wait chosen before the next send."""
        self._check_epoch(epoch)
        self._turn_ended(
            campaign_id=str(campaign_id),
            index=index,
            outcome=outcome,
            unknown_streak=self.unknown_streak + 1 if unknown else 0,
            next_campaign_id=None if next_campaign_id is None else str(next_campaign_id),
            gap_seconds=gap_seconds,
            at=at,
        )

    def choose_gap(self, *, campaign_id: UUID, seconds: float, epoch: int, at: datetime) -> None:
        """Record a new wait, drawn for the campaign that goes next instead of the planned one."""
        self._check_epoch(epoch)
        self._gap_chosen(campaign_id=str(campaign_id), seconds=seconds, at=at)

    def detect_message_ids(self, *, supported: bool, detail: str, epoch: int, at: datetime) -> None:
        """Record whether WAHA honours our message ids on this session."""
        self._check_epoch(epoch)
        self._message_ids_detected(supported=supported, detail=detail, at=at)

    def pause(
        self,
        *,
        reason: str,
        detail: str,
        campaigns: list[UUID],
        epoch: int,
        at: datetime,
        resume_at: datetime | None = None,
    ) -> None:
        """Record that the number cannot send now and which campaigns paused for it."""
        self._check_epoch(epoch)
        self._paused(
            reason=reason,
            detail=detail,
            resume_at=resume_at,
            campaigns=[str(c) for c in campaigns],
            at=at,
        )

    def resume(
        self, *, resumed: list[UUID], withheld: list[UUID], epoch: int, at: datetime
    ) -> None:
        """Record that the number can send again, and what became of its paused campaigns."""
        self._check_epoch(epoch)
        self._resumed(resumed=[str(c) for c in resumed], withheld=[str(c) for c in withheld], at=at)

    def _check_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            raise LaneFencedError(
                f"the lane is held under epoch {self.epoch} by {self.owner}, not epoch {epoch}"
            )

    # -- events: assignments only, replayed forever ---------------------------------------

    @event(LaneTakenUp)
    def _taken_up(
        self,
        owner: str,
        epoch: int,
        previous_owner: str | None,
        previous_epoch: int | None,
        reconciled: list[dict[str, Any]],
        at: datetime,
    ) -> None:
        self.owner = owner
        self.epoch = epoch

    @event(TurnTaken)
    def _turn_taken(
        self,
        campaign_id: str,
        index: int,
        attempt_id: str,
        waited_seconds: float | None,
        epoch: int,
        at: datetime,
    ) -> None:
        self.last_turn = {"campaign_id": campaign_id, "index": index, "at": at}
        self.next_turn = None

    @event(TurnEnded)
    def _turn_ended(
        self,
        campaign_id: str,
        index: int,
        outcome: str,
        unknown_streak: int,
        next_campaign_id: str | None,
        gap_seconds: float | None,
        at: datetime,
    ) -> None:
        self.turn_ended_at = at
        self.unknown_streak = unknown_streak
        if unknown_streak == 0:
            self.probation = False
        self.next_turn = None
        if next_campaign_id is not None:
            self.next_turn = {
                "campaign_id": next_campaign_id,
                "not_before": at + timedelta(seconds=gap_seconds or 0.0),
            }

    @event(GapChosen)
    def _gap_chosen(self, campaign_id: str, seconds: float, at: datetime) -> None:
        start = self.turn_ended_at or at
        self.next_turn = {
            "campaign_id": campaign_id,
            "not_before": start + timedelta(seconds=seconds),
        }

    @event(MessageIdsDetected)
    def _message_ids_detected(self, supported: bool, detail: str, at: datetime) -> None:
        self.message_ids = supported

    @event(LanePaused)
    def _paused(
        self,
        reason: str,
        detail: str,
        resume_at: datetime | None,
        campaigns: list[str],
        at: datetime,
    ) -> None:
        self.down = {"reason": reason, "detail": detail, "resume_at": resume_at, "at": at}
        self.unknown_streak = 0

    @event(LaneResumed)
    def _resumed(self, resumed: list[str], withheld: list[str], at: datetime) -> None:
        if self.down is not None and self.down["reason"] == _WAHA_UNAVAILABLE:
            self.probation = True
        self.down = None
