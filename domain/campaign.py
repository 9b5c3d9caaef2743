"""The Campaign aggregate: every decision about a campaign is one of its events."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import AttemptOutOfOrderError, DomainError, IllegalTransitionError
from domain.lifecycle import CampaignStatus, next_status
from domain.numbering import contact_words, next_contact_words
from domain.session import SessionName


class AttemptOutcome(StrEnum):
    """What happened when the runner handled one contact."""

    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    IN_DOUBT = "in_doubt"


class PauseReason(StrEnum):
    """Stable codes for why a campaign paused; auditors and automations match on them."""

    SESSION_NOT_WORKING = "session_not_working"
    STATUS_CHECK_FAILED = "status_check_failed"
    MANUAL = "manual"
    ACCOUNT_RESTRICTED = "account_restricted"
    TOO_MANY_FAILURES = "too_many_failures"
    WAHA_UNAVAILABLE = "waha_unavailable"
    RATE_LIMITED = "rate_limited"
    NUMBER_CHECK_FAILED = "number_check_failed"
    WAHA_REJECTED = "waha_rejected"
    MEDIA_UNAVAILABLE = "media_unavailable"
    RUNNER_ERROR = "runner_error"
    SHUTDOWN = "shutdown"
    # Guardrails of the WhatsApp number (its lane): each resumes by itself at `resume_at`.
    OUTSIDE_WINDOW = "outside_window"
    DAILY_CAP = "daily_cap"
    WARMUP_CAP = "warmup_cap"
    REACHOUT_TIMELOCK = "reachout_timelock"
    CAPPED = "capped"


# Pauses the runner may lift by itself once the session is WORKING again.
SESSION_PAUSES: Final = frozenset(
    {
        PauseReason.SESSION_NOT_WORKING.value,
        PauseReason.STATUS_CHECK_FAILED.value,
        PauseReason.WAHA_UNAVAILABLE.value,
    }
)
# Pauses lifted by themselves at the moment recorded with them (`resume_at`).
TIMED_PAUSES: Final = frozenset(
    {
        PauseReason.OUTSIDE_WINDOW.value,
        PauseReason.DAILY_CAP.value,
        PauseReason.WARMUP_CAP.value,
        PauseReason.REACHOUT_TIMELOCK.value,
        PauseReason.CAPPED.value,
    }
)


# Campaign ids derived from what created them, so that asking twice makes one campaign:
# a client's Idempotency-Key, or the campaign whose contacts a retry sends again.
REQUEST_KEY_IDS: Final = UUID("5d0b8f3e-2c71-4a9e-9b64-1f0e7c3a8d25")
RETRY_IDS: Final = UUID("9a4c2e71-6b3d-4f08-8e15-c7d2b0a95f63")
# What an operator may change before a campaign starts (CampaignEdited).
EDITABLE: Final = ("name", "message", "pacing", "scheduled_for", "options")
_STATUS_OF_VALUE: Final = {status.value: status for status in CampaignStatus}


def request_key_id(key: str) -> UUID:
    """Return the id of the campaign that a request with this Idempotency-Key creates."""
    return uuid5(REQUEST_KEY_IDS, key)


def retry_id(campaign_id: UUID) -> UUID:
    """Return the id of the campaign that retries contacts of `campaign_id`."""
    return uuid5(RETRY_IDS, str(campaign_id))


class AttemptInFlightError(DomainError):
    """A command that must wait until the send in flight has an outcome."""


class AlreadyRetriedError(DomainError):
    """The campaign's contacts are already sent again by another campaign."""

    def __init__(self, retried_as: UUID) -> None:
        super().__init__(f"the campaign was retried already, as campaign {retried_as}")
        self.retried_as = retried_as


class Campaign(Aggregate):
    """One message sent to a frozen, ordered audience, contact by contact.

    State is derived by replaying events only; `next_index` is where a run or resume starts.
    """

    TOPIC = "waha_campaigns:Campaign"
    # Version 2 of the state added last_event_at and next_contact_at (see upcast_v1_v2);
    # version 3 the operator's requests to a live run and a pause's resume time (v2_v3);
    # version 4 where the campaign came from (a request key, a retry) and its retry (v3_v4).
    class_version = 4

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Snapshots of version 1 lack the two times; None means "not known"."""
        state.setdefault("last_event_at", None)
        state.setdefault("next_contact_at", None)

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """Snapshots of version 2 had no requests, and pauses without a resume time."""
        state.setdefault("pause_requested", None)
        state.setdefault("cancel_requested", None)
        state.setdefault("abandoned", None)
        pause = state.get("pause")
        if isinstance(pause, dict):
            pause.setdefault("resume_at", None)

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        """Snapshots of version 3 had no request key and no retries."""
        state.setdefault("idempotency", None)
        state.setdefault("retry_of", None)
        state.setdefault("retried_as", None)

    @staticmethod
    def create_id(
        idempotency: dict[str, Any] | None = None, retry_of: dict[str, Any] | None = None
    ) -> UUID:
        """Return the new campaign's id: derived from its request key or retry, else a uuid4."""
        if idempotency is not None:
            return request_key_id(str(idempotency["key"]))
        if retry_of is not None:
            return retry_id(UUID(str(retry_of["campaign_id"])))
        return uuid4()

    class Event(Aggregate.Event):
        """Base of the campaign's events."""

        TOPIC = "waha_campaigns:Campaign.Event"

    class Created(Event, Aggregate.Created):
        """Base of the campaign's creation event."""

        TOPIC = "waha_campaigns:Campaign.Created"

    class CampaignScheduled(Created):
        """The campaign exists, with its message, audience, schedule, pacing and options.

        `idempotency` is the client's request key and the sha256 of its request ({key,
        body_sha256}), when it gave one; `retry_of` names the campaign whose contacts this
        one sends again, and which ({campaign_id, outcomes, include_in_doubt, contacts}).
        """

        TOPIC = "waha_campaigns:Campaign.CampaignScheduled"
        class_version = 2
        name: str
        session: str
        message: dict[str, Any]
        audience: dict[str, Any]
        scheduled_for: datetime
        pacing: dict[str, float]
        options: dict[str, Any]
        at: datetime
        idempotency: dict[str, Any] | None
        retry_of: dict[str, Any] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 campaigns had no request key, no retry, and images as their only media."""
            state["idempotency"] = None
            state["retry_of"] = None
            image = state.get("message", {}).get("image")
            if isinstance(image, dict):
                image.setdefault("kind", "image")

    class CampaignStarted(Event):
        """The first run began."""

        TOPIC = "waha_campaigns:Campaign.CampaignStarted"
        class_version = 1
        at: datetime

    class AttemptStarted(Event):
        """A send to contact `index` is about to go out: recorded before the HTTP call.

        `message_id` is the id WAHA will give the message when it honours client ids (the
        lookup key after a lost answer); `lease_epoch` the sender's hold on the session's
        lane; `text` the exact text sent (after variation), so an audit shows it.
        """

        TOPIC = "waha_campaigns:Campaign.AttemptStarted"
        class_version = 2
        index: int
        attempt_id: str
        chat_id: str
        message_id: str | None
        lease_epoch: int | None
        text: str | None
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no client message id, no lease and no recorded text."""
            state["message_id"] = None
            state["lease_epoch"] = None
            state["text"] = None

    class ContactAttempted(Event):
        """Contact `index` has been handled, with this outcome."""

        TOPIC = "waha_campaigns:Campaign.ContactAttempted"
        class_version = 3
        index: int
        chat_id: str
        outcome: str
        message_id: str | None
        error: str | None
        attempt_id: str | None
        reason: str | None
        at: datetime | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 (the shape the core issue fixed) had no attempt id and no time."""
            state["attempt_id"] = None
            state["at"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Version 2 had no stable reason code (e.g. why a contact was skipped)."""
            state["reason"] = None

    class AttemptAbandoned(Event):
        """WAHA refused the send before anything went out; contact `index` is still to do."""

        TOPIC = "waha_campaigns:Campaign.AttemptAbandoned"
        class_version = 1
        index: int
        attempt_id: str
        reason: str
        at: datetime

    class AutoResumeWithheld(Event):
        """The session came back, but the campaign stays paused; `detail` says why."""

        TOPIC = "waha_campaigns:Campaign.AutoResumeWithheld"
        class_version = 1
        detail: str
        at: datetime

    class PacingDelayChosen(Event):
        """The runner will wait `seconds` after contact `index`, so audits show the pacing.

        Written by campaigns that paced themselves; since send lanes, the lane's record
        (`Lane.TurnEnded`) holds every gap on a session. Kept so old logs replay.
        """

        TOPIC = "waha_campaigns:Campaign.PacingDelayChosen"
        class_version = 1
        index: int
        seconds: float
        at: datetime

    class CampaignPaused(Event):
        """The campaign stopped; a resume starts at contact `index`."""

        TOPIC = "waha_campaigns:Campaign.CampaignPaused"
        class_version = 2
        index: int
        reason: str
        detail: str
        resume_at: datetime | None
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 pauses named no moment to resume at."""
            state["resume_at"] = None

    class PauseRequested(Event):
        """An operator asked the live run to pause; the run pauses at its next boundary."""

        TOPIC = "waha_campaigns:Campaign.PauseRequested"
        class_version = 1
        detail: str
        at: datetime

    class CancelRequested(Event):
        """An operator asked the live run to end the campaign at its next boundary."""

        TOPIC = "waha_campaigns:Campaign.CancelRequested"
        class_version = 1
        reason: str
        at: datetime

    class CampaignResumed(Event):
        """The campaign runs again from contact `index`."""

        TOPIC = "waha_campaigns:Campaign.CampaignResumed"
        class_version = 1
        index: int
        automatic: bool
        at: datetime

    class CampaignCompleted(Event):
        """Every contact has been handled."""

        TOPIC = "waha_campaigns:Campaign.CampaignCompleted"
        class_version = 1
        totals: dict[str, int]
        at: datetime

    class CampaignCancelled(Event):
        """An operator ended the campaign for good."""

        TOPIC = "waha_campaigns:Campaign.CampaignCancelled"
        class_version = 1
        reason: str
        index: int
        at: datetime

    class CampaignEdited(Event):
        """An operator changed the campaign before it started.

        `changes` maps each changed field (name, message, pacing, scheduled_for, options) to
        {"old": ..., "new": ...}: what it was and what it is now.
        """

        TOPIC = "waha_campaigns:Campaign.CampaignEdited"
        class_version = 1
        changes: dict[str, Any]
        at: datetime

    class RetryScheduled(Event):
        """Some contacts of this campaign are sent again by campaign `retry_id`.

        `outcomes` are the outcomes retried (e.g. failed), `contacts` how many there were.
        """

        TOPIC = "waha_campaigns:Campaign.RetryScheduled"
        class_version = 1
        retry_id: UUID
        outcomes: list[str]
        include_in_doubt: bool
        contacts: int
        at: datetime

    # idempotency and retry_of come before the `*` only because eventsourcing 9.5 takes a
    # keyword-only parameter as required even with a default; pass them by name.
    @event(CampaignScheduled)
    def __init__(
        self,
        idempotency: dict[str, Any] | None = None,
        retry_of: dict[str, Any] | None = None,
        *,
        name: str,
        session: str,
        message: dict[str, Any],
        audience: dict[str, Any],
        scheduled_for: datetime,
        pacing: dict[str, float],
        options: dict[str, Any],
        at: datetime,
    ) -> None:
        self.name = name
        self.session = SessionName(session)
        self.message = message
        self.audience = audience
        self.scheduled_for = scheduled_for
        self.pacing = pacing
        self.options = options
        self.scheduled_at = at
        self.status = CampaignStatus.SCHEDULED.value
        self.next_index = 0
        self.counts = {o.value: 0 for o in AttemptOutcome}
        self.consecutive_failures = 0
        self.pause: dict[str, Any] | None = None
        self.in_flight: dict[str, Any] | None = None
        self.started_at: datetime | None = None
        self.completed_at: datetime | None = None
        self.cancelled: dict[str, Any] | None = None
        self.auto_resumes: list[datetime] = []
        self.auto_resume_withheld: str | None = None
        # What an operator asked of the live run, until the run obeys ({detail|reason, at}).
        self.pause_requested: dict[str, Any] | None = None
        self.cancel_requested: dict[str, Any] | None = None
        # The last attempt abandoned before an outcome ({index, message_id}): its contact is
        # sent again under the same message id, after one more look for it.
        self.abandoned: dict[str, Any] | None = None
        # When the last event happened, and the earliest the next contact may be messaged.
        self.last_event_at: datetime | None = at
        self.next_contact_at: datetime | None = None
        # Where it came from ({key, body_sha256}; {campaign_id, ...}), and its own retry.
        self.idempotency = idempotency
        self.retry_of = retry_of
        self.retried_as: dict[str, Any] | None = None

    # -- queries ------------------------------------------------------------------------------

    @property
    def state(self) -> CampaignStatus:
        """The campaign's status as an enum (stored as its value, which snapshots keep)."""
        # A dict lookup: the lanes ask this dozens of times per contact, and calling the enum
        # costs ten times more.
        return _STATUS_OF_VALUE[self.status]

    @property
    def total(self) -> int:
        """The number of contacts in the frozen audience."""
        return int(self.audience["size"])

    @property
    def audience_id(self) -> UUID:
        """The id of the audience record this campaign sends to."""
        return UUID(str(self.audience["id"]))

    @property
    def resumes_by_itself(self) -> bool:
        """Whether the campaign is paused by something that lifts without an operator.

        A session pause while automatic resumes are on (and not withheld), a timed pause with
        its moment, or a stop of the service (lifted when a service starts again).
        """
        pause = self.pause
        if self.state is not CampaignStatus.PAUSED or pause is None:
            return False
        reason = pause["reason"]
        if reason == PauseReason.SHUTDOWN.value:
            return True
        if reason in TIMED_PAUSES:
            return pause.get("resume_at") is not None
        return (
            reason in SESSION_PAUSES
            and bool(self.options.get("auto_resume", True))
            and not self.auto_resume_withheld
        )

    @property
    def all_handled(self) -> bool:
        """Whether every contact has an outcome."""
        return self.next_index >= self.total and self.in_flight is None

    # -- commands -----------------------------------------------------------------------------

    def start(self, *, at: datetime) -> None:
        """Begin the first run."""
        next_status(self.state, "start")
        self._started(at=at)

    def begin_attempt(
        self,
        *,
        index: int,
        attempt_id: str,
        chat_id: str,
        at: datetime,
        message_id: str | None = None,
        lease_epoch: int | None = None,
        text: str | None = None,
    ) -> None:
        """Record that a send to contact `index` is starting; call before the send itself."""
        next_status(self.state, "begin_attempt")
        self._check_is_next(index)
        if self.in_flight is not None:
            raise AttemptInFlightError(
                f"{contact_words(self.in_flight['index'], self.total)} already has a send in flight"
            )
        self._attempt_started(
            index=index,
            attempt_id=attempt_id,
            chat_id=chat_id,
            message_id=message_id,
            lease_epoch=lease_epoch,
            text=text,
            at=at,
        )

    def record_attempt(
        self,
        *,
        index: int,
        chat_id: str,
        outcome: AttemptOutcome,
        message_id: str | None = None,
        error: str | None = None,
        attempt_id: str | None = None,
        reason: str | None = None,
        at: datetime,
    ) -> None:
        """Record the outcome for contact `index`, the next one to handle.

        `reason` is a stable code for why (e.g. `opted_out` for a skip); `error` says it in words.
        """
        next_status(self.state, "record_attempt")
        self._check_is_next(index)
        if self.in_flight is not None and self.in_flight["attempt_id"] != attempt_id:
            raise AttemptOutOfOrderError(
                f"{contact_words(index, self.total)} has send "
                f"{self.in_flight['attempt_id']} in flight, "
                f"not {attempt_id}"
            )
        if outcome in {AttemptOutcome.SENT, AttemptOutcome.IN_DOUBT} and self.in_flight is None:
            raise AttemptOutOfOrderError(
                f"a {outcome.value} outcome needs the recorded attempt that sent it"
            )
        self._contact_attempted(
            index=index,
            chat_id=chat_id,
            outcome=outcome.value,
            message_id=message_id,
            error=error,
            attempt_id=attempt_id,
            reason=reason,
            at=at,
        )

    def abandon_attempt(self, *, index: int, attempt_id: str, reason: str, at: datetime) -> None:
        """Clear the send in flight that WAHA refused before sending; the contact stays next."""
        next_status(self.state, "abandon_attempt")
        if self.in_flight is None or self.in_flight["attempt_id"] != attempt_id:
            raise AttemptOutOfOrderError(f"send {attempt_id} is not the one in flight")
        self._check_is_next(index)
        self._attempt_abandoned(index=index, attempt_id=attempt_id, reason=reason, at=at)

    def withhold_auto_resume(self, *, detail: str, at: datetime) -> None:
        """Record that the campaign stays paused although its session works again."""
        next_status(self.state, "withhold_auto_resume")
        if self.auto_resume_withheld is not None:
            raise DomainError("automatic resumes are already withheld for this pause")
        self._auto_resume_withheld(detail=detail, at=at)

    def pause_at_next(
        self,
        *,
        reason: PauseReason,
        detail: str,
        at: datetime,
        resume_at: datetime | None = None,
    ) -> None:
        """Stop the run; a resume starts at the next contact not yet handled.

        `resume_at` is when the pause lifts by itself (a closed window, a cap), if it does.
        """
        next_status(self.state, "pause")
        self._check_nothing_in_flight("pause")
        self._paused(
            index=self.next_index, reason=reason.value, detail=detail, resume_at=resume_at, at=at
        )

    def request_pause(self, *, detail: str, at: datetime) -> None:
        """Ask the live run to pause at its next boundary (it alone writes the pause)."""
        self._check_operator_may("request_pause", "pause")
        if self.pause_requested is not None:
            return  # asked already: the run will obey once
        self._pause_requested(detail=detail, at=at)

    def request_cancel(self, *, reason: str, at: datetime) -> None:
        """Ask the live run to end the campaign at its next boundary."""
        self._check_operator_may("request_cancel", "cancel")
        if self.cancel_requested is not None:
            return
        self._cancel_requested(reason=reason, at=at)

    def resume(self, *, at: datetime, automatic: bool = False) -> None:
        """Run again from the paused contact."""
        next_status(self.state, "resume")
        self._resumed(index=self.next_index, automatic=automatic, at=at)

    def complete(self, *, at: datetime) -> None:
        """Close a campaign whose every contact has an outcome."""
        next_status(self.state, "complete")
        if not self.all_handled:
            raise DomainError(
                "cannot complete a campaign whose next contact is "
                + next_contact_words(self.next_index, self.total)
            )
        self._completed(totals=dict(self.counts), at=at)

    def cancel(self, *, reason: str, at: datetime) -> None:
        """End the campaign for good; contacts not yet handled are never messaged."""
        next_status(self.state, "cancel")
        self._check_nothing_in_flight("cancel")
        self._cancelled(reason=reason, index=self.next_index, at=at)

    def edit(self, *, at: datetime, **fields: Any) -> list[str]:
        """Change fields of a campaign not yet started; return the names of those changed.

        The values are the new records (validated by the caller, as scheduling validates);
        a field given with its current value is no change. Nothing is recorded without one.
        """
        next_status(self.state, "edit")
        unknown = sorted(set(fields) - set(EDITABLE))
        if unknown:
            raise DomainError(f"cannot edit {', '.join(unknown)}: only {', '.join(EDITABLE)}")
        changes = {
            name: {"old": copy.deepcopy(getattr(self, name)), "new": copy.deepcopy(value)}
            for name, value in fields.items()
            if getattr(self, name) != value
        }
        if changes:
            self._edited(changes=changes, at=at)
        return list(changes)

    def record_retry(
        self,
        *,
        retry_id: UUID,
        outcomes: list[str],
        include_in_doubt: bool,
        contacts: int,
        at: datetime,
    ) -> None:
        """Note that campaign `retry_id` sends these contacts again; once per campaign."""
        next_status(self.state, "record_retry")
        if self.retried_as is not None:
            raise AlreadyRetriedError(UUID(str(self.retried_as["campaign_id"])))
        self._retry_scheduled(
            retry_id=retry_id,
            outcomes=list(outcomes),
            include_in_doubt=include_in_doubt,
            contacts=contacts,
            at=at,
        )

    def auto_resumes_since(self, since: datetime) -> int:
        """Return how many automatic resumes happened at or after `since`."""
        return sum(1 for at in self.auto_resumes if at >= since)

    def _check_is_next(self, index: int) -> None:
        if index >= self.total:
            raise AttemptOutOfOrderError(
                f"{contact_words(index, with_index=True)} does not exist: the audience has "
                f"{self.total} contacts"
            )
        if index != self.next_index:
            raise AttemptOutOfOrderError(
                f"{contact_words(index, self.total)} is not the next one to handle "
                f"({next_contact_words(self.next_index, self.total)})"
            )

    def _check_operator_may(self, trigger: str, command: str) -> None:
        # Operators say "pause", not "request_pause": the refusal names what they asked for.
        try:
            next_status(self.state, trigger)
        except IllegalTransitionError:
            raise IllegalTransitionError(command, self.status) from None

    def _check_nothing_in_flight(self, command: str) -> None:
        if self.in_flight is not None:
            raise AttemptInFlightError(
                f"cannot {command} while the send to "
                f"{contact_words(self.in_flight['index'], self.total)} "
                "is in flight; try again when it has an outcome"
            )

    # -- events: assignments only, replayed forever, so they never validate or raise ------

    @event(CampaignStarted)
    def _started(self, at: datetime) -> None:
        self.last_event_at = at
        self.status = CampaignStatus.RUNNING.value
        self.started_at = at

    @event(AttemptStarted)
    def _attempt_started(
        self,
        index: int,
        attempt_id: str,
        chat_id: str,
        message_id: str | None,
        lease_epoch: int | None,
        text: str | None,
        at: datetime,
    ) -> None:
        self.last_event_at = at
        self.in_flight = {
            "index": index,
            "attempt_id": attempt_id,
            "chat_id": chat_id,
            "message_id": message_id,
            "text": text,
            "at": at,
        }

    @event(ContactAttempted)
    def _contact_attempted(
        self,
        index: int,
        chat_id: str,
        outcome: str,
        message_id: str | None,
        error: str | None,
        attempt_id: str | None,
        reason: str | None,
        at: datetime | None,
    ) -> None:
        self.last_event_at = at or self.last_event_at
        self.in_flight = None
        self.abandoned = None
        self.next_index = index + 1
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if outcome == AttemptOutcome.FAILED.value:
            self.consecutive_failures += 1
        else:
            self.consecutive_failures = 0

    @event(AttemptAbandoned)
    def _attempt_abandoned(self, index: int, attempt_id: str, reason: str, at: datetime) -> None:
        self.last_event_at = at
        message_id = None if self.in_flight is None else self.in_flight.get("message_id")
        self.abandoned = {"index": index, "message_id": message_id}
        self.in_flight = None

    @event(AutoResumeWithheld)
    def _auto_resume_withheld(self, detail: str, at: datetime) -> None:
        self.last_event_at = at
        self.auto_resume_withheld = detail

    @event(PacingDelayChosen)
    def _pacing_delay_chosen(self, index: int, seconds: float, at: datetime) -> None:
        self.last_event_at = at
        self.next_contact_at = at + timedelta(seconds=seconds)

    @event(CampaignPaused)
    def _paused(
        self, index: int, reason: str, detail: str, resume_at: datetime | None, at: datetime
    ) -> None:
        self.last_event_at = at
        self.status = CampaignStatus.PAUSED.value
        self.pause = {
            "index": index,
            "reason": reason,
            "detail": detail,
            "at": at,
            "resume_at": resume_at,
        }
        self.pause_requested = None

    @event(PauseRequested)
    def _pause_requested(self, detail: str, at: datetime) -> None:
        self.last_event_at = at
        self.pause_requested = {"detail": detail, "at": at}

    @event(CancelRequested)
    def _cancel_requested(self, reason: str, at: datetime) -> None:
        self.last_event_at = at
        self.cancel_requested = {"reason": reason, "at": at}

    @event(CampaignResumed)
    def _resumed(self, index: int, automatic: bool, at: datetime) -> None:
        # Only resumes after a session pause count against the flapping guard; picking a
        # campaign up after a service restart says nothing about the session.
        after_session_pause = self.pause is not None and self.pause["reason"] in SESSION_PAUSES
        self.last_event_at = at
        self.status = CampaignStatus.RUNNING.value
        self.pause = None
        self.auto_resume_withheld = None
        self.consecutive_failures = 0
        if automatic and after_session_pause:
            # Only the last few matter to the flapping guard; keep the state small.
            self.auto_resumes = [*self.auto_resumes[-19:], at]

    @event(CampaignCompleted)
    def _completed(self, totals: dict[str, int], at: datetime) -> None:
        self.last_event_at = at
        self.status = CampaignStatus.COMPLETED.value
        self.pause_requested = None
        self.cancel_requested = None
        self.completed_at = at

    @event(CampaignCancelled)
    def _cancelled(self, reason: str, index: int, at: datetime) -> None:
        self.last_event_at = at
        self.status = CampaignStatus.CANCELLED.value
        self.pause = None
        self.pause_requested = None
        self.cancel_requested = None
        self.cancelled = {"reason": reason, "index": index, "at": at}

    @event(CampaignEdited)
    def _edited(self, changes: dict[str, Any], at: datetime) -> None:
        self.last_event_at = at
        for name in EDITABLE:
            if name in changes:
                setattr(self, name, copy.deepcopy(changes[name]["new"]))

    @event(RetryScheduled)
    def _retry_scheduled(
        self,
        retry_id: UUID,
        outcomes: list[str],
        include_in_doubt: bool,
        contacts: int,
        at: datetime,
    ) -> None:
        self.last_event_at = at
        self.retried_as = {
            "campaign_id": retry_id,
            "outcomes": list(outcomes),
            "include_in_doubt": include_in_doubt,
            "contacts": contacts,
            "at": at,
        }
